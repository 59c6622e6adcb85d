"""The ops function: `sync` imports into the ContextTable, the schedules continue long imports,
`preview` renders the note the worker would post and posts nothing (moto, the vendor sandbox)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from ticket_enhancer.enhance.records import IndexedTicket
from ticket_enhancer.ops.handler import OpsHandler, make_ops_handler
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
from ticket_enhancer.plugins.context import TenantContext
from ticket_enhancer.plugins.jira.plugin import JiraPlugin
from ticket_enhancer.sync.checkpoint import CheckpointStore, pending_pk
from ticket_enhancer.tenants import secret_name
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

from tests.support import Stack, create_table, unique
from tests.sync_support import Clock, FakeSource, article, history_ticket

SANDBOX = "http://127.0.0.1:9/_sandbox/jira"


class JiraWithHistory(JiraPlugin):
    """The Jira plugin with an in-memory history and knowledge base (the sources are another's)."""

    source: FakeSource

    async def history_page(
        self, tenant: TenantContext, *, since: datetime, cursor: str | None
    ) -> HistoryPage:
        return await self.source.history_page(tenant, since=since, cursor=cursor)

    async def knowledge_page(self, tenant: TenantContext, *, cursor: str | None) -> KnowledgePage:
        return await self.source.knowledge_page(tenant, cursor=cursor)


class Context:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


class Ops:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.context_table = unique("te-context")
        create_table(stack.dynamodb, self.context_table, "pk", "sk")
        self.sandbox = VendorSandbox()
        self.plugin = JiraWithHistory()
        tickets = [history_ticket(n) for n in range(30)]
        tickets.append(
            IndexedTicket(
                ticket_id="20001",
                display_key="OPS-900",
                subject="Printer offline on floor 3",
                text="The printer on floor 3 shows offline",
                resolution="Power-cycled the print server.",
                resolved="2026-11-01T10:00:00+00:00",
                status="resolved",
                scope="OPS",
            )
        )
        self.plugin.source = FakeSource(tickets, [article(n) for n in range(4)])
        self.handlers: list[OpsHandler] = []

    def tenant(self, tenant_id: str | None = None, *, tool: str = "jira", **options: str) -> str:
        tenant_id = tenant_id or unique("acme")
        sid = secret_name(tool, tenant_id)
        opts = {"synthesis_provider": "offline", **options}
        self.stack.dynamodb.put_item(
            TableName=self.stack.tenants_table,
            Item={
                "tenant_id": {"S": tenant_id},
                "tool_type": {"S": tool},
                "base_url": {"S": SANDBOX},
                "enabled": {"BOOL": True},
                "secret_id": {"S": sid},
                "options": {"M": {k: {"S": v} for k, v in opts.items()}},
            },
        )
        self.stack.put_secret(sid, {"api_user": "agent@example.com", "api_token": "t" * 24})
        return tenant_id

    def handler(self, monotonic: Any = None, bucket: str | None = None) -> OpsHandler:
        env = {
            **({"CONTEXT_INDEX_BUCKET": bucket} if bucket else {}),
            "TENANTS_TABLE": self.stack.tenants_table,
            "CONTEXT_TABLE": self.context_table,
            "JOBS_TABLE": "unused-jobs",  # the worker's settings name them; the ops never use them
            "DELIVERIES_TABLE": "unused-deliveries",
            "TICKET_ENHANCER_LOCAL": "1",
            "POWERTOOLS_SERVICE_NAME": unique("ops-test"),
            "POWERTOOLS_METRICS_NAMESPACE": "TicketEnhancerTest",
        }

        def no_bedrock() -> Any:
            raise AssertionError("offline tenants never call Bedrock")

        handler = make_ops_handler(
            "jira",
            dynamodb=self.stack.dynamodb,
            secrets=self.stack.secretsmanager,
            transport=self.sandbox.async_transport(),
            env=env,
            plugin=self.plugin,
            bedrock_client_factory=no_bedrock,
            **({"monotonic": monotonic} if monotonic else {}),
        )
        self.handlers.append(handler)
        return handler

    def items(self, pk: str) -> list[dict[str, Any]]:
        return list(
            self.stack.dynamodb.query(
                TableName=self.context_table,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": pk}},
            )["Items"]
        )


@pytest.fixture
def ops(aws: Stack) -> Iterator[Ops]:
    made = Ops(aws)
    yield made
    for handler in made.handlers:
        handler.worker.close()


def test_sync_imports_history_and_knowledge_and_records_checkpoints(ops: Ops) -> None:
    tenant_id = ops.tenant()
    answer = ops.handler()({"action": "sync", "tenant_id": tenant_id}, Context(600))
    assert answer["status"] == "done", answer
    by_source = {s["source"]: s for s in answer["sources"]}
    assert by_source["history"]["imported"] == 31
    assert by_source["knowledge"]["imported"] == 4
    assert len(ops.items(f"{tenant_id}#ticket")) == 31
    assert len(ops.items(f"{tenant_id}#kb")) == 4
    assert {i["sk"]["S"] for i in ops.items(f"{tenant_id}#sync")} == {"history", "knowledge"}
    assert ops.items(pending_pk("jira")) == []  # finished: not pending
    assert "cursor" not in json.dumps(answer)  # the answer shows counts, never the vendor's cursor


def test_no_history_and_history_days_reach_the_engine(ops: Ops) -> None:
    tenant_id = ops.tenant()
    answer = ops.handler()(
        {"action": "sync", "tenant_id": tenant_id, "history": False, "history_days": 7}, Context(600)
    )
    assert [s["source"] for s in answer["sources"]] == ["knowledge"]
    assert ops.items(f"{tenant_id}#ticket") == []
    bad = ops.handler()({"action": "sync", "tenant_id": tenant_id, "history_days": 0}, Context(600))
    assert "history days" in bad["error"]


def test_an_import_longer_than_an_invocation_continues_from_the_schedule(ops: Ops) -> None:
    tenant_id = ops.tenant()
    clock = Clock()

    def page_takes_six_seconds(source: str, cursor: str | None) -> None:
        clock.now += 6.0

    ops.plugin.source.fault = page_takes_six_seconds
    handler = ops.handler(monotonic=clock)
    first = handler({"action": "sync", "tenant_id": tenant_id}, Context(31))  # 11 s: time for one page
    assert first["status"] == "continuing"
    assert [i["sk"]["S"] for i in ops.items(pending_pk("jira"))] == [tenant_id]
    for _ in range(10):
        handler({"action": "continue"}, Context(80))  # 60 s: several pages
        if not ops.items(pending_pk("jira")):
            break
    store = CheckpointStore(ops.stack.dynamodb, ops.context_table)
    assert store.get(tenant_id, "history").status == "done"
    assert len(ops.items(f"{tenant_id}#ticket")) == 31
    assert all(count == 1 for count in ops.plugin.source.calls.values()), ops.plugin.source.calls


def test_the_daily_schedule_syncs_this_tools_enabled_tenants_only(ops: Ops) -> None:
    mine = ops.tenant()
    opted_out = ops.tenant(sync_schedule="off")
    other_tool = ops.tenant(tool="zendesk")
    answer = ops.handler()({"action": "scheduled"}, Context(600))
    assert answer["status"] == "ok"
    assert len(ops.items(f"{mine}#ticket")) == 31
    assert ops.items(f"{opted_out}#ticket") == []
    assert ops.items(f"{other_tool}#ticket") == []


def test_preview_renders_the_note_with_synced_context_and_posts_nothing(ops: Ops) -> None:
    tenant_id = ops.tenant()
    handler = ops.handler()
    handler({"action": "sync", "tenant_id": tenant_id}, Context(600))
    answer = handler(
        {"action": "preview", "tenant_id": tenant_id, "ticket_id": seed_ticket_id("jira")}, Context(60)
    )
    assert answer["status"] == "ok", answer
    assert answer["format"] == "adf"
    assert answer["rendered"]["type"] == "doc"
    assert answer["provider"] == "offline"
    # without an index bucket synced articles are still read from the ContextTable (similar
    # history needs the index: test_a_finished_sync_publishes_the_index_the_worker_reads)
    assert "Reset a VPN certificate" in answer["markdown"]
    assert "preview" in json.dumps(answer["rendered"])  # the footer names no real job
    assert ops.sandbox.notes("jira") == []  # nothing posted
    assert ops.items(f"{tenant_id}#ticket")
    assert len(ops.items(f"{tenant_id}#ticket")) == 31


def test_a_preview_neither_counts_against_nor_fills_the_daily_limits(ops: Ops) -> None:
    """Preview records nothing: the ops function's worker has no usage counters, so its model calls
    reserve no tokens and its notes count against no daily_note_limit (the worker's do)."""
    handler = ops.handler()
    assert handler.worker.usage is None
    synthesis = next(step for step in handler.worker.pipeline.steps if step.name == "synthesis")
    assert getattr(synthesis, "_usage", "missing") is None


@pytest.mark.parametrize(
    "event",
    [
        {"action": "preview", "tenant_id": "../x", "ticket_id": "1"},
        {"action": "preview", "tenant_id": "acme", "ticket_id": ""},
        {"action": "sync"},
        {"action": "explode"},
        {"action": "sync", "tenant_id": "nobody-here"},
    ],
)
def test_bad_events_answer_one_error(ops: Ops, event: dict[str, Any]) -> None:
    answer = ops.handler()(event, Context(60))
    assert set(answer) == {"error"}
    assert answer["error"]


def test_a_sync_that_cannot_start_says_why_in_its_checkpoints(ops: Ops) -> None:
    """Invoked asynchronously, the answer is lost: the CLI reads the reason from the checkpoints."""
    tenant_id = ops.tenant(sync_api_share="7")
    answer = ops.handler()({"action": "sync", "tenant_id": tenant_id, "knowledge": False}, Context(60))
    assert "sync_api_share" in answer["error"]
    store = CheckpointStore(ops.stack.dynamodb, ops.context_table)
    history = store.get(tenant_id, "history")
    assert history.status == "failed"
    assert "sync_api_share" in history.error
    assert store.get(tenant_id, "knowledge").status == "new"  # not requested: untouched


def test_a_long_import_does_not_starve_the_other_pending_tenants(ops: Ops) -> None:
    first, second = ops.tenant("aaa-first"), ops.tenant("zzz-second")
    clock = Clock()

    def page_takes_six_seconds(source: str, cursor: str | None) -> None:
        clock.now += 6.0

    ops.plugin.source.tickets = [history_ticket(n) for n in range(100)]  # 10 pages each
    ops.plugin.source.fault = page_takes_six_seconds
    handler = ops.handler(monotonic=clock)
    store = CheckpointStore(ops.stack.dynamodb, ops.context_table)
    for tenant_id in (first, second):
        store.mark_pending("jira", tenant_id)
    handler({"action": "continue"}, Context(50.5))  # 30.5 s: four pages, the first tenant's
    assert store.get(first, "history").pages == 4
    assert store.get(second, "history").pages == 0
    handler({"action": "continue"}, Context(50.5))  # the other tenant goes first this time
    assert store.get(second, "history").pages == 4
    assert store.get(first, "history").pages == 4


def test_a_finished_sync_publishes_the_index_the_worker_reads(ops: Ops) -> None:
    import boto3

    bucket = unique("te-index").lower()
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    tenant_id = ops.tenant(similar_scope="tenant")  # the fake history is project OPS, the ticket IT
    handler = ops.handler(bucket=bucket)
    answer = handler({"action": "sync", "tenant_id": tenant_id}, Context(600))
    assert answer["index"] == "built"
    pointer = ops.items(f"{tenant_id}#index")
    assert len(pointer) == 1
    assert pointer[0]["tickets"]["N"] == "31"
    assert pointer[0]["articles"]["N"] == "4"
    listed = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == [pointer[0]["key"]["S"]]
    assert listed[0]["Key"].startswith(f"{tenant_id}/index/")
    # the preview's pipeline (the worker's) finds the synced resolution through the index
    note = handler(
        {"action": "preview", "tenant_id": tenant_id, "ticket_id": seed_ticket_id("jira")}, Context(60)
    )
    assert "Replaced the expired certificate" in note["markdown"]
    assert "Reset a VPN certificate" in note["markdown"]
