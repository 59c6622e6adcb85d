"""The tenant index on moto's S3 and DynamoDB: publish, load by version, bounded reads, isolation."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pydantic import SecretStr
from ticket_enhancer.enhance import store as store_module
from ticket_enhancer.enhance.errors import ContextStoreError
from ticket_enhancer.enhance.index import build_index
from ticket_enhancer.enhance.index_codec import encode_index
from ticket_enhancer.enhance.index_store import IndexStore, index_key
from ticket_enhancer.enhance.pipeline import build_default_pipeline
from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.enhance.store import ContextStore, shared_reads
from ticket_enhancer.models import TenantConfig, TenantSecret, Ticket
from ticket_enhancer.plugins.context import TenantContext
from ticket_enhancer.render import link
from ticket_enhancer.settings import Settings

from tests.support import create_table, moto_env

TABLE, BUCKET = "context", "ticket-enhancer-index"


class Counting:
    """A boto3 client that counts the calls made through it."""

    def __init__(self, client: Any) -> None:
        self._client, self.calls = client, Counter[str]()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attribute(*args, **kwargs)

        return call


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Counting, Counting]]:
    moto_env(monkeypatch)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(dynamodb, TABLE, "pk", "sk")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield Counting(dynamodb), Counting(s3)


def history(
    tid: str, subject: str, scope: str = "IT", resolution: str = "Lowered the MTU to 1300."
) -> IndexedTicket:
    return IndexedTicket(
        ticket_id=tid,
        display_key=f"IT-{tid}",
        subject=subject,
        text=f"{subject}. Seen from 10.8.0.12.",
        url=f"https://acme.atlassian.net/browse/IT-{tid}",
        resolution=resolution,
        resolved="2026-02-03T10:00:00Z",
        status="resolved",
        scope=scope,
    )


ARTICLE = Article(
    "kb1",
    "VPN disconnects",
    "About the VPN.\n\n" + "background " * 60 + "\n\nLower the client MTU to 1300 when the tunnel drops.",
    "https://acme.atlassian.net/wiki/kb1",
)


def test_a_job_reads_the_pointer_once_and_the_object_once_per_version(aws: tuple[Counting, Counting]) -> None:
    dynamodb, s3 = aws
    clock = Clock()
    store = IndexStore(dynamodb, TABLE, s3, BUCKET, pointer_seconds=5, clock=clock)  # type: ignore[arg-type]
    pointer = store.publish(build_index("acme", [history("1", "VPN drops")], [ARTICLE]), version="v1")
    assert pointer.key == "acme/index/v1"
    assert (pointer.tickets, pointer.articles) == (1, 1)
    reader = IndexStore(dynamodb, TABLE, s3, BUCKET, pointer_seconds=5, clock=clock)  # type: ignore[arg-type]
    dynamodb.calls.clear()
    first = reader.load("acme")
    again = reader.load("acme")  # the same job's other step
    assert first is again
    assert first is not None
    assert first.ticket_count == 1
    assert (dynamodb.calls["get_item"], s3.calls["get_object"]) == (1, 1)
    clock.now += 6  # the next job: the pointer is read again, the object is not
    assert reader.load("acme") is first
    assert (dynamodb.calls["get_item"], s3.calls["get_object"]) == (2, 1)
    store.publish(build_index("acme", [history("1", "VPN drops"), history("2", "Printer")], []), version="v2")
    clock.now += 6
    second = reader.load("acme")
    assert second is not None
    assert second.ticket_count == 2
    assert s3.calls["get_object"] == 2


def keys(s3: Any, prefix: str = "") -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def test_publishing_deletes_older_versions_but_keeps_the_current_and_previous(
    aws: tuple[Counting, Counting],
) -> None:
    dynamodb, s3 = aws
    store = IndexStore(dynamodb, TABLE, s3, BUCKET)  # type: ignore[arg-type]
    other = build_index("acme2", [history("9", "Other tenant")], [])
    store.publish(other, version="20260101T000000Z-aaaaaaaa")  # "acme2/" does not start with "acme/"
    store.publish(other, version="20260101T000000Z-bbbbbbbb")
    versions = [f"20260102T0000{n:02d}Z-{n:08x}" for n in range(4)]
    s3.put_object(
        Bucket=BUCKET, Key=index_key("acme", "20260102T000009Z-ffffffff"), Body=b"x"
    )  # newer, pointer not yet written
    for n, version in enumerate(versions):
        store.publish(build_index("acme", [history(str(n), f"VPN {n}")], []), version=version)
        wanted = versions[max(0, n - 1) : n + 1]
        assert keys(s3, "acme/index/") == sorted(
            [index_key("acme", v) for v in wanted] + ["acme/index/20260102T000009Z-ffffffff"]
        )
    assert keys(s3, "acme2/") == [f"acme2/index/20260101T000000Z-{x * 8}" for x in "ab"]  # untouched
    assert IndexStore(dynamodb, TABLE, s3, BUCKET).load("acme").ticket_count == 1  # type: ignore[arg-type, union-attr]


def test_a_publish_whose_cleanup_is_refused_still_publishes(
    aws: tuple[Counting, Counting], monkeypatch: pytest.MonkeyPatch
) -> None:
    dynamodb, s3 = aws
    store = IndexStore(dynamodb, TABLE, s3, BUCKET)  # type: ignore[arg-type]
    for version in ("v1", "v2"):
        store.publish(build_index("acme", [history("1", "VPN")], []), version=version)

    def refuse(**_: Any) -> dict[str, Any]:
        return {"Errors": [{"Key": "acme/index/v1", "Code": "AccessDenied"}]}

    monkeypatch.setattr(s3, "delete_objects", refuse, raising=False)
    pointer = store.publish(
        build_index("acme", [history("1", "VPN"), history("2", "Printer")], []), version="v3"
    )
    assert pointer.tickets == 2
    assert keys(s3, "acme/") == ["acme/index/v1", "acme/index/v2", "acme/index/v3"]


def test_no_index_means_none_and_one_read(aws: tuple[Counting, Counting]) -> None:
    dynamodb, s3 = aws
    reader = IndexStore(dynamodb, TABLE, s3, BUCKET)  # type: ignore[arg-type]
    assert reader.load("acme") is None
    assert (dynamodb.calls["get_item"], s3.calls["get_object"]) == (1, 0)


def test_one_tenants_index_never_reaches_another(aws: tuple[Counting, Counting]) -> None:
    dynamodb, s3 = aws
    store = IndexStore(dynamodb, TABLE, s3, BUCKET)  # type: ignore[arg-type]
    store.publish(build_index("acme", [history("1", "Acme VPN secret")], []), version="v1")
    assert IndexStore(dynamodb, TABLE, s3, BUCKET).load("globex") is None  # type: ignore[arg-type]
    # A pointer naming another tenant's object is not followed.
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "globex#index"},
            "sk": {"S": "current"},
            "version": {"S": "v1"},
            "key": {"S": "acme/index/v1"},
        },
    )
    assert IndexStore(dynamodb, TABLE, s3, BUCKET).load("globex") is None  # type: ignore[arg-type]
    # An object under globex's key that holds acme's index is refused.
    s3.put_object(
        Bucket=BUCKET, Key=index_key("globex", "v9"), Body=encode_index(build_index("acme", [], []))
    )
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "globex#index"},
            "sk": {"S": "current"},
            "version": {"S": "v9"},
            "key": {"S": "globex/index/v9"},
        },
    )
    with pytest.raises(ContextStoreError, match="another tenant"):
        IndexStore(dynamodb, TABLE, s3, BUCKET).load("globex")  # type: ignore[arg-type]
    with pytest.raises(ContextStoreError):
        store.load("../acme")


def jira_ticket(tenant_id: str, ticket_id: str, created: datetime, **kw: Any) -> Ticket:
    fields: dict[str, Any] = {
        "tool_type": "jira",
        "tenant_id": tenant_id,
        "ticket_id": ticket_id,
        "display_key": f"IT-{ticket_id}",
        "subject": "VPN keeps disconnecting",
        "description": "VPN drops every few minutes from 10.8.0.12.",
        "created_at": created,
        "url": f"https://acme.atlassian.net/browse/IT-{ticket_id}",
        "scope": "IT",
    }
    return Ticket(**(fields | kw))


def test_recent_tickets_are_the_newest_by_time_in_two_reads(aws: tuple[Counting, Counting]) -> None:
    dynamodb, _ = aws
    context = ContextStore(dynamodb, TABLE)  # type: ignore[arg-type]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(150):  # ids 850..999, then 1000..1149: "999" sorts after "1149" as a string
        context.index_ticket("acme", jira_ticket("acme", str(850 + n), start + timedelta(hours=n)))
    context.index_ticket("globex", jira_ticket("globex", "5000", start))
    dynamodb.calls.clear()
    recent = context.recent_tickets("acme", 100)
    assert len(recent) == 100
    assert recent[0].ticket_id == "999"
    assert recent[-1].ticket_id == "900"
    assert {t.scope for t in recent} == {"IT"}
    assert all(t.status == "open" for t in recent)
    assert dict(dynamodb.calls) == {"query": 1, "batch_get_item": 1}
    assert [t.ticket_id for t in context.recent_tickets("globex")] == ["5000"]
    assert context.recent_tickets("acme", 0) == []
    assert len(context.recent_tickets("acme", 10_000)) == 100


def test_the_jobs_of_one_invocation_share_one_read_of_the_newest_tickets(
    aws: tuple[Counting, Counting], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside ``shared_reads`` (a worker invocation) ten concurrent jobs of a tenant make one
    ``Query`` and one ``BatchGetItem``; another tenant gets its own read and only its own tickets;
    outside, or with the sharing time at 0 once the read is over, every call reads again."""
    dynamodb, _ = aws
    context = ContextStore(dynamodb, TABLE)  # type: ignore[arg-type]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(5):
        context.index_ticket("acme", jira_ticket("acme", str(900 + n), start))
    context.index_ticket("globex", jira_ticket("globex", "5000", start))
    dynamodb.calls.clear()

    async def ten_jobs(tenant_id: str) -> list[list[IndexedTicket]]:
        return list(
            await asyncio.gather(*(asyncio.to_thread(context.recent_tickets, tenant_id) for _ in range(10)))
        )

    with shared_reads():
        acme = asyncio.run(ten_jobs("acme"))
        globex = asyncio.run(ten_jobs("globex"))
        again = context.recent_tickets("acme")  # within SHARED_SECONDS: the same read
    assert dict(dynamodb.calls) == {"query": 2, "batch_get_item": 2}
    assert all([t.ticket_id for t in found] == ["904", "903", "902", "901", "900"] for found in acme)
    assert all([t.ticket_id for t in found] == ["5000"] for found in globex)
    assert [t.ticket_id for t in again] == [t.ticket_id for t in acme[0]]
    acme[0].clear()  # a job's list is its own
    assert len(acme[1]) == 5

    dynamodb.calls.clear()
    context.recent_tickets("acme")
    context.recent_tickets("acme")
    assert dynamodb.calls["query"] == 2  # no invocation: no sharing
    monkeypatch.setattr(store_module, "SHARED_SECONDS", 0.0)
    dynamodb.calls.clear()
    with shared_reads():
        context.recent_tickets("acme")
        context.recent_tickets("acme")
    assert dynamodb.calls["query"] == 2  # kept no longer than SHARED_SECONDS


def test_a_failed_shared_read_is_not_kept(aws: tuple[Counting, Counting]) -> None:
    dynamodb, _ = aws
    context = ContextStore(dynamodb, TABLE)  # type: ignore[arg-type]
    context.index_ticket("acme", jira_ticket("acme", "900", datetime(2026, 1, 1, tzinfo=UTC)))
    failures = [ContextStoreError("throttled")]
    read = context._read_recent

    def flaky(tenant_id: str, limit: int) -> list[IndexedTicket]:
        if failures:
            raise failures.pop()
        return read(tenant_id, limit)

    context._read_recent = flaky  # type: ignore[method-assign]
    with shared_reads():
        with pytest.raises(ContextStoreError):
            context.recent_tickets("acme")
        assert [t.ticket_id for t in context.recent_tickets("acme")] == ["900"]
    with shared_reads(), pytest.raises(ContextStoreError, match="invalid tenant id"):
        context.recent_tickets("../globex")


class Unprocessing(Counting):
    """BatchWriteItem leaves the last item unprocessed ``times`` times (a throttled partition)."""

    def __init__(self, client: Any, times: int) -> None:
        super().__init__(client)
        self.times = times

    def batch_write_item(self, **kwargs: Any) -> Any:
        self.calls["batch_write_item"] += 1
        requests = kwargs["RequestItems"][TABLE]
        if self.times:
            self.times -= 1
            if requests[:-1]:
                self._client.batch_write_item(RequestItems={TABLE: requests[:-1]})
            return {"UnprocessedItems": {TABLE: requests[-1:]}}
        return self._client.batch_write_item(**kwargs)


@pytest.mark.parametrize("unprocessed", [0, 2, 3])
def test_a_ticket_is_updated_and_its_pointer_batch_written(
    aws: tuple[Counting, Counting], monkeypatch: pytest.MonkeyPatch, unprocessed: int
) -> None:
    """One ``UpdateItem`` of the ticket's item (it keeps what the history sync imported) and one
    ``BatchWriteItem`` of its ``#recent`` pointer; a pointer DynamoDB leaves unprocessed is asked
    again (twice at most, after a short back-off), then an error."""
    dynamodb, _ = aws
    monkeypatch.setattr("ticket_enhancer.enhance.store.time.sleep", lambda _: None)
    client = Unprocessing(dynamodb._client, unprocessed)
    context = ContextStore(client, TABLE)  # type: ignore[arg-type]
    ticket = jira_ticket("acme", "900", datetime(2026, 1, 1, tzinfo=UTC))
    if unprocessed >= 3:
        with pytest.raises(ContextStoreError, match="1 item"):
            context.index_ticket("acme", ticket)
        assert dict(client.calls) == {"update_item": 1, "batch_write_item": 3}
        return
    context.index_ticket("acme", ticket)
    assert dict(client.calls) == {"update_item": 1, "batch_write_item": 1 + unprocessed}
    assert [t.ticket_id for t in ContextStore(dynamodb, TABLE).recent_tickets("acme")] == ["900"]  # type: ignore[arg-type]


def tenant(options: dict[str, str] | None = None) -> TenantContext:
    config = TenantConfig(
        tenant_id="acme",
        tool_type="jira",
        base_url="https://acme.atlassian.net",
        secret_id="s",
        options=options or {},
    )
    return TenantContext(config=config, secret=TenantSecret(llm_api_key=SecretStr("sk-1")))


def test_the_note_names_resolved_tickets_of_the_scope_and_the_matching_passage(
    aws: tuple[Counting, Counting],
) -> None:
    dynamodb, s3 = aws
    context = ContextStore(dynamodb, TABLE)  # type: ignore[arg-type]
    index = IndexStore(dynamodb, TABLE, s3, BUCKET)  # type: ignore[arg-type]
    index.publish(
        build_index(
            "acme",
            [
                history(
                    "700", "VPN keeps disconnecting", resolution="Lowered the MTU; mailed bob@acme.example"
                ),
                history("701", "VPN keeps disconnecting", scope="HR", resolution="HR only"),
                history("702", "Printer jams"),
            ],
            [ARTICLE],
        )
    )
    now = datetime(2026, 3, 1, tzinfo=UTC)
    context.index_ticket("acme", jira_ticket("acme", "800", now, subject="VPN disconnecting again"))
    context.index_ticket("acme", jira_ticket("acme", "801", now, scope="HR"))
    context.index_ticket("acme", jira_ticket("acme", "900", now))  # the ticket itself
    worker_index = IndexStore(dynamodb, TABLE, s3, BUCKET)  # type: ignore[arg-type]  # the worker's own
    pipeline = build_default_pipeline(context, index=worker_index)
    dynamodb.calls.clear()
    s3.calls.clear()
    result = asyncio.run(pipeline.enhance(tenant(), jira_ticket("acme", "900", now), "01JOB"))
    note = result.markdown
    assert link("IT-700: VPN keeps disconnecting", "https://acme.atlassian.net/browse/IT-700") in note
    assert "(resolved 2026-02-03)" in note
    assert "Lowered the MTU" in note
    assert "bob@acme.example" not in note
    similar = note.split("### Similar tickets", 1)[1].split("### Knowledge articles", 1)[0]
    assert similar.index("IT-700") < similar.index("IT-800")  # an equal rank: the resolved one first
    assert "IT-701" not in note
    assert "IT-801" not in note
    assert "IT-900" not in similar
    assert link("VPN disconnects", "https://acme.atlassian.net/wiki/kb1") in note
    assert "Lower the client MTU to 1300 when the tunnel drops." in note
    assert "background" not in note
    # AWS reads of this job: index pointer, newest processed tickets (query + batch get), the
    # network step's inventory (the ticket names an IP) and the object (first load only).
    assert dict(dynamodb.calls) == {"get_item": 1, "query": 2, "batch_get_item": 1}
    assert dict(s3.calls) == {"get_object": 1}
    wide = asyncio.run(
        pipeline.enhance(tenant({"similar_scope": "tenant"}), jira_ticket("acme", "900", now), "01J2")
    )
    assert "IT-701" in wide.markdown or "IT-801" in wide.markdown


def test_the_worker_wires_the_index_only_when_the_bucket_is_set(aws: tuple[Counting, Counting]) -> None:
    from ticket_enhancer.enhance.index_store import LazyClient
    from ticket_enhancer.worker.handler import _index_store

    dynamodb, s3 = aws
    env = {"TENANTS_TABLE": "t", "DELIVERIES_TABLE": "d", "JOBS_TABLE": "j", "CONTEXT_TABLE": TABLE}
    assert _index_store(dynamodb, Settings.for_worker(env), None) is None  # type: ignore[arg-type]
    made: list[int] = []

    def factory() -> Counting:
        made.append(1)
        return s3

    IndexStore(dynamodb, TABLE, s3, BUCKET).publish(build_index("acme", [history("1", "VPN")], []))  # type: ignore[arg-type]
    store = IndexStore(dynamodb, TABLE, LazyClient(factory), BUCKET)  # type: ignore[arg-type]
    assert made == []  # no client at init
    loaded = store.load("acme")
    assert loaded is not None
    assert made == [1]
    wired = _index_store(dynamodb, Settings.for_worker(env | {"CONTEXT_INDEX_BUCKET": BUCKET}), s3)  # type: ignore[arg-type]
    assert wired is not None
    assert wired.load("acme") is not None
