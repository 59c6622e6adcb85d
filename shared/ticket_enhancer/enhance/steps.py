"""The default pipeline steps: ticket context, similar tickets, knowledge, network assets, synthesis.

Each step has a ``name``, the names it ``requires`` and ``async run(ctx)``, which stores its result
in ``ctx.results[name]``. DynamoDB reads (sync boto3) run in a thread. Every query is keyed by the
ticket's tenant, so a step only ever sees that tenant's data.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.context import EnhancementContext, TicketText
from ticket_enhancer.enhance.network import extract_indicators, match_assets
from ticket_enhancer.enhance.prompt import build_prompt
from ticket_enhancer.enhance.retrieval import find_articles, find_similar, scope_for
from ticket_enhancer.enhance.store import RECENT_LIMIT
from ticket_enhancer.enhance.synthesis import (
    DEFAULT_TIMEOUT,
    choose_provider,
    default_bedrock_client,
    synthesize_note,
)

if TYPE_CHECKING:
    from ticket_enhancer.enhance.index_store import IndexStore
    from ticket_enhancer.enhance.records import Article, IndexedTicket
    from ticket_enhancer.enhance.store import ContextStore
    from ticket_enhancer.urls import Resolver

__all__ = [
    "CachedFactory",
    "KnowledgeStep",
    "NetworkAssetsStep",
    "SimilarTicketsStep",
    "SynthesisStep",
    "TicketContextStep",
]

TOP_K = 3


class TicketContextStep:
    """The ticket's searchable text, which the search steps rank against."""

    name = "ticket_context"
    requires: tuple[str, ...] = ()

    async def run(self, ctx: EnhancementContext) -> None:
        ctx.results[self.name] = TicketText.from_ticket(ctx.ticket)


class SimilarTicketsStep:
    """Similar tickets of the ticket's scope (not this one): the best :data:`TOP_K`.

    From the tenant's index (when the sync built one) fused with the newest processed tickets
    (:mod:`ticket_enhancer.enhance.retrieval`): a pointer ``GetItem`` (cached a few seconds), a
    ``GetObject`` only when the index changed, one ``Query`` and one ``BatchGetItem``, whatever the
    tenant's size.
    """

    name = "similar_tickets"
    requires: tuple[str, ...] = ("ticket_context",)

    def __init__(
        self,
        store: ContextStore,
        *,
        index: IndexStore | None = None,
        top_k: int = TOP_K,
        recent: int = RECENT_LIMIT,
    ) -> None:
        self._store, self._index, self._top_k, self._recent = store, index, top_k, recent

    def _lookup(self, ctx: EnhancementContext) -> tuple[IndexedTicket, ...]:
        tenant_id = ctx.tenant.tenant_id
        index = self._index.load(tenant_id) if self._index is not None else None
        return find_similar(
            ctx.ticket_text,
            ticket_id=ctx.ticket.ticket_id,
            scope=scope_for(ctx.tenant.config.options, ctx.ticket.scope),
            index=index,
            recent=self._store.recent_tickets(tenant_id, self._recent),
            k=self._top_k,
        )

    async def run(self, ctx: EnhancementContext) -> None:
        ctx.results[self.name] = await asyncio.to_thread(self._lookup, ctx)


class KnowledgeStep:
    """Knowledge articles, each with the passage that matched: the best :data:`TOP_K`.

    From the tenant's index when it holds articles (the pointer read is shared with
    :class:`SimilarTicketsStep`), else the CLI-loaded articles (cached by the store).
    """

    name = "knowledge"
    requires: tuple[str, ...] = ("ticket_context",)

    def __init__(
        self, store: ContextStore, *, index: IndexStore | None = None, top_k: int = TOP_K, limit: int = 500
    ) -> None:
        self._store, self._index, self._top_k, self._limit = store, index, top_k, limit

    def _lookup(self, ctx: EnhancementContext) -> tuple[Article, ...]:
        tenant_id = ctx.tenant.tenant_id
        index = self._index.load(tenant_id) if self._index is not None else None
        loaded = (
            []
            if index is not None and index.article_count
            else self._store.list_articles(tenant_id, self._limit)
        )
        return find_articles(ctx.ticket_text, index=index, loaded=loaded, k=self._top_k)

    async def run(self, ctx: EnhancementContext) -> None:
        ctx.results[self.name] = await asyncio.to_thread(self._lookup, ctx)


class NetworkAssetsStep:
    """Addresses and host names in the ticket matched against the tenant's inventory."""

    name = "network_assets"
    requires: tuple[str, ...] = ("ticket_context",)

    def __init__(self, store: ContextStore, *, limit: int = 2000) -> None:
        self._store, self._limit = store, limit

    async def run(self, ctx: EnhancementContext) -> None:
        indicators = extract_indicators(f"{ctx.ticket.subject}\n{ctx.ticket.description}")
        if not (indicators.addresses or indicators.hosts):
            ctx.results[self.name] = ()
            return  # nothing to look up: skip the read
        assets = await asyncio.to_thread(self._store.list_assets, ctx.tenant.tenant_id, self._limit)
        ctx.results[self.name] = tuple(match_assets(indicators, assets))


class CachedFactory:
    """Calls ``factory`` once, on first use, and returns that object ever after (thread-safe)."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._value: Any = None

    def __call__(self) -> Any:
        with self._lock:
            if self._value is None:
                self._value = self._factory()
            return self._value


class SynthesisStep:
    """The note: the tenant's provider, or the offline note when it fails or times out.

    It runs even when the steps it requires were unavailable (it writes from whatever was found),
    and its own step timeout leaves room for the fallback after the model's time limit.
    """

    name = "synthesis"
    requires: tuple[str, ...] = ("ticket_context", "similar_tickets", "knowledge", "network_assets")
    always_run = True

    def __init__(
        self,
        *,
        bedrock_client_factory: Callable[[], Any] | None = None,
        model_timeout: float = DEFAULT_TIMEOUT,
        resolve: Resolver | None = None,
        local: bool = False,
    ) -> None:
        self._local = local
        self._factory = CachedFactory(bedrock_client_factory or default_bedrock_client)  # one per container
        self._resolve = resolve
        self._model_timeout = model_timeout
        self.timeout = model_timeout + 5.0

    async def run(self, ctx: EnhancementContext) -> None:
        prompt = build_prompt(ctx.gathered())
        provider = choose_provider(
            ctx.tenant,
            bedrock_client_factory=self._factory,
            timeout=self._model_timeout,
            local=self._local,
            resolve=self._resolve,
        )
        result = await synthesize_note(provider, prompt, seconds=self._model_timeout)
        if result.fallback_from is not None:
            ctx.mark_unavailable(self.name, result.fallback_reason or "error")
        ctx.results[self.name] = result
