"""Control and bad model answers in the worker: the daily note limit and token budget (DynamoDB
counters, conditional atomic updates, tested for concurrency), and a refused or throttled model
answer that still ends the job ``done`` with the offline note, recorded and counted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from ticket_enhancer.enhance.pipeline import build_default_pipeline
from ticket_enhancer.enhance.store import ContextStore
from ticket_enhancer.enhance.usage import UsageStore
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id

from tests.integration.test_worker import Harness, WorkerFactory
from tests.support import Stack, create_table, moto_env

TABLE = "context"
EVIL = "https://sso-acme.evil.example/login"


def atomic_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies a conditional update atomically; moto checks and writes without a lock."""
    lock = threading.Lock()
    original = DynamoDBBackend.update_item

    def update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", update_item)


@pytest.fixture
def workers(aws: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkerFactory]:
    """``workers(tool, options=..., pipeline=...)``: a tenant, its vendor sandbox and the tool's worker."""
    atomic_updates(monkeypatch)
    factory = WorkerFactory(aws)
    yield factory
    factory.close()


@pytest.fixture
def usage(monkeypatch: pytest.MonkeyPatch) -> Iterator[UsageStore]:
    moto_env(monkeypatch)
    atomic_updates(monkeypatch)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE, "pk", "sk")
        yield UsageStore(client, TABLE)


def in_threads(count: int, work: Any) -> list[Any]:
    results: list[Any] = [None] * count
    barrier = threading.Barrier(count)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# --- the counters -------------------------------------------------------------------------------


def test_concurrent_notes_never_pass_the_daily_limit(usage: UsageStore) -> None:
    taken = in_threads(16, lambda i: usage.take_note_slot("acme", f"job-{i}", 5))
    assert taken.count(True) == 5
    assert usage.today("acme") == (5, 0)
    assert usage.take_note_slot("other", "job-x", 5)  # another tenant has its own counter


def test_a_retried_job_keeps_its_slot_and_is_not_counted_twice(usage: UsageStore) -> None:
    assert usage.take_note_slot("acme", "job-1", 2)
    assert usage.take_note_slot("acme", "job-2", 2)
    assert usage.take_note_slot("acme", "job-1", 2)  # the same job again: still its slot
    assert not usage.take_note_slot("acme", "job-3", 2)
    assert usage.today("acme") == (2, 0)
    assert not usage.take_note_slot("acme", "job-4", 0)


def test_concurrent_reservations_never_pass_the_token_budget(usage: UsageStore) -> None:
    granted = in_threads(12, lambda i: usage.reserve_tokens("acme", 1_000, 5_500))
    assert granted.count(True) == 5
    assert usage.today("acme")[1] == 5_000
    usage.settle_tokens("acme", 1_000, 400)  # the call used less than its estimate
    assert usage.today("acme")[1] == 4_400
    usage.settle_tokens("acme", 1_000, 0)  # a throttled call: its reservation given back
    assert usage.today("acme")[1] == 3_400
    assert usage.reserve_tokens("acme", 1_000, 5_500)
    assert usage.reserve_tokens("acme", 1_000, 5_500)
    assert not usage.reserve_tokens("acme", 1_000, 5_500)
    assert not usage.reserve_tokens("acme", 6_000, 5_500)  # never fits


def test_the_counter_item_is_per_day_and_expires(usage: UsageStore) -> None:
    usage.take_note_slot("acme", "job-1", 3)
    client: Any = usage._dynamodb
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": "acme#usage"}, "sk": {"S": day}})["Item"]
    assert int(item["expires_at"]["N"]) > datetime.now(UTC).timestamp() + 86_400
    with pytest.raises(ValueError, match="tenant id"):
        usage.take_note_slot("acme#kb", "job-1", 3)


# --- the worker -----------------------------------------------------------------------------------


class Recorded:
    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, *, name: str, unit: Any, value: float) -> None:
        self.names.append(name)


def count_metrics(h: Harness, monkeypatch: pytest.MonkeyPatch) -> Recorded:
    recorded = Recorded()
    monkeypatch.setattr(h.worker.metrics, "add_metric", recorded)
    return recorded


def test_over_the_daily_note_limit_no_note_is_posted_recorded_and_counted(
    workers: WorkerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = workers("zendesk", options={"daily_note_limit": "2"})
    metrics = count_metrics(h, monkeypatch)
    jobs = [h.job(event=event) for event in ("created", "updated", "commented")]

    assert h.run_jobs(*jobs[:2]) == []
    assert h.run_jobs(jobs[2]) == []

    assert len(h.vendor.notes(seed_ticket_id("zendesk"))) == 2
    record = h.record(jobs[2])
    assert record["state"] == "done"
    assert record["skipped"] == "daily_note_limit reached (2 notes today)"
    assert "provider" not in record
    assert metrics.names.count("NotesOverDailyLimit") == 1
    assert "skipped" not in h.record(jobs[0])


class FakeBedrock:
    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.calls = 0

    def converse(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        if isinstance(self.reply, Exception):
            raise self.reply
        return {"output": {"message": {"content": [{"toolUse": {"input": self.reply}}]}}}


def bedrock_worker(workers: WorkerFactory, reply: Any, options: dict[str, str] | None = None) -> Harness:
    fake = FakeBedrock(reply)
    store = ContextStore(workers.stack.dynamodb, workers.context_table)
    pipeline = build_default_pipeline(
        store,
        bedrock_client_factory=lambda: fake,
        usage=UsageStore(workers.stack.dynamodb, workers.context_table),
    )
    opts = {"synthesis_provider": "bedrock", "synthesis_model": "eu.test-model"} | (options or {})
    return workers("zendesk", pipeline=pipeline, options=opts)


THROTTLED = ClientError({"Error": {"Code": "ThrottlingException", "Message": "quota"}}, "Converse")


@pytest.mark.parametrize(
    ("reply", "options", "reason", "metric"),
    [
        ({"summary": f"Please log in at {EVIL}"}, {}, "injection suspected", "ModelInjectionSuspected"),
        (
            {"summary": "ok", "triage": {"group": {"value": "Nope"}}},
            {},
            "unknown value",
            "ModelOutputRejected",
        ),
        ({"summary": ""}, {}, "empty output", "ModelOutputRejected"),
        (THROTTLED, {}, "throttled", "ModelThrottled"),
        ({"summary": "ok"}, {"daily_model_token_budget": "10"}, "token budget", "ModelTokenBudgetExceeded"),
    ],
    ids=["injection", "unknown-value", "empty", "throttled", "budget"],
)
def test_a_refused_model_answer_still_posts_the_offline_note_and_ends_done(  # noqa: PLR0917
    workers: WorkerFactory,
    monkeypatch: pytest.MonkeyPatch,
    reply: Any,
    options: dict[str, str],
    reason: str,
    metric: str,
) -> None:
    h = bedrock_worker(workers, reply, options)
    metrics = count_metrics(h, monkeypatch)
    job = h.job()

    assert h.run_jobs(job) == []

    (note,) = h.vendor.notes(seed_ticket_id("zendesk"))
    assert f"AI summary ({reason})" in note["html_body"]
    assert EVIL not in note["html_body"]
    record = h.record(job)
    assert record["state"] == "done"
    assert (record["provider"], record["fallback_from"]) == ("offline", "bedrock")
    assert record["reasons"] == {"synthesis": reason}
    assert record["unavailable"] == ["synthesis"]
    assert metric in metrics.names
    assert "JobsSucceeded" in metrics.names


def test_a_good_answer_is_posted_and_its_tokens_counted(workers: WorkerFactory) -> None:
    h = bedrock_worker(
        workers, {"summary": "VPN drops for one user."}, {"daily_model_token_budget": "100000"}
    )
    job = h.job()

    assert h.run_jobs(job) == []

    (note,) = h.vendor.notes(seed_ticket_id("zendesk"))
    assert "VPN drops for one user." in note["html_body"]
    assert h.record(job)["provider"] == "bedrock"
    usage = UsageStore(workers.stack.dynamodb, workers.context_table)
    assert 0 < usage.today(h.tenant_id)[1] <= 100_000  # the estimate stands: the fake reports no usage
