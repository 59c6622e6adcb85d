"""Partial batch failures for SQS (``ReportBatchItemFailures``), records processed concurrently.

Why not Powertools' ``AsyncBatchProcessor``: importing ``aws_lambda_powertools.utilities.batch``
costs ~75 ms on Lambda's runtime (its ``base`` imports every event data class and its ``types``
the pydantic parser models), more than half the worker's cold-start budget. The contract it
implements is small, and this module keeps it: every record is handed to the record handler
concurrently; the ids of those that raised are returned as ``batchItemFailures`` so SQS
redelivers only them (and, after ``maxReceiveCount``, moves them to the DLQ).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SqsRecord:
    message_id: str
    body: str
    receive_count: int
    attributes: Mapping[str, str]
    receipt_handle: str = ""  # for ChangeMessageVisibility (a deferral)

    @classmethod
    def from_event(cls, record: Mapping[str, Any]) -> SqsRecord:
        attributes = record.get("attributes") or {}
        return cls(
            message_id=str(record["messageId"]),
            body=str(record.get("body", "")),
            receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
            attributes=attributes,
            receipt_handle=str(record.get("receiptHandle", "")),
        )


RecordHandler = Callable[[SqsRecord], Awaitable[None]]
FailureHook = Callable[[SqsRecord, BaseException], None]


async def process_batch(
    event: Mapping[str, Any], handler: RecordHandler, on_failure: FailureHook | None = None
) -> dict[str, list[dict[str, str]]]:
    """Run ``handler`` on every record at once; report the ones that raised."""
    raw = event.get("Records") or []
    failures: list[dict[str, str]] = []
    records: list[SqsRecord] = []
    for item in raw:
        try:
            records.append(SqsRecord.from_event(item))
        except (KeyError, TypeError, ValueError):
            if isinstance(item, Mapping) and "messageId" in item:
                failures.append({"itemIdentifier": str(item["messageId"])})
    results = await asyncio.gather(*(handler(r) for r in records), return_exceptions=True)
    for record, result in zip(records, results, strict=True):
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):  # CancelledError, KeyboardInterrupt: not ours to swallow
                raise result
            if on_failure is not None:
                on_failure(record, result)
            failures.append({"itemIdentifier": record.message_id})
    return {"batchItemFailures": failures}
