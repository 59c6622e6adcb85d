"""Duplicates and bursts: recent open tickets of the same scope that say the same thing.

``find_duplicates(ticket, recent, corpus, now)`` compares the ticket with the tenant's processed
tickets (the ContextTable's ticket index: created time, scope and status are stored with each) by
TF-IDF cosine over their words (lightly stemmed, subject counted twice; document frequencies from
the tickets the step read, so words every ticket uses weigh little), moved up by
:data:`ENTITY_BONUS` when both name the same address or host name, scaled by
:data:`ENTITY_PENALTY` when both name some and none is shared (another printer, another server:
another incident), and up by :data:`CODE_BONUS` for a shared error code otherwise:

- **burst**: at least :data:`BURST_MIN_TICKETS` tickets, this one included, created in the last
  :data:`BURST_WINDOW_MINUTES` minutes with a similarity of at least :data:`BURST_SIMILARITY`:
  "N similar tickets in the last 60 minutes: possible major incident";
- **duplicate**: otherwise, the most similar open ticket of the last :data:`DUPLICATE_WINDOW_HOURS`
  hours with a similarity of at least :data:`DUPLICATE_SIMILARITY`: "possible duplicate of KEY".

Same scope: when both tickets have a scope key (project, organisation, company, ...) it must be
the same, unless the tenant's ``similar_scope`` is ``tenant``. Resolved or closed tickets are not
candidates; items indexed before status and scope were stored count as open and unscoped. The
thresholds were set on the evaluation set's history split (``evaluation/README.md``).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from ticket_enhancer.enhance.bm25 import tokenize
from ticket_enhancer.enhance.network import extract_indicators
from ticket_enhancer.enhance.records import DuplicateSignal, IndexedTicket
from ticket_enhancer.enhance.summary import error_codes

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ticket_enhancer.enhance.context import EnhancementContext
    from ticket_enhancer.models import Ticket

__all__ = [
    "BURST_MIN_TICKETS",
    "BURST_SIMILARITY",
    "BURST_WINDOW_MINUTES",
    "DUPLICATE_SIMILARITY",
    "DUPLICATE_WINDOW_HOURS",
    "DuplicatesStep",
    "Vectorizer",
    "find_duplicates",
]

DUPLICATE_WINDOW_HOURS = 8
DUPLICATE_SIMILARITY = 0.5
BURST_WINDOW_MINUTES = 60
BURST_SIMILARITY = 0.3
BURST_MIN_TICKETS = 3  # this ticket included
ENTITY_BONUS = 0.25
ENTITY_PENALTY = 0.6
CODE_BONUS = 0.1
MAX_LINKED = 10
MAX_CORPUS = 200  # tickets whose words give the document frequencies (bounded CPU)
# Other tickets' texts analysed once per container (terms, entities), not once per job: the jobs of
# a batch, and the next invocations, compare against the same newest tickets. Keyed by the text
# alone (a pure function of it: nothing can pass from one tenant to another), at most this many.
_CACHED_TEXTS = 1024
_MAX_CACHED_CHARS = 8192  # longer texts (never an indexed ticket's) are analysed uncached
_CLOSED = frozenset({"resolved", "closed", "solved", "done", "completed", "cancelled", "canceled"})


_SUFFIXES = ("ing", "ed", "s")


def _stem(token: str) -> str:
    """A light English suffix strip (drops, dropped, dropping: drop), so paraphrases meet."""
    for suffix in _SUFFIXES:
        if len(token) > len(suffix) + 3 and token.endswith(suffix) and not token[-len(suffix) - 1].isdigit():
            token = token[: -len(suffix)]
            break
    if len(token) > 4 and token[-1] == token[-2] and token[-1].isalpha():  # dropp -> drop
        token = token[:-1]
    return token


def terms(text: str) -> list[str]:
    """The words compared: BM25's tokens, lightly stemmed."""
    return [_stem(token) for token in tokenize(text)]


@dataclass(frozen=True, slots=True)
class _Terms:
    """A text's terms, counted (first occurrence order), and their set: immutable, shared."""

    counts: tuple[tuple[str, int], ...]
    distinct: frozenset[str]


def _count_terms(text: str) -> _Terms:
    counts = Counter(terms(text))
    return _Terms(tuple(counts.items()), frozenset(counts))


_cached_terms = lru_cache(maxsize=_CACHED_TEXTS)(_count_terms)


def _terms_of(text: str) -> _Terms:
    return _cached_terms(text) if len(text) <= _MAX_CACHED_CHARS else _count_terms(text)


class Vectorizer:
    """TF-IDF vectors (unit length) with document frequencies from ``corpus``.

    The corpus's texts (other tickets, the same job after job) are analysed once per container;
    ``own`` is the job's own ticket, analysed by the caller for this job only and counted in the
    document frequencies too.
    """

    def __init__(self, corpus: Sequence[str], *, own: _Terms | None = None) -> None:
        analysed = [_terms_of(text) for text in corpus] + ([own] if own is not None else [])
        self._docs = max(1, len(analysed))
        self._df: Counter[str] = Counter()
        for terms_ in analysed:
            self._df.update(terms_.distinct)

    def vector(self, text: str) -> dict[str, float]:
        return self.weigh(_terms_of(text))

    def weigh(self, analysed: _Terms) -> dict[str, float]:
        weights = {
            term: (1.0 + math.log(n)) * math.log(1.0 + self._docs / (1.0 + self._df[term]))
            for term, n in analysed.counts
        }
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {term: w / norm for term, w in weights.items()}

    @staticmethod
    def cosine(a: dict[str, float], b: dict[str, float]) -> float:
        if len(b) < len(a):
            a, b = b, a
        return sum(w * b.get(term, 0.0) for term, w in a.items())


def document(subject: str, text: str) -> str:
    """The text compared: the subject twice, then the rest."""
    return f"{subject}\n{subject}\n{text}"


@dataclass(frozen=True, slots=True)
class Entities:
    """What identifies an incident: the addresses and host names a ticket names, and its codes."""

    places: frozenset[str]
    codes: frozenset[str]

    @classmethod
    def of(cls, text: str) -> Entities:
        return _cached_entities(text) if len(text) <= _MAX_CACHED_CHARS else _entities(text)


def _entities(text: str) -> Entities:
    found = extract_indicators(text)
    codes = frozenset(code.lower() for code in error_codes(text))
    return Entities(frozenset([*found.addresses, *found.hosts]), codes)


_cached_entities = lru_cache(maxsize=_CACHED_TEXTS)(_entities)


def adjusted(similarity: float, mine: Entities, theirs: Entities) -> float:
    """Text similarity moved by the entities: a shared address or host is evidence of the same
    incident, two disjoint non-empty sets (another printer, another server) of another one; a
    shared error code alone is weak evidence (many incidents raise the same code)."""
    if mine.places & theirs.places:
        return min(1.0, similarity + ENTITY_BONUS)
    if mine.places and theirs.places:
        return similarity * ENTITY_PENALTY
    if mine.codes & theirs.codes:
        return min(1.0, similarity + CODE_BONUS)
    return similarity


def _created(ticket: IndexedTicket) -> datetime | None:
    try:
        value = datetime.fromisoformat(ticket.created)
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class _Candidate:
    ticket: IndexedTicket
    created: datetime
    similarity: float


def find_duplicates(
    ticket: Ticket,
    recent: Sequence[IndexedTicket],
    *,
    now: datetime | None = None,
    corpus: Sequence[IndexedTicket] = (),
    same_scope: bool = True,
) -> DuplicateSignal | None:
    """A burst or a near-duplicate among ``recent`` (other tickets), or None."""
    now = (now or ticket.created_at or datetime.now(UTC)).astimezone(UTC)
    oldest = now - timedelta(hours=DUPLICATE_WINDOW_HOURS)
    pool: list[tuple[IndexedTicket, datetime]] = []
    for other in recent:
        created = _created(other)
        if (
            other.ticket_id == ticket.ticket_id
            or created is None
            or not oldest <= created <= now + timedelta(minutes=5)  # small clock skew
            or other.status.strip().lower() in _CLOSED
            or (same_scope and ticket.scope and other.scope and other.scope != ticket.scope)
        ):
            continue
        pool.append((other, created))
    if not pool:
        return None
    texts = [document(t.subject, t.text) for t in (corpus[:MAX_CORPUS] or [t for t, _ in pool])]
    own = _count_terms(document(ticket.subject, ticket.description))  # this job's: not cached
    vectors = Vectorizer(texts, own=own)
    mine = vectors.weigh(own)
    my_entities = _entities(f"{ticket.subject}\n{ticket.description}")  # this job's own: not cached

    def similarity(other: IndexedTicket) -> float:
        text = vectors.cosine(mine, vectors.vector(document(other.subject, other.text)))
        return adjusted(text, my_entities, Entities.of(f"{other.subject}\n{other.text}"))

    scored = sorted(
        (_Candidate(other, created, similarity(other)) for other, created in pool),
        key=lambda c: (-c.similarity, c.ticket.ticket_id),
    )
    burst_start = now - timedelta(minutes=BURST_WINDOW_MINUTES)
    burst = [c.ticket for c in scored if c.similarity >= BURST_SIMILARITY and c.created >= burst_start]
    if len(burst) + 1 >= BURST_MIN_TICKETS:
        return DuplicateSignal("burst", tuple(burst[:MAX_LINKED]), BURST_WINDOW_MINUTES, len(burst) + 1)
    if scored[0].similarity >= DUPLICATE_SIMILARITY:
        return DuplicateSignal("duplicate", (scored[0].ticket,), DUPLICATE_WINDOW_HOURS * 60, 2)
    return None


class DuplicatesStep:
    """Near-duplicates and bursts among the tickets the ``indexed_tickets`` step read."""

    name = "duplicates"
    requires: tuple[str, ...] = ("indexed_tickets",)

    async def run(self, ctx: EnhancementContext) -> None:
        import asyncio

        tickets = ctx.items("indexed_tickets", IndexedTicket)
        scope = (ctx.tenant.config.options or {}).get("similar_scope", "project").strip().lower()
        ctx.results[self.name] = await asyncio.to_thread(
            lambda: find_duplicates(ctx.ticket, tickets, corpus=tickets, same_scope=scope != "tenant")
        )
