"""`tenants erase`'s part in the job queues and dead-letter queues: jobs whose body names the tenant
(or the ticket) are deleted; the others are read once and made visible again at once."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ticket_enhancer_dev.cli.erase import Report
    from ticket_enhancer_dev.cli.target import Target

BATCH = 10  # SQS's maximum per receive and per visibility batch
HOLD_SECONDS = 60  # others' jobs stay hidden at most this long should the command die mid-way


def matcher(tenant_id: str, ticket_id: str | None) -> Callable[[str], bool]:
    def match(body: str) -> bool:
        try:
            metadata = json.loads(body)["metadata"]
        except (ValueError, KeyError, TypeError):
            return False  # not a job of ours: left alone
        if not isinstance(metadata, dict) or metadata.get("tenant_id") != tenant_id:
            return False
        return ticket_id is None or str(metadata.get("ticket_id")) == ticket_id

    return match


def erase_queues(
    target: Target, tools: list[str], match: Callable[[str], bool], report: Report, *, one_ticket: bool
) -> None:
    sqs = target.client("sqs")
    queued = dead = 0
    in_flight: list[str] = []
    unreached: list[str] = []
    for tool in tools:
        if tool not in target.tools:
            continue
        resources = target.tools[tool]
        for url, label in ((resources.queue_url, "queue"), (resources.dlq_url, "dead-letter queue")):
            deleted, busy, left = _purge(sqs, url, match, count_left=one_ticket)
            if label == "queue":
                queued += deleted
            else:
                dead += deleted
            if busy:
                in_flight.append(f"{busy} in the {tool} {label}")
            if left:
                unreached.append(f"about {left} in the {tool} {label}")
    report.add("queued jobs (job queues)", queued)
    report.add("jobs in dead-letter queues", dead)
    if unreached:
        report.later.append(
            f"queued jobs not examined: {', '.join(unreached)} waited behind other jobs of the tenant's "
            "message groups, which SQS FIFO hands out in order, 10 at a time; run erase again once the "
            "queue has moved on (SQS's counts lag by up to a minute: the figure may be stale)"
        )
    if in_flight:
        report.later.append(
            f"queued jobs, best effort: {', '.join(in_flight)} were being processed (in flight) and could "
            "not be read; should one be of this tenant, its worker may still write a job record or post "
            "a note: run erase again once they are done (the queue's visibility timeout, 6 minutes)"
        )
    else:
        report.later.append(
            "queued jobs, best effort: no job was in flight, so every queued job was read; reading "
            "counted as one receive of other tenants' jobs (toward maxReceiveCount)"
        )


def _purge(sqs: Any, url: str, match: Callable[[str], bool], *, count_left: bool) -> tuple[int, int, int]:
    """Delete the matching messages of one queue: (deleted, messages in flight that could not be read,
    messages left unread if ``count_left``).

    The others are held (hidden) for the pass, so each is read once, then made visible again at once.
    A FIFO queue hands out a message group in order: behind a held job of the group (another ticket
    of the tenant, with ``--ticket``) the rest of the group cannot be read; ``count_left`` counts them.
    A tenant's own groups (``<tenant>#<shard>``) hold only its jobs, all deleted: nothing is left.
    """
    names: Any = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    visible = int(attributes.get("ApproximateNumberOfMessages", "0"))
    in_flight = int(attributes.get("ApproximateNumberOfMessagesNotVisible", "0"))
    deleted = left = 0
    held: list[str] = []
    seen: set[str] = set()
    try:
        while True:
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=BATCH,
                VisibilityTimeout=HOLD_SECONDS,
                WaitTimeSeconds=1 if visible else 0,  # long polling asks every SQS server
            ).get("Messages", [])
            fresh = [m for m in messages if m["MessageId"] not in seen]
            held += [m["ReceiptHandle"] for m in messages if m["MessageId"] in seen]  # back in sight
            if not fresh:
                break
            for message in fresh:
                seen.add(message["MessageId"])
                if match(message.get("Body", "")):
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    deleted += 1
                else:
                    held.append(message["ReceiptHandle"])
        if count_left:
            after = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            left = int(after["Attributes"].get("ApproximateNumberOfMessages", "0"))
    finally:
        for start in range(0, len(held), BATCH):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(held[start : start + BATCH])
            ]
            sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)
    return deleted, in_flight, left
