"""Each worker fed from its queue the way Lambda's SQS event source mapping does it.

``concurrency`` pollers per tool (the mapping's ``ScalingConfig.MaximumConcurrency``, at most the
function's pool of environments), each one batch at a time: long-poll receive (batch size from the
template), invoke the worker with Lambda's SQS event, then delete what succeeded. With
``ReportBatchItemFailures`` the records named in ``batchItemFailures`` stay on the queue; an invalid
answer, a handler error, a timeout or a crash keeps the whole batch. Kept messages come back after
the (scaled) visibility timeout, and moto moves a message to the DLQ on the receive after its
``maxReceiveCount``-th.
"""

from __future__ import annotations

import base64
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ticket_enhancer_dev.local.emulator import QueueInfo
from ticket_enhancer_dev.local.functions import Outcome

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

SQS_MAX_BATCH = 10  # per receive (FIFO event source mappings never batch more)
LAMBDA_LONG_POLL = 20  # seconds, what Lambda's pollers wait


class Invocable(Protocol):
    """A function the poller invokes: a ``FunctionPool`` (or one ``FunctionProcess``)."""

    def invoke(self, event: dict[str, Any]) -> Outcome: ...


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        result["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        result["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return result


def lambda_record(message: MessageTypeDef, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the event Lambda sends for an SQS message."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(dict(value))
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def succeeded(messages: Sequence[MessageTypeDef], outcome: Outcome, report_failures: bool) -> list[str]:
    """Receipt handles to delete after an invocation, following Lambda's partial-batch rules."""
    if not outcome.ok:
        return []
    everything = [m["ReceiptHandle"] for m in messages]
    result = outcome.result
    if not report_failures or result is None:
        return everything
    if not isinstance(result, dict):
        return []  # not a valid batch response: the whole batch failed
    failures = result.get("batchItemFailures")
    if not failures:
        return everything
    ids = {m["MessageId"] for m in messages}
    failed = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
    if not failed <= ids:  # empty, missing or unknown identifiers: the whole batch failed
        return []
    return [m["ReceiptHandle"] for m in messages if m["MessageId"] not in failed]


class Poller:
    def __init__(
        self,
        *,
        tool: str,
        function: Invocable,
        sqs: SQSClient,
        queue: QueueInfo,
        batch_size: int,
        report_failures: bool,
        region: str,
        wait_seconds: int,
        paused: bool = False,
        concurrency: int = 1,
    ) -> None:
        self.tool = tool
        self.function = function
        self.queue = queue
        self._sqs = sqs
        self._batch_size = max(1, min(batch_size, SQS_MAX_BATCH))
        self._report_failures = report_failures
        self._region = region
        self._wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._running = threading.Event()
        if not paused:
            self._running.set()
        self.concurrency = max(1, concurrency)
        self._threads = [
            threading.Thread(target=self._run, name=f"poller-{tool}-{n}", daemon=True)
            for n in range(self.concurrency)
        ]

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._running.set()  # wake a paused loop so it can see the stop
        for thread in self._threads:
            thread.join(timeout)

    def _log(self, text: str) -> None:
        sys.stderr.write(f"[poller {self.tool}] {text}\n")

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._running.wait(timeout=0.5) or self._stop.is_set():
                continue
            try:
                self.poll_once()
            except (BotoCoreError, ClientError) as exc:
                self._log(f"queue error: {exc}")
                self._stop.wait(1.0)

    def poll_once(self) -> None:
        messages = self._sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return
        if self.paused or self._stop.is_set():  # received while being paused: hand them back
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.queue.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(messages)
                ],
            )
            return
        event = {"Records": [lambda_record(m, self.queue.arn, self._region) for m in messages]}
        outcome = self.function.invoke(event)
        done = succeeded(messages, outcome, self._report_failures)
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self.queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(done)],
            )
        note = f" ({outcome.status}: {outcome.error})" if not outcome.ok else ""
        self._log(f"batch of {len(messages)}: {len(done)} deleted, {len(messages) - len(done)} kept{note}")
