"""The enhancement pipeline: ordered steps, run level by level, failures isolated.

Steps are ordered once (``resolve_order``) and grouped into levels: a step's level is one more than
the deepest step it requires, and the steps of one level run concurrently. A step that raises or
exceeds its time limit is recorded in ``ctx.unavailable`` and the run goes on; steps that require it
are skipped, except those with ``always_run`` (synthesis). ``enhance`` always returns a note.

A step's time limit is also bounded by the record's deadline (``ticket_enhancer.deadline``) less
``POST_RESERVE_SECONDS``, the time the note still needs to be posted: a model step cut off that way
is ``timeout`` like any other, and the offline parts still make the note.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ticket_enhancer import deadline
from ticket_enhancer.enhance.context import EnhancementContext
from ticket_enhancer.enhance.insights import duplicate_line
from ticket_enhancer.enhance.note import compose_offline_note, unavailable_line
from ticket_enhancer.enhance.synthesis import OfflineProvider, SynthesisResult
from ticket_enhancer.models import NOTE_FOOTER_PREFIX
from ticket_enhancer.plugins.dependencies import resolve_order

if TYPE_CHECKING:
    from ticket_enhancer.enhance.index_store import IndexStore
    from ticket_enhancer.enhance.store import ContextStore
    from ticket_enhancer.enhance.usage import UsageStore
    from ticket_enhancer.models import Ticket
    from ticket_enhancer.plugins.context import TenantContext
    from ticket_enhancer.urls import Resolver

__all__ = ["Enhancement", "EnhancementContext", "Pipeline", "PipelineStep", "build_default_pipeline"]

logger = logging.getLogger(__name__)

SYNTHESIS = "synthesis"
# Kept from the record's deadline for posting the note (one vendor call: RetryPolicy.timeout).
POST_RESERVE_SECONDS = 10.0


class PipelineStep(Protocol):
    """A step; it may also set ``timeout`` (seconds) and ``always_run`` (run despite failed needs)."""

    @property
    def name(self) -> str: ...

    @property
    def requires(self) -> Sequence[str]: ...

    async def run(self, ctx: EnhancementContext) -> None: ...


@dataclass
class Enhancement:
    """The note for one ticket and how it was made."""

    markdown: str
    unavailable: list[str] = field(default_factory=list)
    stage_ms: dict[str, float] = field(default_factory=dict)
    provider: str = OfflineProvider.name
    fallback_from: str | None = None  # the provider that failed when ``provider`` is the fallback
    fallback_reason: str | None = None  # why: "timeout", "throttled", "injection suspected", ...
    reasons: dict[str, str] = field(default_factory=dict)  # unavailable step -> why


class Pipeline:
    def __init__(self, steps: Sequence[PipelineStep], *, step_timeout: float = 8.0) -> None:
        self.steps: list[PipelineStep] = resolve_order(list(steps))
        self.step_timeout = step_timeout
        depth: dict[str, int] = {}
        for step in self.steps:
            depth[step.name] = 1 + max((depth[r] for r in step.requires), default=-1)
        self.levels: list[list[PipelineStep]] = [
            [s for s in self.steps if depth[s.name] == level]
            for level in range(max(depth.values(), default=-1) + 1)
        ]

    @property
    def names(self) -> list[str]:
        return [step.name for step in self.steps]

    def _timeout(self, step: PipelineStep) -> float:
        value = getattr(step, "timeout", None)
        limit = float(value) if isinstance(value, int | float) and value > 0 else self.step_timeout
        return max(0.0, deadline.remaining(limit + POST_RESERVE_SECONDS) - POST_RESERVE_SECONDS)

    async def _run_step(self, step: PipelineStep, ctx: EnhancementContext) -> None:
        missing = [r for r in step.requires if r in ctx.reasons]
        if missing and getattr(step, "always_run", False) is not True:
            ctx.mark_unavailable(step.name, f"needs {missing[0].replace('_', ' ')}")
            return
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout(step)):
                await step.run(ctx)
        except TimeoutError:
            ctx.mark_unavailable(step.name, "timeout")
            logger.warning("job %s: step %s timed out", ctx.job_id, step.name)
        except Exception as exc:  # one step's failure must not cost the note
            ctx.mark_unavailable(step.name, "error")
            logger.warning("job %s: step %s failed (%s)", ctx.job_id, step.name, type(exc).__name__)
        finally:
            ctx.stage_ms[step.name] = round((time.perf_counter() - started) * 1000, 3)

    async def run(self, ctx: EnhancementContext) -> EnhancementContext:
        """Run every step; never raises for a step's failure or timeout."""
        for level in self.levels:
            await asyncio.gather(*(self._run_step(step, ctx) for step in level))
        return ctx

    async def enhance(self, tenant: TenantContext, ticket: Ticket, job_id: str) -> Enhancement:
        """The note for ``ticket``: from the synthesis step, or the offline note without one."""
        started = time.perf_counter()
        ctx = await self.run(EnhancementContext(tenant=tenant, ticket=ticket, job_id=job_id))
        result = ctx.results.get(SYNTHESIS)
        if not isinstance(result, SynthesisResult):
            if SYNTHESIS not in ctx.reasons and SYNTHESIS in self.names:
                ctx.mark_unavailable(SYNTHESIS, "error")
            result = SynthesisResult(compose_offline_note(ctx.gathered()), OfflineProvider.name)
        markdown = result.markdown
        lead = duplicate_line(ctx.gathered().duplicates)
        if lead and not markdown.startswith(lead):  # a model's note starts with it too, once:
            # the offline part after the model's leads with it as well, so it moves to the top.
            block = lead + "\n\n"
            markdown = block + markdown.replace(block, "", 1)
        line = unavailable_line(ctx.reasons, self.names)
        if line:
            markdown = f"{markdown}\n\n{line}"
        # Only our own footer may carry the job marker that makes posting idempotent.
        markdown = markdown.replace(NOTE_FOOTER_PREFIX, NOTE_FOOTER_PREFIX.replace("·", "-"))
        ctx.stage_ms["pipeline"] = round((time.perf_counter() - started) * 1000, 3)
        return Enhancement(
            markdown=markdown,
            unavailable=list(ctx.unavailable),
            stage_ms=dict(ctx.stage_ms),
            provider=result.provider,
            fallback_from=result.fallback_from,
            fallback_reason=result.fallback_reason,
            reasons=dict(ctx.reasons),
        )


def build_default_pipeline(
    store: ContextStore,
    *,
    index: IndexStore | None = None,
    bedrock_client_factory: Callable[[], Any] | None = None,
    step_timeout: float = 8.0,
    model_timeout: float = 20.0,
    resolve: Resolver | None = None,
    usage: UsageStore | None = None,
    local: bool = False,
) -> Pipeline:
    """(ticket_context, language, indexed_tickets) -> (similar_tickets, knowledge, network_assets,
    triage, duplicates) -> summary -> synthesis (``local``: the local stack's policy,
    ``Settings.local``)."""
    from ticket_enhancer.enhance.duplicates import DuplicatesStep
    from ticket_enhancer.enhance.language import LanguageStep
    from ticket_enhancer.enhance.steps import (
        IndexedTicketsStep,
        KnowledgeStep,
        NetworkAssetsStep,
        SimilarTicketsStep,
        SynthesisStep,
        TicketContextStep,
    )
    from ticket_enhancer.enhance.summary import SummaryStep
    from ticket_enhancer.enhance.triage import TriageStep

    return Pipeline(
        [
            TicketContextStep(),
            LanguageStep(),
            IndexedTicketsStep(store, index=index),
            SimilarTicketsStep(store, index=index),
            KnowledgeStep(store, index=index),
            NetworkAssetsStep(store),
            SummaryStep(),
            TriageStep(),
            DuplicatesStep(),
            SynthesisStep(
                bedrock_client_factory=bedrock_client_factory,
                model_timeout=model_timeout,
                resolve=resolve,
                usage=usage,
                after=("language", "summary", "triage", "duplicates"),
                local=local,
            ),
        ],
        step_timeout=step_timeout,
    )
