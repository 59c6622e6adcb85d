"""The sync engine: resumable, idempotent, rate-limit and permission aware (moto's DynamoDB)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from ticket_enhancer.deadline import Deadline
from ticket_enhancer.plugins.capabilities import SourcePermissionError
from ticket_enhancer.plugins.errors import VendorRateLimitedError, VendorUnavailableError
from ticket_enhancer.sync.checkpoint import CheckpointStore
from ticket_enhancer.sync.engine import MAX_ERRORS, SyncEngine, SyncOutcome, SyncRequest
from ticket_enhancer.sync.store import DynamoRecordStore

from tests.sync_support import Clock, FakeSource, HistoryOnly, article, history_ticket, tenant_context

TABLE = "context"


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


class Built:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def build(self, tenant_id: str) -> None:
        self.calls.append(tenant_id)


def engine(db: Any, plugin: object, clock: Clock, index: Built | None = None, **kw: Any) -> SyncEngine:
    return SyncEngine(
        plugin,
        CheckpointStore(db, TABLE, clock=clock),
        DynamoRecordStore(db, TABLE, clock=clock),
        index=index,
        sleep=clock.sleep,
        monotonic=clock,
        **kw,
    )


def run(
    eng: SyncEngine, clock: Clock, seconds: float = 600.0, tenant: str = "acme", **kw: Any
) -> SyncOutcome:
    request = SyncRequest(tenant, **kw)
    return asyncio.run(eng.run(tenant_context(tenant), request, Deadline(seconds, clock)))


def stored(db: Any, pk: str) -> list[str]:
    items = db.query(
        TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": pk}}
    )["Items"]
    return [i["sk"]["S"] for i in items]


def test_full_import_stores_every_record_once_and_builds_the_index(db: Any) -> None:
    clock, index = Clock(), Built()
    source = FakeSource([history_ticket(n) for n in range(35)], [article(n) for n in range(12)])
    outcome = run(engine(db, source, clock, index), clock)
    assert outcome.finished
    assert outcome.index == "built"
    assert index.calls == ["acme"]
    assert outcome.checkpoints["history"].imported == 35
    assert outcome.checkpoints["history"].pages == 4
    assert outcome.checkpoints["knowledge"].imported == 12
    assert sorted(stored(db, "acme#ticket")) == sorted(t.ticket_id for t in source.tickets)
    assert len(stored(db, "acme#kb")) == 12
    assert all(count == 1 for count in source.calls.values())


def test_interrupted_by_an_exception_then_rerun_imports_each_item_once(db: Any) -> None:
    clock = Clock()
    fail = {"at": "20"}

    def fault(source: str, cursor: str | None) -> None:
        if source == "history" and cursor == fail.get("at"):
            fail.clear()
            raise RuntimeError("the function crashed")

    source = FakeSource([history_ticket(n) for n in range(45)], fault=fault)
    with pytest.raises(RuntimeError):
        run(engine(db, source, clock), clock, knowledge=False)
    checkpoint = CheckpointStore(db, TABLE, clock=clock).get("acme", "history")
    assert checkpoint.status == "running"
    assert checkpoint.cursor == "20"
    assert checkpoint.imported == 20
    clock.now += 200  # the dead invocation's lease has expired
    outcome = run(engine(db, source, clock), clock, knowledge=False)
    assert outcome.checkpoints["history"].status == "done"
    assert outcome.checkpoints["history"].imported == 45
    assert sorted(stored(db, "acme#ticket")) == sorted(t.ticket_id for t in source.tickets)
    assert all(count == 1 for count in source.calls.values()), source.calls  # nothing fetched twice


def test_deadline_stops_between_pages_and_the_next_invocation_continues(db: Any) -> None:
    clock = Clock()
    slow = FakeSource([history_ticket(n) for n in range(50)])

    def tick(source: str, cursor: str | None) -> None:
        clock.now += 4.0  # every page takes 4 s

    slow.fault = tick
    invocations = 0
    outcome = SyncOutcome()
    while invocations < 10:
        invocations += 1
        outcome = run(engine(db, slow, clock, page_reserve=5.0), clock, seconds=18.0, knowledge=False)
        if outcome.finished:
            break
    assert invocations > 1
    assert outcome.finished
    assert outcome.checkpoints["history"].imported == 50
    assert len(stored(db, "acme#ticket")) == 50
    assert all(count == 1 for count in slow.calls.values()), slow.calls


def test_retry_after_pauses_then_resumes(db: Any) -> None:
    clock = Clock()
    limited = {"left": 1}

    def fault(source: str, cursor: str | None) -> None:
        if cursor == "10" and limited["left"]:
            limited["left"] -= 1
            raise VendorRateLimitedError("429", tool_type="jira", operation="history", retry_after=42.0)

    source = FakeSource([history_ticket(n) for n in range(25)], fault=fault)
    outcome = run(engine(db, source, clock), clock, knowledge=False)
    assert outcome.checkpoints["history"].status == "done"
    assert outcome.checkpoints["history"].imported == 25
    assert 42.0 in clock.slept  # waited the vendor's Retry-After in the same invocation


def test_retry_after_longer_than_the_invocation_resumes_later(db: Any) -> None:
    clock = Clock()
    limited = {"left": 1}

    def fault(source: str, cursor: str | None) -> None:
        if cursor == "10" and limited["left"]:
            limited["left"] -= 1
            raise VendorRateLimitedError("429", tool_type="servicenow", operation="h", retry_after=3600.0)

    source = FakeSource([history_ticket(n) for n in range(25)], fault=fault)
    first = run(engine(db, source, clock), clock, seconds=60.0, knowledge=False)
    waiting = first.checkpoints["history"]
    assert waiting.status == "waiting"
    assert waiting.resume_at == pytest.approx(clock.now + 3600, abs=1)
    assert not first.finished
    assert clock.slept == []
    clock.now += 100
    early = run(engine(db, source, clock), clock, seconds=60.0, knowledge=False)
    assert early.checkpoints["history"].status == "waiting"
    assert ("history", "10") not in source.calls
    clock.now += 3600
    later = run(engine(db, source, clock), clock, seconds=60.0, knowledge=False)
    assert later.checkpoints["history"].status == "done"
    assert later.checkpoints["history"].imported == 25


def test_vendor_errors_back_off_and_fail_the_source_after_many(db: Any) -> None:
    clock = Clock()

    def fault(source: str, cursor: str | None) -> None:
        raise VendorUnavailableError("HTTP 502", tool_type="jira", operation="history")

    source = FakeSource([history_ticket(n) for n in range(5)], fault=fault)
    outcome = run(engine(db, source, clock), clock, seconds=100_000.0, knowledge=False)
    assert outcome.checkpoints["history"].status == "failed"
    assert outcome.checkpoints["history"].errors == MAX_ERRORS
    assert clock.slept[:3] == [60.0, 120.0, 240.0]


def test_permission_error_stops_that_source_only(db: Any) -> None:
    clock = Clock()

    def fault(source: str, cursor: str | None) -> None:
        if source == "history":
            raise SourcePermissionError(
                tool_type="jira",
                endpoint="POST /rest/api/3/search/jql",
                permission="Browse projects",
                status=403,
            )

    source = FakeSource([history_ticket(1)], [article(n) for n in range(3)], fault=fault)
    outcome = run(engine(db, source, clock), clock)
    history, knowledge = outcome.checkpoints["history"], outcome.checkpoints["knowledge"]
    assert history.status == "denied"
    assert history.permission == "Browse projects"
    assert history.endpoint == "POST /rest/api/3/search/jql"
    assert knowledge.status == "done"
    assert knowledge.imported == 3
    assert history.public()["permission"] == "Browse projects"


def test_malformed_records_are_skipped_and_counted(db: Any) -> None:
    clock = Clock()
    tickets = [history_ticket(n) for n in range(8)]
    tickets[3] = history_ticket(3).__class__(ticket_id="", subject="no id")
    tickets[5] = history_ticket(5).__class__(ticket_id="x" * 500)
    source = FakeSource(tickets, page_size=4, skipped_per_page=1)
    outcome = run(engine(db, source, clock), clock, knowledge=False)
    history = outcome.checkpoints["history"]
    assert history.status == "done"
    assert history.imported == 6
    assert history.skipped == 2 + 2  # two the store refused, one a page the plugin could not read


def test_history_too_old_for_the_retention_is_counted_not_stored(db: Any) -> None:
    clock = Clock()
    old = history_ticket(1).__class__(ticket_id="old-1", resolved="2001-01-01T00:00:00+00:00")
    source = FakeSource([old, history_ticket(2)])
    outcome = run(engine(db, source, clock), clock, knowledge=False)
    assert outcome.checkpoints["history"].expired == 1
    assert stored(db, "acme#ticket") == ["10002"]


def test_rerun_is_incremental_and_idempotent(db: Any) -> None:
    clock = Clock()
    source = FakeSource([history_ticket(n) for n in range(15)])
    run(engine(db, source, clock), clock, knowledge=False, history_days=30)
    first_since = source.since_seen[0]
    assert (clock.now - first_since.timestamp()) == pytest.approx(30 * 86_400, abs=2)
    clock.now += 86_400 * 2
    again = run(engine(db, source, clock), clock, knowledge=False, history_days=30)
    assert again.checkpoints["history"].status == "done"
    # the second run starts one day before the first one started: no 30-day re-read
    assert source.since_seen[-1].timestamp() == pytest.approx(clock.now - 86_400 * 3, abs=2)
    assert len(stored(db, "acme#ticket")) == 15  # overwritten, never duplicated


def test_a_tool_without_knowledge_is_unsupported_not_an_error(db: Any) -> None:
    clock = Clock()
    outcome = run(engine(db, HistoryOnly(FakeSource([history_ticket(1)])), clock), clock)
    assert outcome.checkpoints["knowledge"].status == "unsupported"
    assert outcome.finished


def test_tenants_never_share_records(db: Any) -> None:
    clock = Clock()
    run(engine(db, FakeSource([history_ticket(1)]), clock), clock, tenant="alpha", knowledge=False)
    run(engine(db, FakeSource([history_ticket(2)]), clock), clock, tenant="beta", knowledge=False)
    assert stored(db, "alpha#ticket") == ["10001"]
    assert stored(db, "beta#ticket") == ["10002"]


def test_a_second_invocation_leaves_a_leased_source_alone(db: Any) -> None:
    clock = Clock()
    store = CheckpointStore(db, TABLE, clock=clock)
    source = FakeSource([history_ticket(n) for n in range(5)])
    first = engine(db, source, clock)
    checkpoint = first._start(SyncRequest("acme"), "history", store.get("acme", "history"))
    store.claim(checkpoint, "someone-else")
    store.save(checkpoint, "someone-else")
    outcome = run(first, clock, knowledge=False)
    assert source.calls == {}
    assert outcome.checkpoints["history"].imported == 0


def test_a_page_that_never_fits_in_an_invocation_fails_with_the_reason(db: Any) -> None:
    clock = Clock()

    def slow(source: str, cursor: str | None) -> None:
        clock.now += 100.0  # longer than the invocation's 30 s: the HTTP layer gives up
        raise VendorUnavailableError("no time left for GET /history", tool_type="jira", operation="history")

    source = FakeSource([history_ticket(n) for n in range(5)], fault=slow)
    outcomes = [run(engine(db, source, clock), clock, seconds=30.0, knowledge=False) for _ in range(3)]
    assert [o.checkpoints["history"].status for o in outcomes] == ["running", "running", "failed"]
    assert "sync_api_share" in outcomes[-1].checkpoints["history"].error
