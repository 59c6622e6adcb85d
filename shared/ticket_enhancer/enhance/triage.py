"""Triage suggestion: category/type, priority and assignment group from resolved similar tickets.

``suggest_triage(ticket_text, history)`` ranks the tenant's resolved history tickets (BM25, the
same ranker as similar tickets) and lets the best :data:`VOTERS` vote, each with the weight of its
score relative to the best one, squared (so the clearly similar tickets decide). For each field
the value with the largest weight wins; its confidence is its share of the weight of the voters
that have the field set. Only values that occur in the tenant's synced history are ever suggested
(they are the votes); an assignment group is matched by its id where the tool has one (the
history's and the fetched ticket's ``group_id``) and shown by its name. A value is suggested only
with at least :data:`MIN_VOTES` votes and :data:`MIN_CONFIDENCE`, and a field no voter has is no
suggestion. Tenant option ``triage``:
``suggest`` (default) or ``off``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING

from ticket_enhancer.enhance.bm25 import rank
from ticket_enhancer.enhance.records import FieldSuggestion, IndexedTicket, TriageSuggestion

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ticket_enhancer.enhance.context import EnhancementContext

__all__ = [
    "MIN_CONFIDENCE",
    "MIN_VOTES",
    "TRIAGE_OPTION",
    "TRIAGE_VALUES",
    "VOTERS",
    "TriageStep",
    "resolved_history",
    "suggest_triage",
    "triage_enabled",
]

VOTERS = 10
MIN_VOTES = 2
MIN_CONFIDENCE = 0.4
TRIAGE_OPTION = "triage"
TRIAGE_VALUES = ("suggest", "off")
_RESOLVED = frozenset({"resolved", "closed", "solved", "done", "completed", "cancelled", "canceled"})


def triage_enabled(options: dict[str, str] | None) -> bool:
    """``triage`` is ``suggest`` unless the tenant set it to ``off``."""
    return (options or {}).get(TRIAGE_OPTION, "suggest").strip().lower() != "off"


def resolved_history(tickets: Sequence[IndexedTicket]) -> list[IndexedTicket]:
    """The tickets of the synced history (resolved ones) that carry at least one triage field."""
    return [
        t
        for t in tickets
        if (t.status.strip().lower() in _RESOLVED or t.resolved) and (t.category or t.group or t.priority)
    ]


def _vote(
    voters: Sequence[tuple[IndexedTicket, float]], field: str, id_field: str = ""
) -> FieldSuggestion | None:
    """The value of ``field`` with the most weight. With ``id_field`` (the group's id) a voter that
    has an id votes for the id, shown as the name the best-ranked of its voters gives it; without
    one, for its value (case aside)."""
    weights: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    spellings: dict[str, str] = {}
    ids: dict[str, str] = {}
    for ticket, weight in voters:
        value = str(getattr(ticket, field)).strip()
        ident = str(getattr(ticket, id_field)).strip() if id_field else ""
        if not (value or ident):
            continue
        key = f"id:{ident}" if ident else f"name:{value.casefold()}"
        spellings.setdefault(key, value or ident)
        ids[key] = ident
        weights[key] += weight
        counts[key] += 1
    total = sum(weights.values())
    if not total:
        return None
    key = max(weights, key=lambda k: (weights[k], counts[k], k))
    confidence = weights[key] / total
    if counts[key] < MIN_VOTES or confidence < MIN_CONFIDENCE:
        return None
    return FieldSuggestion(
        value=spellings[key], confidence=round(confidence, 2), votes=counts[key], id=ids[key]
    )


def suggest_triage(
    ticket_text: str, history: Sequence[IndexedTicket], *, exclude: str = "", voters: int = VOTERS
) -> TriageSuggestion | None:
    """Suggestions from the resolved tickets of ``history`` most similar to ``ticket_text``."""
    candidates = [t for t in resolved_history(history) if t.ticket_id != exclude]
    if not candidates:
        return None
    docs = [f"{t.subject}\n{t.subject}\n{t.text}" for t in candidates]
    ranked = rank(ticket_text, docs, voters, cache_docs=True)  # the same tickets, job after job
    if not ranked:
        return None
    best = ranked[0][1]
    # Squared relative score: a ticket half as similar as the best has a quarter of its say.
    weighted = [(candidates[index], (score / best) ** 2) for index, score in ranked]
    suggestion = TriageSuggestion(
        category=_vote(weighted, "category"),
        priority=_vote(weighted, "priority"),
        group=_vote(weighted, "group", "group_id"),
        voters=len(weighted),
    )
    return suggestion if suggestion else None


class TriageStep:
    """The triage suggestion, from the tickets the ``indexed_tickets`` and ``similar_tickets`` steps
    found (the resolved ones among them vote; a ticket found by both counts once)."""

    name = "triage"
    requires: tuple[str, ...] = ("ticket_context", "indexed_tickets", "similar_tickets")
    always_run = True  # votes from whichever of the two reads succeeded

    async def run(self, ctx: EnhancementContext) -> None:
        if not triage_enabled(ctx.tenant.config.options):
            ctx.results[self.name] = None
            return
        if {"indexed_tickets", "similar_tickets"} <= set(ctx.reasons):
            ctx.mark_unavailable(self.name, "needs ticket history")
            return
        found = (*ctx.items("indexed_tickets", IndexedTicket), *ctx.items("similar_tickets", IndexedTicket))
        history = list({t.ticket_id: t for t in found}.values())
        ctx.results[self.name] = await asyncio.to_thread(
            suggest_triage, ctx.ticket_text, history, exclude=ctx.ticket.ticket_id
        )
