"""`ticket-enhancer dlq list [--tool TOOL] | redrive [--tool TOOL]`."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ticket_enhancer_dev.cli.target import Target

BATCH = 10


def _tools(target: Target, tool: str | None) -> list[str]:
    return [tool] if tool else sorted(target.tools)


def list_(target: Target, tool: str | None) -> int:
    sqs = target.client("sqs")
    total = 0
    for name in _tools(target, tool):
        url = target.tool(name).dlq_url
        count = int(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ].get("ApproximateNumberOfMessages", "0")
        )
        total += count
        print(f"{name}: {count} job(s) in the dead-letter queue")
        if count:
            # Peek: the messages become visible again at once.
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=BATCH, VisibilityTimeout=0, AttributeNames=["All"]
            ).get("Messages", [])
            for message in messages:
                print("  " + _describe(message))
    print(f"total: {total}")
    return 0


def _describe(message: dict[str, Any]) -> str:
    try:
        job = json.loads(message["Body"])
        meta = job["metadata"]
        what = f"job {job['job_id']} tenant {meta['tenant_id']} ticket {meta['ticket_id']}"
    except (KeyError, TypeError, ValueError):
        what = f"unreadable message {message['MessageId']}"
    receives = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
    return f"{what} (received {receives} times)"


def redrive(target: Target, tool: str | None) -> int:
    """Move every DLQ'd job back to its queue, each once (a new de-duplication id per redrive)."""
    sqs = target.client("sqs")
    for name in _tools(target, tool):
        res = target.tool(name)
        moved = 0
        while True:
            messages = sqs.receive_message(
                QueueUrl=res.dlq_url, MaxNumberOfMessages=BATCH, VisibilityTimeout=60, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                attrs = message.get("Attributes", {})
                group = attrs.get("MessageGroupId") or hashlib.sha256(message["Body"].encode()).hexdigest()
                dedupe = hashlib.sha256(f"redrive#{message['MessageId']}".encode()).hexdigest()
                sqs.send_message(
                    QueueUrl=res.queue_url,
                    MessageBody=message["Body"],
                    MessageGroupId=group,
                    MessageDeduplicationId=dedupe,
                )
                sqs.delete_message(QueueUrl=res.dlq_url, ReceiptHandle=message["ReceiptHandle"])
                moved += 1
        print(f"{name}: {moved} job(s) moved back to the queue")
    return 0
