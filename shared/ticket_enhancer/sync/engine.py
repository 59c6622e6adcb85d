"""The sync: a tenant's resolved tickets and knowledge articles, page by page, resumable.

For each source (``history``, ``knowledge``) the engine fetches a page from the plugin
(``capabilities.HistorySource`` / ``KnowledgeSource``), stores its records (``store.RecordStore``:
keyed by id, so a page fetched again overwrites), and only then writes the checkpoint with the
next cursor (``checkpoint``). Killed at any point, the next run resumes from the last checkpoint:
at most the one page in flight is fetched again and nothing is lost or stored twice.

Time: it runs under a ``deadline.Deadline`` (the Lambda's remaining time less a margin). No page
starts unless ``page_reserve`` seconds (at least 1.5x the slowest page so far) remain; a call cut
off by the deadline leaves the checkpoint where it was. ``run`` then returns with the source still
``running``, and the next invocation continues.

Vendor trouble: a rate limit (429, or 503 with Retry-After, after the waits one call allows) sets
``resume_at`` to the vendor's Retry-After (60 s if none) and status ``waiting``: the engine sleeps
when the deadline affords it, else returns and a later invocation resumes after that time. 5xx and
transport failures back off the same way (60 s doubling, at most 1 h) and fail the source after
``MAX_ERRORS`` in a row. A page cut off by the deadline ``MAX_CUTS`` times in a row (it needs more
time than an invocation has, at the tenant's request rate) fails the source saying so. 401/403
(``SourcePermissionError``, or any ``VendorAuthError``) stop that source only, as ``denied`` with
the permission and endpoint named; the other source goes on. Malformed records are skipped and
counted (the plugin's ``skipped`` and the store's).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from ticket_enhancer import deadline as deadlines
from ticket_enhancer.plugins.capabilities import (
    HistoryPage,
    KnowledgePage,
    SourcePermissionError,
    history_source,
    knowledge_source,
)
from ticket_enhancer.plugins.errors import (
    VendorAuthError,
    VendorError,
    VendorRateLimitedError,
)
from ticket_enhancer.retention import INDEX
from ticket_enhancer.sync.checkpoint import Checkpoint, CheckpointStore, LeaseHeldError

if TYPE_CHECKING:
    from ticket_enhancer.deadline import Deadline
    from ticket_enhancer.plugins.context import TenantContext
    from ticket_enhancer.sync.store import RecordStore, Stored

logger = logging.getLogger(__name__)

DEFAULT_HISTORY_DAYS = 180
MAX_HISTORY_DAYS = 3650
OVERLAP = timedelta(days=1)  # an incremental run re-reads the day before the last one started
DEFAULT_WAIT_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 3600.0
MAX_ERRORS = 8
PAGE_RESERVE_SECONDS = 10.0
FRESH_SHARE = 0.9  # an invocation with this share of its time left is "fresh"
MAX_CUTS = 3  # the same page cut off by the deadline this many times in a row fails the source
TOO_SLOW = (
    "a page takes longer than one invocation at this request rate: "
    "raise sync_api_share or sync_api_limit, then sync again"
)

Sleep = Callable[[float], Awaitable[None]]


class IndexBuilder(Protocol):
    """Builds the tenant's retrieval index from its stored records after an import."""

    def build(self, tenant_id: str) -> None: ...


class NoIndex:
    """No separate index: the worker reads the stored records (the ContextTable) directly."""

    def build(self, tenant_id: str) -> None:
        return None


@dataclass(frozen=True)
class SyncRequest:
    tenant_id: str
    history_days: int = DEFAULT_HISTORY_DAYS
    history: bool = True
    knowledge: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.history_days <= MAX_HISTORY_DAYS:
            raise ValueError(f"history days must be from 1 to {MAX_HISTORY_DAYS}")

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(s for s, on in (("history", self.history), ("knowledge", self.knowledge)) if on)


@dataclass
class SyncOutcome:
    checkpoints: dict[str, Checkpoint] = field(default_factory=dict)
    index: str = "not built"  # "built", "failed", "not built"

    @property
    def finished(self) -> bool:
        return not any(cp.unfinished for cp in self.checkpoints.values())


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


class SyncEngine:
    def __init__(
        self,
        plugin: object,
        checkpoints: CheckpointStore,
        records: RecordStore,
        *,
        index: IndexBuilder | None = None,
        owner: str | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        page_reserve: float = PAGE_RESERVE_SECONDS,
        index_retention_days: int = INDEX.default,
    ) -> None:
        self.plugin = plugin
        self.checkpoints = checkpoints
        self.records = records
        self.index = index or NoIndex()
        self.owner = owner or uuid.uuid4().hex
        self._sleep, self._monotonic = sleep, monotonic
        self.page_reserve = page_reserve
        self.index_retention_days = index_retention_days
        self._slowest = 0.0
        self._budget = 0.0  # the time the run started with

    async def run(self, tenant: TenantContext, request: SyncRequest, deadline: Deadline) -> SyncOutcome:
        """Sync the requested sources until done or out of time; then build the index if done."""
        outcome = SyncOutcome()
        changed = False
        self._budget = deadline.remaining()
        token = deadlines.CURRENT.set(deadline)
        try:
            for source in request.sources:
                before = await asyncio.to_thread(self.checkpoints.get, request.tenant_id, source)
                checkpoint = await self._source(tenant, request, source, before, deadline)
                outcome.checkpoints[source] = checkpoint
                changed |= checkpoint.imported != before.imported or checkpoint.run_id != before.run_id
        finally:
            deadlines.CURRENT.reset(token)
        if outcome.finished and changed:
            try:
                await asyncio.to_thread(self.index.build, request.tenant_id)
                outcome.index = "built"
            except Exception:  # the records are stored; the next sync builds it again
                logger.exception("index build failed", extra={"tenant_id": request.tenant_id})
                outcome.index = "failed"
        return outcome

    # -- one source -------------------------------------------------------------------------------
    def _start(self, request: SyncRequest, source: str, previous: Checkpoint) -> Checkpoint:
        now = self.checkpoints.now()
        since = ""
        if source == "history":
            floor = datetime.fromtimestamp(now, UTC) - timedelta(days=request.history_days)
            start = floor
            if previous.watermark:
                try:
                    start = max(floor, datetime.fromisoformat(previous.watermark) - OVERLAP)
                except ValueError:
                    start = floor
            since = start.isoformat(timespec="seconds")
        return Checkpoint(
            request.tenant_id,
            source,
            status="running",
            since=since,
            watermark=previous.watermark,
            run_id=uuid.uuid4().hex,
            started=now,
        )

    async def _source(
        self,
        tenant: TenantContext,
        request: SyncRequest,
        source: str,
        checkpoint: Checkpoint,
        deadline: Deadline,
    ) -> Checkpoint:
        capable = history_source(self.plugin) if source == "history" else knowledge_source(self.plugin)
        if capable is None:
            done = replace(checkpoint, status="unsupported", cursor=None)
            await asyncio.to_thread(self.checkpoints.claim, done, self.owner)
            return await asyncio.to_thread(self.checkpoints.save, done, self.owner, release=True)
        if not checkpoint.unfinished:
            checkpoint = self._start(request, source, checkpoint)
        try:
            await asyncio.to_thread(self.checkpoints.claim, checkpoint, self.owner)
        except LeaseHeldError:
            logger.info("source busy in another invocation", extra={"source": source})
            return checkpoint
        checkpoint = await asyncio.to_thread(self.checkpoints.save, checkpoint, self.owner)
        while checkpoint.unfinished:
            wait = checkpoint.resume_at - self.checkpoints.now()
            if wait > 0:
                if wait > deadline.remaining() - self.page_reserve:
                    break  # a later invocation resumes after resume_at
                await self._sleep(wait)
            if not self._time_for_a_page(checkpoint, deadline):
                break
            checkpoint = await self._page(tenant, source, checkpoint, deadline)
            checkpoint = await asyncio.to_thread(
                self.checkpoints.save, checkpoint, self.owner, release=not checkpoint.unfinished
            )
        if checkpoint.unfinished:  # out of time or waiting: free the lease for the next invocation
            checkpoint = await asyncio.to_thread(self.checkpoints.save, checkpoint, self.owner, release=True)
        return checkpoint

    def _time_for_a_page(self, checkpoint: Checkpoint, deadline: Deadline) -> bool:
        """Whether a page fits: 1.5x the slowest page of this source so far (kept in the checkpoint,
        so a new invocation knows), at least ``page_reserve``. A page longer than that is still tried
        at the start of an invocation, which is the most time it will ever get."""
        slowest = max(self._slowest, float(checkpoint.extra.get("page_s", "0")))
        left = deadline.remaining()
        if left >= max(self.page_reserve, 1.5 * slowest):
            return True
        return left >= self.page_reserve and left >= FRESH_SHARE * self._budget

    async def _fetch(
        self, tenant: TenantContext, source: str, checkpoint: Checkpoint
    ) -> HistoryPage | KnowledgePage:
        if source == "history":
            history = history_source(self.plugin)
            if history is None:  # checked by the caller
                raise RuntimeError("no history source")
            since = datetime.fromisoformat(checkpoint.since)
            return await history.history_page(tenant, since=since, cursor=checkpoint.cursor)
        knowledge = knowledge_source(self.plugin)
        if knowledge is None:
            raise RuntimeError("no knowledge source")
        return await knowledge.knowledge_page(tenant, cursor=checkpoint.cursor)

    async def _page(
        self, tenant: TenantContext, source: str, checkpoint: Checkpoint, deadline: Deadline
    ) -> Checkpoint:
        """One page fetched and stored: the checkpoint to write next."""
        started = self._monotonic()
        try:
            async with asyncio.timeout(deadline.remaining()):
                page = await self._fetch(tenant, source, checkpoint)
        except (SourcePermissionError, TimeoutError, VendorError) as exc:
            self._slowest = max(self._slowest, self._monotonic() - started)
            return self._after_error(checkpoint, exc, deadline)
        took = self._monotonic() - started
        self._slowest = max(self._slowest, took)
        page_s = max(took, float(checkpoint.extra.get("page_s", "0")))
        stored = await asyncio.to_thread(self._store, tenant.tenant_id, source, page)
        done = page.next_cursor is None
        now = self.checkpoints.now()
        return replace(
            checkpoint,
            status="done" if done else "running",
            cursor=page.next_cursor,
            imported=checkpoint.imported + stored.written,
            skipped=checkpoint.skipped + page.skipped + stored.skipped,
            expired=checkpoint.expired + stored.expired,
            pages=checkpoint.pages + 1,
            errors=0,
            extra={"page_s": f"{page_s:.1f}"},
            error="",
            resume_at=0.0,
            finished=now if done else 0.0,
            watermark=_iso(checkpoint.started) if done and source == "history" else checkpoint.watermark,
        )

    def _after_error(self, checkpoint: Checkpoint, exc: Exception, deadline: Deadline) -> Checkpoint:
        """The checkpoint after a page that did not arrive."""
        if isinstance(exc, SourcePermissionError):
            return replace(checkpoint, status="denied", permission=exc.permission, endpoint=exc.endpoint)
        if isinstance(exc, VendorAuthError):
            permission = f"read access (HTTP {exc.status})"
            return replace(checkpoint, status="denied", permission=permission, endpoint=exc.operation)
        if deadline.remaining() <= 1.0:  # cut off by our own deadline: not the vendor's fault
            return self._cut(checkpoint)
        if isinstance(exc, VendorRateLimitedError):
            wait = DEFAULT_WAIT_SECONDS if exc.retry_after is None else exc.retry_after
            return replace(checkpoint, status="waiting", resume_at=self.checkpoints.now() + wait, error="")
        if isinstance(exc, VendorError) and not exc.retryable:
            return replace(checkpoint, status="failed", error=str(exc)[:300])
        return self._backoff(checkpoint, f"{type(exc).__name__}: {exc}"[:300])

    @staticmethod
    def _cut(checkpoint: Checkpoint) -> Checkpoint:
        cuts = int(checkpoint.extra.get("cuts", "0")) + 1
        if cuts >= MAX_CUTS:  # this page never fits in an invocation: say so, do not loop
            return replace(checkpoint, status="failed", error=TOO_SLOW, extra={})
        return replace(checkpoint, extra={**checkpoint.extra, "cuts": str(cuts)})

    def _backoff(self, checkpoint: Checkpoint, error: str) -> Checkpoint:
        errors = checkpoint.errors + 1
        if errors >= MAX_ERRORS:
            return replace(checkpoint, status="failed", errors=errors, error=error)
        wait = min(MAX_BACKOFF_SECONDS, DEFAULT_WAIT_SECONDS * 2 ** (errors - 1))
        return replace(
            checkpoint, status="waiting", errors=errors, error=error, resume_at=self.checkpoints.now() + wait
        )

    def _store(self, tenant_id: str, source: str, page: HistoryPage | KnowledgePage) -> Stored:
        if isinstance(page, HistoryPage):
            return self.records.put_tickets(
                tenant_id, list(page.tickets), retention_days=self.index_retention_days
            )
        return self.records.put_articles(tenant_id, list(page.articles))
