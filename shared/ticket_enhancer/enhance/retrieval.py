"""One job's context lookup: the tenant's index, plus the newest processed tickets, scoped and fused.

Similar tickets come from two ranked lists: the tenant's index (history the sync imported,
:class:`~ticket_enhancer.enhance.index.TenantIndex`) and the newest processed tickets
(:meth:`~ticket_enhancer.enhance.store.ContextStore.recent_tickets`, at most 100, ranked with the same
BM25 over just them). They are fused by reciprocal rank (``1 / (60 + rank)`` summed over the lists;
a ticket in both keeps the index's record, which has the resolution); on a tie a ticket with a
resolution comes first, then the newest.

Scope (tenant option ``similar_scope``): ``project`` (the default, and what any other value means)
keeps tickets whose scope key equals the ticket's (tickets without one form the scope ``""``);
``tenant`` keeps every ticket of the tenant. The ticket itself is never a candidate.

Articles: from the index when it holds any (each with its best-matching passage), else the tenant's
CLI-loaded articles (``ContextStore.list_articles``, cached), each cut into passages and its best
passage kept. The chosen passage is the returned ``Article.body``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ticket_enhancer.enhance.bm25 import rank
from ticket_enhancer.enhance.index import passages, timestamp
from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.enhance.tokens import tokenize

if TYPE_CHECKING:
    from ticket_enhancer.enhance.index import TenantIndex

__all__ = ["RRF_K", "SCOPE_OPTION", "best_passage", "find_articles", "find_similar", "scope_for"]

RRF_K = 60
SCOPE_OPTION = "similar_scope"


def scope_for(options: Mapping[str, str], ticket_scope: str) -> str | None:
    """The scope to search: the ticket's scope key (``""`` included), or ``None`` for the whole tenant."""
    return None if options.get(SCOPE_OPTION, "project").strip().lower() == "tenant" else ticket_scope


def _time(ticket: IndexedTicket) -> int:
    return timestamp(ticket.resolved) or timestamp(ticket.created)


def _rank_recent(query: str, tickets: Sequence[IndexedTicket], k: int) -> list[IndexedTicket]:
    """The processed tickets sharing a term with ``query``, best first, ties newest first.

    At most 100 short documents: the pure-Python ranker with the index's tokenizer, so a tenant
    without an index never loads numpy.
    """
    newest = sorted(tickets, key=lambda t: -_time(t))  # stable: equal times keep processing order
    docs = [f"{t.subject}\n{t.subject}\n{t.text}" for t in newest]
    # cache_docs: the jobs of a batch (and the next invocations) rank the same newest tickets.
    return [newest[i] for i, _ in rank(query, docs, k, tokenizer=tokenize, cache_docs=True)]


def find_similar(
    query: str,
    *,
    ticket_id: str,
    scope: str | None,
    index: TenantIndex | None,
    recent: Sequence[IndexedTicket],
    k: int,
) -> tuple[IndexedTicket, ...]:
    """The best ``k`` similar tickets of ``scope`` (``None``: any), never ``ticket_id`` itself."""
    if k <= 0:
        return ()
    lists: list[list[IndexedTicket]] = []
    if index is not None:
        lists.append([t for t, _ in index.similar_tickets(query, scope=scope, exclude=ticket_id, k=2 * k)])
    pool = [t for t in recent if t.ticket_id != ticket_id and (scope is None or t.scope == scope)]
    lists.append(_rank_recent(query, pool, 2 * k))
    fused: dict[str, float] = {}
    records: dict[str, IndexedTicket] = {}
    for ranked in lists:
        for position, ticket in enumerate(ranked):
            fused[ticket.ticket_id] = fused.get(ticket.ticket_id, 0.0) + 1.0 / (RRF_K + position + 1)
            records.setdefault(ticket.ticket_id, ticket)  # the index's record (listed first) wins
    best = sorted(
        records.values(), key=lambda t: (-fused[t.ticket_id], not t.resolution, -_time(t), t.ticket_id)
    )
    return tuple(best[:k])


def best_passage(query: str, article: Article) -> Article:
    """``article`` with its best-matching passage as the body (its first passage when none matches)."""
    parts = passages(article.body)
    if not parts:
        return article
    ranked = rank(query, parts, 1, tokenizer=tokenize)
    return replace(article, body=parts[ranked[0][0]] if ranked else parts[0])


def find_articles(
    query: str, *, index: TenantIndex | None, loaded: Sequence[Article], k: int
) -> tuple[Article, ...]:
    """The best ``k`` articles, each with the passage that matched: the index's, else the loaded ones."""
    if k <= 0:
        return ()
    if index is not None and index.article_count:
        return tuple(hit.article for hit in index.matching_articles(query, k=k))
    ranked = rank(query, [f"{a.title}\n{a.title}\n{a.body}" for a in loaded], k, tokenizer=tokenize)
    return tuple(best_passage(query, loaded[i]) for i, _ in ranked)
