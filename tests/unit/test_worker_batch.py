"""``process_batch``: SQS partial batch failures (``ReportBatchItemFailures``), records run concurrently."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ticket_enhancer.worker.batch import SqsRecord, process_batch


def record(message_id: str, body: str = "{}", receive_count: Any = "1") -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": receive_count, "SentTimestamp": "1700000000000"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }


def run(event: dict[str, Any], handler: Any, on_failure: Any = None) -> dict[str, list[dict[str, str]]]:
    return asyncio.run(process_batch(event, handler, on_failure))


def test_sqs_record_reads_the_lambda_shape() -> None:
    parsed = SqsRecord.from_event(record("m1", '{"a": 1}', "3"))

    assert parsed.message_id == "m1"
    assert parsed.body == '{"a": 1}'
    assert parsed.receive_count == 3
    assert parsed.attributes["SentTimestamp"] == "1700000000000"


def test_receive_count_defaults_to_one() -> None:
    assert SqsRecord.from_event({"messageId": "m1", "body": "x"}).receive_count == 1


def test_all_succeeding_reports_no_failures() -> None:
    seen: list[str] = []

    async def handler(r: SqsRecord) -> None:
        seen.append(r.message_id)

    assert run({"Records": [record("a"), record("b")]}, handler) == {"batchItemFailures": []}
    assert sorted(seen) == ["a", "b"]


@pytest.mark.parametrize("event", [{}, {"Records": None}, {"Records": []}])
def test_empty_event_reports_no_failures(event: dict[str, Any]) -> None:
    async def handler(r: SqsRecord) -> None:
        raise AssertionError("no record to handle")

    assert run(event, handler) == {"batchItemFailures": []}


def test_only_the_records_that_raised_are_reported_in_order() -> None:
    errors: list[tuple[str, str]] = []

    async def handler(r: SqsRecord) -> None:
        if r.body == "bad":
            raise ValueError(f"cannot handle {r.message_id}")

    def on_failure(r: SqsRecord, exc: BaseException) -> None:
        errors.append((r.message_id, str(exc)))

    records = [record(str(i), "bad" if i in (2, 7) else "ok") for i in range(10)]
    answer = run({"Records": records}, handler, on_failure)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "2"}, {"itemIdentifier": "7"}]}
    assert errors == [("2", "cannot handle 2"), ("7", "cannot handle 7")]


def test_records_run_concurrently() -> None:
    started: list[str] = []
    all_started = asyncio.Event()

    async def handler(r: SqsRecord) -> None:
        started.append(r.message_id)
        if len(started) == 10:
            all_started.set()
        # Every handler waits for the last one to start: only possible if they overlap.
        await asyncio.wait_for(all_started.wait(), timeout=2)

    answer = run({"Records": [record(str(i)) for i in range(10)]}, handler)

    assert answer == {"batchItemFailures": []}
    assert len(started) == 10


def test_a_slow_failure_does_not_hold_back_or_fail_the_others() -> None:
    done: list[str] = []

    async def handler(r: SqsRecord) -> None:
        if r.message_id == "slow":
            await asyncio.sleep(0.05)
            raise RuntimeError("vendor down")
        done.append(r.message_id)

    answer = run({"Records": [record("slow"), record("a"), record("b")]}, handler)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "slow"}]}
    assert done == ["a", "b"]


def test_malformed_record_is_reported_without_calling_the_handler() -> None:
    handled: list[str] = []

    async def handler(r: SqsRecord) -> None:
        handled.append(r.message_id)

    bad_count = record("bad", receive_count="not-a-number")
    answer = run({"Records": [bad_count, record("good")]}, handler)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert handled == ["good"]


def test_cancellation_is_not_swallowed() -> None:
    async def handler(r: SqsRecord) -> None:
        if r.message_id == "cancelled":
            raise asyncio.CancelledError
        await asyncio.sleep(0)

    with pytest.raises(asyncio.CancelledError):
        run({"Records": [record("ok"), record("cancelled")]}, handler)
