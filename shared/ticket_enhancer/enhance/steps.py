"""The default pipeline steps: ticket context, similar tickets, knowledge, network assets, synthesis.

Each step has a ``name``, the names it ``requires`` and ``async run(ctx)``, which stores its result
in ``ctx.results[name]``. DynamoDB reads (sync boto3) run in a thread. Every query is keyed by the
ticket's tenant, so a step only ever sees that tenant's data.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.context import EnhancementContext, TicketText
from ticket_enhancer.enhance.network import extract_indicators, match_assets
from ticket_enhancer.enhance.note import compose_offline_note
from ticket_enhancer.enhance.openai_compat import MAX_TOKENS
from ticket_enhancer.enhance.retrieval import find_articles, find_similar, scope_for
from ticket_enhancer.enhance.store import RECENT_LIMIT
from ticket_enhancer.enhance.synthesis import (
    DEFAULT_TIMEOUT,
    OfflineProvider,
    SynthesisResult,
    choose_provider,
    default_bedrock_client,
    synthesize_note,
)
from ticket_enhancer.enhance.usage import limit_option

if TYPE_CHECKING:
    from ticket_enhancer.enhance.index_store import IndexStore
    from ticket_enhancer.enhance.records import Article, GatheredContext, IndexedTicket
    from ticket_enhancer.enhance.store import ContextStore
    from ticket_enhancer.enhance.usage import UsageStore
    from ticket_enhancer.urls import Resolver

logger = logging.getLogger(__name__)

__all__ = [
    "CachedFactory",
    "IndexedTicketsStep",
    "KnowledgeStep",
    "NetworkAssetsStep",
    "SimilarTicketsStep",
    "SynthesisStep",
    "TicketContextStep",
    "note_language",
    "personal_data_masker",
]

TOP_K = 3
HISTORY_VOTERS = 20  # resolved history tickets read for the triage votes


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
            recent=recent_tickets(ctx, self._store, self._recent),
            k=self._top_k,
        )

    async def run(self, ctx: EnhancementContext) -> None:
        ctx.results[self.name] = await asyncio.to_thread(self._lookup, ctx)


def recent_tickets(ctx: EnhancementContext, store: ContextStore, limit: int) -> list[IndexedTicket]:
    """The newest processed tickets, read once per job whichever step asks first."""
    tenant_id = ctx.tenant.tenant_id
    return ctx.once(f"recent_tickets:{limit}", lambda: store.recent_tickets(tenant_id, limit))


class IndexedTicketsStep:
    """The tenant's tickets the triage and duplicates steps work on, read once per job.

    The newest processed tickets by time (:meth:`ContextStore.recent_tickets`: at most 100, two
    reads), the duplicate and burst candidates; and, when the tenant has a search index, the
    resolved history tickets most similar to this one (:data:`HISTORY_VOTERS`, of its scope), the
    triage votes. Without an index, the processed tickets' own resolved ones (none, usually).
    """

    name = "indexed_tickets"
    requires: tuple[str, ...] = ()

    def __init__(
        self, store: ContextStore, *, index: IndexStore | None = None, recent: int = RECENT_LIMIT
    ) -> None:
        self._store, self._index, self._recent = store, index, recent

    def _read(self, ctx: EnhancementContext) -> tuple[IndexedTicket, ...]:
        tenant_id = ctx.tenant.tenant_id
        found = list(recent_tickets(ctx, self._store, self._recent))
        index = self._index.load(tenant_id) if self._index is not None else None
        if index is not None:
            scope = scope_for(ctx.tenant.config.options, ctx.ticket.scope)
            hits = index.similar_tickets(
                ctx.ticket_text, scope=scope, exclude=ctx.ticket.ticket_id, k=HISTORY_VOTERS
            )
            found += [ticket for ticket, _ in hits]
        unique = {t.ticket_id: t for t in found if t.ticket_id != ctx.ticket.ticket_id}
        return tuple(unique.values())

    async def run(self, ctx: EnhancementContext) -> None:
        ctx.results[self.name] = await asyncio.to_thread(self._read, ctx)


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


# Where the language detection step may leave its result (a code, or an object with ``code``).
LANGUAGE_RESULTS = ("language", "detect_language", "language_detection")


def personal_data_masker() -> Callable[[str], str] | None:
    """``enhance.pii.mask_personal_data`` (imported on first use: workers without a model never load it)."""
    from ticket_enhancer.enhance.pii import mask_personal_data

    return mask_personal_data


def _masked(context: GatheredContext, mask: Callable[[str], str]) -> GatheredContext:
    """``prompt.mask_context`` (the prompt module is the model side's: imported when needed)."""
    from ticket_enhancer.enhance.prompt import mask_context

    return mask_context(context, mask)


def note_language(ctx: EnhancementContext) -> str:
    """The tenant's ``note_language`` code, or with ``auto`` (the default) the ticket's detected one."""
    from ticket_enhancer.enhance.prompt import language_code

    chosen = ctx.tenant.config.options.get("note_language", "auto").strip()
    if chosen.lower() != "auto":
        return language_code(chosen)
    for name in LANGUAGE_RESULTS:
        code = language_code(ctx.results.get(name))
        if code:
            return code
    return ""


class SynthesisStep:
    """The note: the tenant's provider, or the offline note when it fails or times out.

    It runs even when the steps it requires were unavailable (it writes from whatever was found),
    and its own step timeout leaves room for the fallback after the model's time limit.

    With ``pii_redaction`` on (the default for a model provider) every text is masked before the
    prompt is built, and the offline parts are written from the same masked text, so the note never
    shows another requester's data. Without a masker in the build the model is not called. With a
    ``daily_model_token_budget`` the call's estimate is reserved first (``usage.UsageStore``); over
    the budget the note is the offline one.
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
        usage: UsageStore | None = None,
        masker: Callable[[], Callable[[str], str] | None] = personal_data_masker,
        local: bool = False,
        after: tuple[str, ...] = (),
    ) -> None:
        self._local = local
        # `after`: more steps whose results the note uses (language, summary, triage, duplicates).
        self.requires = (*type(self).requires, *after)
        self._factory = CachedFactory(bedrock_client_factory or default_bedrock_client)  # one per container
        self._resolve = resolve
        self._model_timeout = model_timeout
        self._usage = usage
        self._masker = masker
        self.timeout = model_timeout + 5.0

    def _offline(self, ctx: EnhancementContext, provider: str, reason: str, mask: Any) -> None:
        gathered = ctx.gathered() if mask is None else _masked(ctx.gathered(), mask)
        ctx.mark_unavailable(self.name, reason)
        ctx.results[self.name] = SynthesisResult(
            compose_offline_note(gathered), OfflineProvider.name, provider, reason
        )

    async def run(self, ctx: EnhancementContext) -> None:
        options = ctx.tenant.config.options
        provider = choose_provider(
            ctx.tenant,
            bedrock_client_factory=self._factory,
            timeout=self._model_timeout,
            local=self._local,
            resolve=self._resolve,
        )
        model = provider.name != OfflineProvider.name
        redaction = options.get("pii_redaction", "on" if model else "off").strip().lower()
        redact = redaction not in ("off", "false")
        mask = self._masker() if redact else None
        if redact and mask is None and model:
            logger.warning("job %s: personal data masking unavailable: the model is not called", ctx.job_id)
            self._offline(ctx, provider.name, "personal data masking unavailable", None)
            return
        if not model:  # the offline note, from the masked text when redacting: no prompt to build
            gathered = ctx.gathered() if mask is None else _masked(ctx.gathered(), mask)
            ctx.results[self.name] = SynthesisResult(compose_offline_note(gathered), OfflineProvider.name)
            return
        from ticket_enhancer.enhance.prompt import build_prompt

        prompt = build_prompt(
            ctx.gathered(), language=note_language(ctx), site=ctx.tenant.config.base_url, mask=mask
        )
        budget = limit_option(options, "daily_model_token_budget")
        tenant_id = ctx.tenant.tenant_id
        reserved = 0
        if model and budget is not None and self._usage is not None:
            estimate = (len(prompt.system) + len(prompt.user)) // 3 + MAX_TOKENS
            try:
                fits = await asyncio.to_thread(self._usage.reserve_tokens, tenant_id, estimate, budget)
            except Exception as exc:  # the counter never costs a note
                logger.warning("job %s: token budget not checked (%s)", ctx.job_id, type(exc).__name__)
                fits, estimate = True, 0
            if not fits:
                self._offline(ctx, provider.name, "token budget", mask)
                return
            reserved = estimate
        offline = compose_offline_note(prompt.context)  # from the masked text when redacting
        if model:  # the note should this step run out of time: never the unmasked context's
            ctx.results[self.name] = SynthesisResult(offline, OfflineProvider.name, provider.name, "timeout")
        result = await synthesize_note(provider, prompt, seconds=self._model_timeout, offline=offline)
        if reserved and self._usage is not None:
            # What the provider reported; a throttled call used nothing; else the estimate stands.
            used = result.tokens or (0 if result.fallback_reason == "throttled" else reserved)
            try:
                await asyncio.to_thread(self._usage.settle_tokens, tenant_id, reserved, used)
            except Exception as exc:  # the reservation stands
                logger.warning("job %s: token use not settled (%s)", ctx.job_id, type(exc).__name__)
        if result.fallback_from is not None:
            ctx.mark_unavailable(self.name, result.fallback_reason or "error")
        ctx.results[self.name] = result
