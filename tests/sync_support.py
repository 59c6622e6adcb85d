"""A fake history/knowledge source (an in-memory plugin) and a moto ContextTable for sync tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.models import TenantConfig, TenantSecret
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
from ticket_enhancer.plugins.context import TenantContext

Fault = Callable[[str, str | None], None]  # (source, cursor) -> raises, or returns to go on


def history_ticket(number: int, *, scope: str = "OPS") -> IndexedTicket:
    return IndexedTicket(
        ticket_id=str(10_000 + number),
        display_key=f"OPS-{number}",
        subject=f"VPN drops on host vpn-{number}",
        text=f"User reports the VPN tunnel to vpn-{number} drops every hour.",
        url=f"https://acme.example/browse/OPS-{number}",
        created="2026-10-01T08:00:00+00:00",
        resolution=f"Replaced the expired certificate on vpn-{number}.",
        resolved="2026-10-02T09:00:00+00:00",
        status="resolved",
        category="Network",
        group="Infra",
        priority="High",
        scope=scope,
    )


def article(number: int) -> Article:
    return Article(
        article_id=f"KB{number}",
        title=f"Reset a VPN certificate ({number})",
        body="Open the portal, revoke, issue again.",
        url=f"https://acme.example/kb/{number}",
    )


@dataclass
class FakeSource:
    """Pages of ``page_size`` records; the cursor is the next offset. ``fault`` runs before a page."""

    tickets: list[IndexedTicket]
    articles: list[Article] = field(default_factory=list)
    page_size: int = 10
    fault: Fault | None = None
    skipped_per_page: int = 0
    calls: Counter[tuple[str, str | None]] = field(default_factory=Counter)
    since_seen: list[datetime] = field(default_factory=list)

    def _slice(self, source: str, items: list[object], cursor: str | None) -> tuple[list[object], str | None]:
        if self.fault is not None:
            self.fault(source, cursor)
        self.calls[(source, cursor)] += 1
        start = int(cursor or 0)
        end = start + self.page_size
        return items[start:end], (str(end) if end < len(items) else None)

    async def history_page(
        self, tenant: TenantContext, *, since: datetime, cursor: str | None
    ) -> HistoryPage:
        self.since_seen.append(since)
        page, following = self._slice("history", list(self.tickets), cursor)
        return HistoryPage(tuple(page), following, self.skipped_per_page)  # type: ignore[arg-type]

    async def knowledge_page(self, tenant: TenantContext, *, cursor: str | None) -> KnowledgePage:
        page, following = self._slice("knowledge", list(self.articles), cursor)
        return KnowledgePage(tuple(page), following, self.skipped_per_page)  # type: ignore[arg-type]


class HistoryOnly:
    """A plugin whose tool has no knowledge API."""

    def __init__(self, inner: FakeSource) -> None:
        self.inner = inner

    async def history_page(
        self, tenant: TenantContext, *, since: datetime, cursor: str | None
    ) -> HistoryPage:
        return await self.inner.history_page(tenant, since=since, cursor=cursor)


def tenant_context(tenant_id: str = "acme", tool: str = "jira") -> TenantContext:
    config = TenantConfig(
        tenant_id=tenant_id, tool_type=tool, base_url="https://acme.atlassian.net", secret_id="s"
    )
    return TenantContext(config=config, secret=TenantSecret())


class Clock:
    """Wall and monotonic time that only moves when told (or when the engine sleeps)."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
