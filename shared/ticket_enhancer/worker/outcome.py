"""What the worker records and counts about a note: the model's fallbacks and the daily note limit.

Metrics (namespace ``TicketEnhancer``, dimension ``tool``):

* ``ModelInjectionSuspected``: the model's answer carried a URL outside the gathered data;
* ``ModelOutputRejected``: not JSON, empty, too long, or a triage value the tool does not have;
* ``ModelThrottled``: the provider refused the call for its quota (shared by all tenants);
* ``ModelTokenBudgetExceeded``: the tenant's ``daily_model_token_budget`` was used up;
* ``ModelFallbacks``: any other failure (timeout, error, masking unavailable);
* ``NotesOverDailyLimit``: no note, the tenant's ``daily_note_limit`` was reached.

In each of the first five cases the note is the offline one and the job is ``done``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ticket_enhancer.enhance.usage import MAX_NOTE_LIMIT, limit_option

if TYPE_CHECKING:
    from ticket_enhancer.enhance.usage import UsageStore

__all__ = ["OUTPUT_REJECTED", "fallback_metric", "over_note_limit"]

logger = logging.getLogger(__name__)

OUTPUT_REJECTED = frozenset({"invalid output", "empty output", "too long", "unknown value"})


def fallback_metric(reason: str | None) -> str | None:
    """The metric a model fallback for ``reason`` counts in (None: the model was not asked)."""
    if reason is None:
        return None
    if reason == "injection suspected":
        return "ModelInjectionSuspected"
    if reason in OUTPUT_REJECTED:
        return "ModelOutputRejected"
    if reason == "throttled":
        return "ModelThrottled"
    if reason == "token budget":
        return "ModelTokenBudgetExceeded"
    return "ModelFallbacks"


async def over_note_limit(
    usage: UsageStore | None, options: dict[str, str], tenant_id: str, job_id: str
) -> str | None:
    """Why no note may be posted for this job today (``daily_note_limit`` reached), or None.

    The job takes its slot here (idempotent per job id); a counter error never costs a note."""
    limit = limit_option(options, "daily_note_limit", maximum=MAX_NOTE_LIMIT)
    if limit is None or usage is None:
        return None
    try:
        if await asyncio.to_thread(usage.take_note_slot, tenant_id, job_id, limit):
            return None
    except Exception as exc:  # the counter only limits; it never loses a note
        logger.warning("daily note limit not checked (%s)", type(exc).__name__)
        return None
    return f"daily_note_limit reached ({limit} notes today)"
