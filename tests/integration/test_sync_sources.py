"""The sync with each tool's real history and knowledge source, against the vendor sandbox: every
tool imports more than one page of each, an import cut off by the deadline continues to the same
records, a rerun stores nothing twice, and one tenant's import never reaches another's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from ticket_enhancer.ops.handler import OpsHandler, make_ops_handler
from ticket_enhancer.tenants import secret_name
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

from tests.integration.test_ops_function import Context
from tests.support import Stack, create_table, unique
from tests.sync_support import Clock

pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added")

TOOLS = ["jira", "zendesk", "servicenow", "freshservice", "servicedesk_plus", "zammad"]
OPTIONS = {
    "jira": {"knowledge_space": "KB"},
    "servicedesk_plus": {"allow_custom_host": "true"},
    "zammad": {"allow_custom_host": "true"},
}


class Counting(httpx.AsyncBaseTransport):
    """The sandbox, counting each request (method, path, query) and moving a clock per request."""

    def __init__(self, sandbox: VendorSandbox, clock: Clock | None = None, step: float = 0.0) -> None:
        self.inner = sandbox.async_transport()
        self.seen: Counter[str] = Counter()
        self.clock, self.step = clock, step

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen[f"{request.method} {request.url.path}?{request.url.query.decode()}"] += 1
        if self.clock is not None:
            self.clock.now += self.step
        return await self.inner.handle_async_request(request)


class Harness:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.table = unique("te-context")
        create_table(stack.dynamodb, self.table, "pk", "sk")
        self.sandbox = VendorSandbox()
        self.handlers: list[OpsHandler] = []

    def tenant(self, tool: str, tenant_id: str | None = None) -> str:
        tenant_id = tenant_id or unique("acme")
        sid = secret_name(tool, tenant_id)
        options = {"synthesis_provider": "offline", "sync_api_limit": "600000", **OPTIONS.get(tool, {})}
        self.stack.dynamodb.put_item(
            TableName=self.stack.tenants_table,
            Item={
                "tenant_id": {"S": tenant_id},
                "tool_type": {"S": tool},
                "base_url": {"S": f"http://127.0.0.1:9/_sandbox/{tool}"},
                "enabled": {"BOOL": True},
                "secret_id": {"S": sid},
                "options": {"M": {k: {"S": v} for k, v in options.items()}},
            },
        )
        self.stack.put_secret(sid, {"api_user": "agent@example.com", "api_token": "t" * 24})
        return tenant_id

    def handler(self, tool: str, transport: Counting, monotonic: Any = None) -> OpsHandler:
        env = {
            "TENANTS_TABLE": self.stack.tenants_table,
            "CONTEXT_TABLE": self.table,
            "JOBS_TABLE": "unused-jobs",  # the worker's settings name them; the ops never use them
            "DELIVERIES_TABLE": "unused-deliveries",
            "TICKET_ENHANCER_LOCAL": "1",
            "POWERTOOLS_SERVICE_NAME": unique("sync-sources-test"),
            "POWERTOOLS_METRICS_NAMESPACE": "TicketEnhancerTest",
        }
        handler = make_ops_handler(
            tool,
            dynamodb=self.stack.dynamodb,
            secrets=self.stack.secretsmanager,
            transport=transport,
            env=env,
            bedrock_client_factory=lambda: None,
            **({"monotonic": monotonic} if monotonic else {}),
        )
        self.handlers.append(handler)
        return handler

    def keys(self, pk: str) -> list[str]:
        pages = self.stack.dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": pk}},
        )
        return [item["sk"]["S"] for page in pages for item in page["Items"]]


@pytest.fixture
def harness(aws: Stack) -> Iterator[Harness]:
    made = Harness(aws)
    yield made
    for handler in made.handlers:
        handler.worker.close()


def by_source(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["source"]: s for s in answer["sources"]}


@pytest.mark.parametrize("tool", TOOLS)
def test_each_tool_imports_pages_of_history_and_knowledge_once(harness: Harness, tool: str) -> None:
    tenant_id = harness.tenant(tool)
    transport = Counting(harness.sandbox)
    answer = harness.handler(tool, transport)({"action": "sync", "tenant_id": tenant_id}, Context(900))
    sources = by_source(answer)
    assert answer["status"] == "done", answer
    assert sources["history"]["status"] == "done"
    assert sources["history"]["pages"] > 1
    assert sources["history"]["imported"] > 100
    assert sources["history"]["skipped"] >= 1  # the sandbox's malformed tickets, counted
    assert sources["knowledge"]["status"] == "done"
    assert sources["knowledge"]["pages"] > 1
    assert sources["knowledge"]["imported"] > 25
    tickets = harness.keys(f"{tenant_id}#ticket")
    assert len(tickets) == sources["history"]["imported"]
    assert len(harness.keys(f"{tenant_id}#kb")) == sources["knowledge"]["imported"]
    assert max(transport.seen.values()) == 1  # no request made twice

    again = harness.handler(tool, Counting(harness.sandbox))(
        {"action": "sync", "tenant_id": tenant_id}, Context(900)
    )
    assert again["status"] == "done"
    assert sorted(harness.keys(f"{tenant_id}#ticket")) == sorted(tickets)  # overwritten, never doubled


@pytest.mark.parametrize(
    ("tool", "step"),
    [("jira", 6.0), ("zendesk", 0.5), ("freshservice", 0.5)],  # about one page per invocation
)
def test_an_import_cut_by_the_deadline_continues_to_the_same_records(
    harness: Harness, tool: str, step: float
) -> None:
    whole, cut = harness.tenant(tool), harness.tenant(tool)
    harness.handler(tool, Counting(harness.sandbox))(
        {"action": "sync", "tenant_id": whole, "knowledge": False}, Context(900)
    )
    clock = Clock()
    transport = Counting(harness.sandbox, clock, step=step)  # every vendor request takes this long
    handler = harness.handler(tool, transport, monotonic=clock)
    first = handler({"action": "sync", "tenant_id": cut, "knowledge": False}, Context(20 + 60))
    assert first["status"] == "continuing"
    invocations = 1
    for _ in range(200):
        invocations += 1
        if handler({"action": "continue"}, Context(20 + 60)).get("finished"):
            break
    assert invocations >= 2
    assert sorted(harness.keys(f"{cut}#ticket")) == sorted(harness.keys(f"{whole}#ticket"))
    listing = [key for key, count in transport.seen.items() if count > 1]
    assert listing == []  # no page (nor any other request) fetched twice
