"""Each tool's history and knowledge, imported page by page from the vendor sandbox.

For every tool: the resolved tickets of the sandbox's history come back over more than one page,
with their resolution (never one of our notes, never the requester's thanks), scope, category,
group, priority, times and URL; malformed records are skipped and counted; 401/403 name the
missing permission; 429/5xx raise the retryable vendor errors the sync pauses on; the knowledge
base comes back over more than one page with its HTML reduced to text.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.models import NOTE_FOOTER_PREFIX, TenantConfig, TenantSecret
from ticket_enhancer.plugins import PluginManager
from ticket_enhancer.plugins.capabilities import (
    HistoryPage,
    KnowledgePage,
    SourcePermissionError,
    history_source,
    knowledge_source,
)
from ticket_enhancer.plugins.context import TenantContext
from ticket_enhancer.plugins.errors import VendorRateLimitedError, VendorUnavailableError
from ticket_enhancer.plugins.requests import RetryPolicy
from ticket_enhancer_dev.sandbox.history import SCOPES, THANKS, articles, cases
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id
from ticket_enhancer_dev.sandbox.tools.servicenow_history import COMPANIES
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added")

SINCE = datetime.now(UTC) - timedelta(days=400)


@dataclass(frozen=True)
class Tool:
    name: str
    host: str  # the tenant's base URL host (the sandbox answers under /_sandbox/<tool>)
    scopes: tuple[str, ...]  # the scope keys the tool gives SCOPES
    history_permission: str  # a phrase the 401/403 message must name
    knowledge_permission: str
    options: dict[str, str] = field(default_factory=dict)
    secret: dict[str, Any] = field(default_factory=dict)
    category_known: bool = True
    our_notes_in_comments: bool = True  # resolution from comments (not a field like close_notes)


TOOLS = {
    "jira": Tool(
        "jira",
        "https://acme.atlassian.net",
        ("IT", "SALES", "ENG"),
        "Browse projects",
        "Confluence 'View'",
        options={"knowledge_space": "KB"},
    ),
    "zendesk": Tool(
        "zendesk",
        "https://acme.zendesk.com",
        ("360001", "360002", "360003"),
        "admin role",
        "Help Center",
    ),
    "servicenow": Tool(
        "servicenow",
        "https://acme.service-now.com",
        COMPANIES,
        "itil role",
        "kb_knowledge",
        our_notes_in_comments=False,
    ),
    "freshservice": Tool(
        "freshservice",
        "https://acme.freshservice.com",
        ("18000001", "18000002", "18000003"),
        "View tickets",
        "Solutions",
    ),
    "servicedesk_plus": Tool(
        "servicedesk_plus",
        "https://helpdesk.acme-corp.example",  # on-prem (authtoken)
        SCOPES,
        "View requests",
        "View solutions",
        our_notes_in_comments=False,
    ),
    "zammad": Tool(
        "zammad",
        "https://acme.zammad.com",
        ("Finance", "Sales", "Engineering"),
        "ticket.agent",
        "knowledge_base.editor",
        category_known=False,
    ),
}


def tenant(tool: Tool, sandbox: VendorSandbox) -> TenantContext:
    config = TenantConfig(
        tenant_id="acme",
        tool_type=tool.name,
        base_url=f"{tool.host}/_sandbox/{tool.name}",
        secret_id=f"ticket-enhancer/{tool.name}/acme",
        options=tool.options,
    )
    secret = TenantSecret.model_validate({"api_user": "sync@acme.example", "api_token": "tok", **tool.secret})
    client = httpx.AsyncClient(transport=sandbox.async_transport())
    return TenantContext(config=config, secret=secret, http=client)


async def _no_sleep(_: float) -> None:
    return None


class _Metrics:
    def add_metric(self, name: str, unit: Any, value: float) -> None:
        return None


def plugin(name: str) -> Any:
    found = PluginManager().get_plugin(name)
    found._metrics = _Metrics()
    found._sleep = _no_sleep  # retries without waiting
    found._retry = RetryPolicy(attempts=2, base_delay=0, max_delay=0)
    return found


@pytest.fixture
def sandbox() -> VendorSandbox:
    return VendorSandbox()


def all_history(name: str, sandbox: VendorSandbox) -> tuple[list[HistoryPage], list[IndexedTicket]]:
    source = history_source(plugin(name))
    assert source is not None

    async def run() -> list[HistoryPage]:
        context = tenant(TOOLS[name], sandbox)
        pages: list[HistoryPage] = []
        cursor: str | None = None
        while True:
            page = await source.history_page(context, since=SINCE, cursor=cursor)
            pages.append(page)
            cursor = page.next_cursor
            if cursor is None or len(pages) > 50:
                return pages

    pages = asyncio.run(run())
    return pages, [t for p in pages for t in p.tickets]


def all_knowledge(name: str, sandbox: VendorSandbox) -> tuple[list[KnowledgePage], list[Article]]:
    source = knowledge_source(plugin(name))
    assert source is not None

    async def run() -> list[KnowledgePage]:
        context = tenant(TOOLS[name], sandbox)
        pages: list[KnowledgePage] = []
        cursor: str | None = None
        while True:
            page = await source.knowledge_page(context, cursor=cursor)
            pages.append(page)
            cursor = page.next_cursor
            if cursor is None or len(pages) > 50:
                return pages

    pages = asyncio.run(run())
    return pages, [a for p in pages for a in p.articles]


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_history_pages_through_every_resolved_ticket(name: str, sandbox: VendorSandbox) -> None:
    tool = TOOLS[name]
    pages, tickets = all_history(name, sandbox)
    expected = [c for c in cases() if not c.malformed]
    assert len(pages) > 1  # more than one page at the page size the plugin asks for
    assert sum(p.skipped for p in pages) == sum(c.malformed for c in cases())
    assert len(tickets) == len(expected)
    assert len({t.ticket_id for t in tickets}) == len(tickets)  # each once
    by_subject_resolution = {(c.subject, c.resolution) for c in expected}
    for ticket in tickets:
        assert ticket.status == "resolved"
        assert (ticket.subject, ticket.resolution) in by_subject_resolution
        assert NOTE_FOOTER_PREFIX not in ticket.resolution
        assert ticket.resolution != THANKS
        assert ticket.scope in tool.scopes
        assert ticket.group
        assert ticket.priority
        assert not tool.category_known or ticket.category
        assert ticket.url.startswith(f"{tool.host}/_sandbox/{name}/")
        assert ticket.created.endswith("Z")
        assert ticket.resolved.endswith("Z")
        assert ticket.created <= ticket.resolved
        assert ticket.text
    assert {t.scope for t in tickets} == set(tool.scopes)  # several scopes
    assert len(SCOPES) == len(tool.scopes)


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_our_notes_and_requester_replies_are_never_resolutions(name: str, sandbox: VendorSandbox) -> None:
    _, tickets = all_history(name, sandbox)
    resolution_of = {c.subject + c.resolution: c for c in cases()}
    noted = [t for t in tickets if resolution_of[t.subject + t.resolution].our_note_last]
    thanked = [t for t in tickets if resolution_of[t.subject + t.resolution].requester_last]
    assert noted
    assert thanked
    for ticket in noted + thanked:
        assert ticket.resolution == resolution_of[ticket.subject + ticket.resolution].resolution


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_knowledge_pages_through_published_articles_as_text(name: str, sandbox: VendorSandbox) -> None:
    pages, found = all_knowledge(name, sandbox)
    published = [a for a in articles() if a.published and not a.malformed]
    assert len(pages) > 1
    assert sum(p.skipped for p in pages) == sum(a.malformed and a.published for a in articles())
    assert sorted(a.title for a in found) == sorted(a.title for a in published)
    for article in found:
        assert "<" not in article.body.replace("<b>", "")  # only the decoded text "<b>" survives
        assert "alert(" not in article.body
        assert "color:red" not in article.body
        assert "&amp;" not in article.body
        assert article.url.startswith(TOOLS[name].host)
        assert article.body


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("name", sorted(TOOLS))
def test_refusals_name_the_missing_permission(name: str, status: int, sandbox: VendorSandbox) -> None:
    tool = TOOLS[name]
    source, knowledge = history_source(plugin(name)), knowledge_source(plugin(name))
    assert source is not None
    assert knowledge is not None
    context = tenant(tool, sandbox)
    sandbox.fail_next(name, status)
    with pytest.raises(SourcePermissionError) as refused:
        asyncio.run(source.history_page(context, since=SINCE, cursor=None))
    assert refused.value.status == status
    assert tool.history_permission in str(refused.value)
    assert ("valid credentials" in str(refused.value)) is (status == 401)  # 401: the token itself
    sandbox.fail_next(name, status)
    with pytest.raises(SourcePermissionError) as refused:
        asyncio.run(knowledge.knowledge_page(tenant(tool, sandbox), cursor=None))
    assert tool.knowledge_permission in str(refused.value)


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_rate_limits_and_outages_are_retryable_and_resume(name: str, sandbox: VendorSandbox) -> None:
    source = history_source(plugin(name))
    assert source is not None
    sandbox.fail_next(name, 429, count=2, retry_after=3600)  # longer than a call may wait
    with pytest.raises(VendorRateLimitedError) as limited:
        asyncio.run(source.history_page(tenant(TOOLS[name], sandbox), since=SINCE, cursor=None))
    assert limited.value.retryable
    assert limited.value.retry_after == 3600
    sandbox.reset()
    sandbox.fail_next(name, 502, count=5)
    with pytest.raises(VendorUnavailableError):
        asyncio.run(source.history_page(tenant(TOOLS[name], sandbox), since=SINCE, cursor=None))
    sandbox.reset()
    sandbox.fail_next(name, 503, count=1)  # one outage: the call's own retry gets through
    page = asyncio.run(source.history_page(tenant(TOOLS[name], sandbox), since=SINCE, cursor=None))
    assert page.tickets


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_the_fetched_ticket_carries_the_same_scope_key(name: str, sandbox: VendorSandbox) -> None:
    found = plugin(name)
    ticket = asyncio.run(found.get_ticket(tenant(TOOLS[name], sandbox), seed_ticket_id(name)))
    _, history = all_history(name, sandbox)
    assert ticket.scope in {t.scope for t in history}
    assert ticket.group
    assert ticket.category or not TOOLS[name].category_known


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_a_foreign_cursor_is_refused_before_any_call(name: str, sandbox: VendorSandbox) -> None:
    source, knowledge = history_source(plugin(name)), knowledge_source(plugin(name))
    assert source is not None
    assert knowledge is not None
    with pytest.raises(ValueError, match="cursor"):
        asyncio.run(source.history_page(tenant(TOOLS[name], sandbox), since=SINCE, cursor="not a cursor"))
    with pytest.raises(ValueError, match="cursor"):
        asyncio.run(knowledge.knowledge_page(tenant(TOOLS[name], sandbox), cursor="[1]"))
    assert sandbox.snapshot()["requests"] == []


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_history_starts_at_since(name: str, sandbox: VendorSandbox) -> None:
    source = history_source(plugin(name))
    assert source is not None
    recent = max(c.resolved for c in cases()) - timedelta(days=20)

    async def run() -> list[IndexedTicket]:
        context = tenant(TOOLS[name], sandbox)
        found: list[IndexedTicket] = []
        cursor: str | None = None
        while True:
            page = await source.history_page(context, since=recent, cursor=cursor)
            found += page.tickets
            if (cursor := page.next_cursor) is None:
                return found

    found = asyncio.run(run())
    # A day's margin: some tools filter by date, not time.
    expected = {c.subject for c in cases() if c.resolved >= recent - timedelta(days=1) and not c.malformed}
    assert found
    assert {t.subject for t in found} <= expected
    assert len(found) < len(cases()) // 2


def test_jira_without_a_knowledge_space_imports_no_knowledge(sandbox: VendorSandbox) -> None:
    context = tenant(Tool("jira", "https://acme.atlassian.net", (), "", ""), sandbox)
    page = asyncio.run(plugin("jira").knowledge_page(context, cursor=None))
    assert page == KnowledgePage()
    assert sandbox.snapshot()["requests"] == []


@pytest.mark.parametrize(
    ("status", "body"), [(404, b'{"error": "RecordNotFound"}'), (200, b"<html>oops</html>")]
)
def test_a_detail_call_for_a_vanished_or_garbled_record_gives_none(status: int, body: bytes) -> None:
    """Comments, conversations, articles or a resolution: gone or unreadable means skip, not fail."""
    from ticket_enhancer.plugins.requests import VendorRequest
    from ticket_enhancer.plugins.sourcing import fetch_detail

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body)

    config = TenantConfig(
        tenant_id="acme", tool_type="zendesk", base_url="https://acme.zendesk.com", secret_id="s"
    )
    context = TenantContext(
        config=config,
        secret=TenantSecret.model_validate({"api_user": "a@acme.example", "api_token": "t"}),
        http=httpx.AsyncClient(transport=httpx.MockTransport(answer)),
    )
    request = VendorRequest("GET", "/api/v2/tickets/1/comments", idempotent=True)
    found = asyncio.run(fetch_detail(plugin("zendesk"), context, request, endpoint="e", permission="p"))
    assert found is None


def test_knowledge_space_is_a_jira_option_only() -> None:
    from ticket_enhancer_dev.cli.errors import CliError
    from ticket_enhancer_dev.cli.tools import check_tool_options

    check_tool_options("jira", {"knowledge_space": "KB"})
    with pytest.raises(CliError, match="knowledge_space"):
        check_tool_options("zendesk", {"knowledge_space": "KB"})


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_calls_per_page_are_what_the_plugin_declares(name: str, sandbox: VendorSandbox) -> None:
    """One listing call a page, plus ``history_calls_per_100 - 1`` per 100 tickets (Jira: one more
    only for an issue whose inline comments were cut short)."""
    pages, tickets = all_history(name, sandbox)
    found = plugin(name)
    calls = len(sandbox.state.requests)
    per_ticket = (found.history_calls_per_100 - 1) / 100
    truncated = sum(c.n % 23 == 1 and not c.malformed for c in cases()) if name == "jira" else 0
    assert calls == len(pages) + per_ticket * len(tickets) + truncated
    assert max(len(p.tickets) + p.skipped for p in pages) <= found.history_page_size


def test_a_refused_zoho_token_refresh_says_so(sandbox: VendorSandbox) -> None:
    """ServiceDesk Plus Cloud: the sync's first call needs a Zoho access token; a refused refresh
    stops the source naming the credentials, not a missing permission."""
    cloud = Tool(
        "servicedesk_plus",
        "https://sdpondemand.manageengine.com/app/itdesk",
        SCOPES,
        "",
        "",
        secret={"zoho_client_id": "id", "zoho_client_secret": "s", "zoho_refresh_token": "r"},
    )
    source = history_source(plugin("servicedesk_plus"))
    assert source is not None
    with pytest.raises(SourcePermissionError) as refused:
        asyncio.run(source.history_page(tenant(cloud, sandbox), since=SINCE, cursor=None))
    assert "working OAuth credentials" in str(refused.value)
    assert "View requests" in str(refused.value)
    assert sandbox.state.requests == []  # nothing reached the portal
