"""A tenant's keyword index: BM25 (``bm25s``) over its history tickets and knowledge passages.

Built by the sync from :class:`~ticket_enhancer.enhance.records.IndexedTicket` and
:class:`~ticket_enhancer.enhance.records.Article` records (:func:`build_index`), stored per tenant
in S3 (:mod:`ticket_enhancer.enhance.index_store`) and searched by the worker. A search costs the
postings of the query's terms (numpy, precomputed BM25 weights), not a pass over the tenant.

* Tickets: one document each (subject twice, text, resolution). :meth:`TenantIndex.similar_tickets`
  keeps only the asked scope (tickets without a scope key form the scope ``""``), never the ticket
  itself, and breaks score ties newest first (resolved, else created time).
* Articles: cut into passages of about :data:`PASSAGE_CHARS` (the title goes with each one);
  :meth:`TenantIndex.matching_articles` returns each article once, with its best passage.

The scorer is :class:`~ticket_enhancer.enhance.index_bm25.Bm25` (re-exported here). numpy and
bm25s are imported on first use (they cost ~130 ms; the worker's cold start stays as it was).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.index_bm25 import Bm25
from ticket_enhancer.enhance.records import Article, IndexedTicket

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "MAX_ARTICLE_CHARS",
    "MAX_RESOLUTION_CHARS",
    "PASSAGE_CHARS",
    "ArticleHit",
    "Bm25",
    "TenantIndex",
    "build_index",
    "timestamp",
]

PASSAGE_CHARS = 600
MAX_ARTICLE_CHARS = 50_000  # of an article's body that is indexed
MAX_RESOLUTION_CHARS = 1_000  # of a resolution kept (the note shows a short excerpt of it)
MAX_TEXT_CHARS = 4_096  # of a ticket's text indexed and kept
TICKET_FIELDS = (
    "ticket_id",
    "display_key",
    "subject",
    "url",
    "created",
    "resolution",
    "resolved",
    "status",
    # The triage votes (enhance/triage.py); an index written before they were kept reads them as "".
    "category",
    "group",
    "priority",
    "group_id",
)
_PARAGRAPHS = re.compile(r"\n\s*\n")


def timestamp(iso: str) -> int:
    """Seconds since the epoch of an ISO 8601 time; 0 when it is empty or not a time."""
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()) if iso else 0
    except ValueError:
        return 0


def passages(body: str, size: int = PASSAGE_CHARS) -> list[str]:
    """``body`` cut into passages of at most ``size`` characters: short paragraphs joined, long ones
    cut at spaces (their pieces never joined with the next paragraph)."""
    out: list[str] = []
    current = ""
    for paragraph in _PARAGRAPHS.split(body[:MAX_ARTICLE_CHARS]):
        words = " ".join(paragraph.split())
        if len(words) > size:  # one long paragraph: its own passages, cut at spaces
            if current:
                out.append(current)
                current = ""
            while len(words) > size:
                cut = words.rfind(" ", 0, size)
                cut = cut if cut > size // 2 else size
                out.append(words[:cut].strip())
                words = words[cut:].strip()
            if words:
                out.append(words)
            continue
        if not words:
            continue
        if current and len(current) + len(words) + 1 > size:
            out.append(current)
            current = words
        else:
            current = f"{current}\n{words}" if current else words
    if current:
        out.append(current)
    return out


@dataclass(frozen=True, slots=True)
class ArticleHit:
    """An article that matched, with the passage that matched best."""

    article: Article
    passage: str
    score: float


def _best(scores: npt.NDArray[Any], candidates: npt.NDArray[Any], n: int) -> npt.NDArray[Any]:
    """The candidates scoring at least the ``n``-th best score (ties included), unordered: sorting
    only those keeps a search's cost off the tenant's size."""
    import numpy as np

    if len(candidates) <= n:
        return candidates
    floor = np.partition(scores[candidates], len(candidates) - n)[len(candidates) - n]
    kept: npt.NDArray[Any] = candidates[scores[candidates] >= floor]
    return kept


def _ranked(
    scores: npt.NDArray[Any], candidates: npt.NDArray[Any], times: npt.NDArray[Any], k: int
) -> list[int]:
    """The best ``k`` of ``candidates``, best score first, ties newest first (then lowest position)."""
    import numpy as np

    top = _best(scores, candidates, k)
    order = np.lexsort((top, -times[top], -scores[top]))
    return [int(i) for i in top[order][:k]]


@dataclass
class TenantIndex:
    """A tenant's loaded index: ticket columns, article columns and their two BM25 retrievers."""

    tenant_id: str
    tickets: dict[str, list[str]]  # TICKET_FIELDS -> one value per ticket
    ticket_scope: npt.NDArray[np.int32]  # index into ``scopes`` per ticket
    ticket_time: npt.NDArray[np.int64]  # resolved (else created) time per ticket, for recency
    scopes: list[str]
    ticket_bm25: Bm25
    articles: dict[str, list[str]]  # article_id, title, url -> one value per article
    passage_article: npt.NDArray[np.int32]  # the article of each passage
    passage_text: list[str]
    passage_bm25: Bm25
    _positions: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._positions = {tid: i for i, tid in enumerate(self.tickets["ticket_id"])}

    @property
    def ticket_count(self) -> int:
        return len(self.tickets["ticket_id"])

    @property
    def article_count(self) -> int:
        return len(self.articles["article_id"])

    def ticket(self, position: int) -> IndexedTicket:
        values = {name: self.tickets[name][position] for name in TICKET_FIELDS}
        return IndexedTicket(**values, scope=self.scopes[int(self.ticket_scope[position])])

    def similar_tickets(
        self, query: str, *, scope: str | None, exclude: str = "", k: int = 3
    ) -> list[tuple[IndexedTicket, float]]:
        """The best ``k`` tickets of ``scope`` (``None``: any scope) sharing a term with ``query``."""
        import numpy as np

        scores = self.ticket_bm25.scores(query)
        if scores is None or k <= 0:
            return []
        candidates = np.flatnonzero(scores > 0)
        if scope is not None:
            if scope not in self.scopes:
                return []
            candidates = candidates[self.ticket_scope[candidates] == self.scopes.index(scope)]
        own = self._positions.get(exclude) if exclude else None
        if own is not None:
            candidates = candidates[candidates != own]
        best = _ranked(scores, candidates, self.ticket_time, k)
        return [(self.ticket(i), float(scores[i])) for i in best]

    def matching_articles(self, query: str, *, k: int = 3) -> list[ArticleHit]:
        """The best ``k`` articles, each once, with its best-matching passage."""
        import numpy as np

        scores = self.passage_bm25.scores(query)
        if scores is None or k <= 0:
            return []
        candidates = np.flatnonzero(scores > 0)
        top = _best(scores, candidates, 16 * k)  # enough passages for k articles, nearly always
        order = top[np.lexsort((top, -scores[top]))]
        if len({int(a) for a in self.passage_article[order]}) < k and len(top) < len(candidates):
            order = candidates[np.lexsort((candidates, -scores[candidates]))]  # few articles: all
        hits: list[ArticleHit] = []
        seen: set[int] = set()
        for position in order:
            article = int(self.passage_article[position])
            if article in seen:
                continue
            seen.add(article)
            hits.append(
                ArticleHit(
                    Article(
                        article_id=self.articles["article_id"][article],
                        title=self.articles["title"][article],
                        body=self.passage_text[position],
                        url=self.articles["url"][article],
                    ),
                    self.passage_text[position],
                    float(scores[position]),
                )
            )
            if len(hits) == k:
                break
        return hits


def _ticket_text(t: IndexedTicket) -> str:
    """What a ticket is found by: the subject twice, the text and the resolution."""
    return f"{t.subject}\n{t.subject}\n{t.text[:MAX_TEXT_CHARS]}\n{t.resolution[:MAX_RESOLUTION_CHARS]}"


def _ticket_texts(kept: Sequence[IndexedTicket]) -> tuple[list[str], list[str]]:
    """``_ticket_text`` of each ticket as ``(text, also)`` for :meth:`Bm25.from_texts`: the subject's
    second copy tokenized once and counted twice (the same bag, ~7 % fewer words to split), unless
    the tokenizer's cap would cut the whole text (then the text as it is, and nothing more)."""
    texts: list[str] = []
    also: list[str] = []
    for t in kept:
        whole = _ticket_text(t)
        if len(whole) > MAX_TEXT_CHARS:
            texts.append(whole)
            also.append("")
        else:
            texts.append(whole[len(t.subject) + 1 :])
            also.append(t.subject)
    return texts, also


def build_index(tenant_id: str, tickets: Iterable[IndexedTicket], articles: Iterable[Article]) -> TenantIndex:
    """The index of one tenant's records (the last record of a ticket id or article id wins)."""
    import numpy as np

    by_id = {t.ticket_id: t for t in tickets if t.ticket_id}
    kept = list(by_id.values())
    scopes = sorted({t.scope for t in kept})
    scope_ids = {s: i for i, s in enumerate(scopes)}
    # Column by column (attrgetter and zip, not a Python call per field and ticket).
    rows = zip(*map(attrgetter(*TICKET_FIELDS), kept), strict=True) if kept else ([] for _ in TICKET_FIELDS)
    columns: dict[str, list[str]] = {
        name: list(values) for name, values in zip(TICKET_FIELDS, rows, strict=True)
    }
    columns["resolution"] = [value[:MAX_RESOLUTION_CHARS] for value in columns["resolution"]]
    unique_articles = list({a.article_id: a for a in articles if a.article_id}.values())
    article_columns: dict[str, list[str]] = {"article_id": [], "title": [], "url": []}
    passage_article: list[int] = []
    passage_text: list[str] = []
    texts: list[str] = []
    for position, article in enumerate(unique_articles):
        article_columns["article_id"].append(article.article_id)
        article_columns["title"].append(article.title)
        article_columns["url"].append(article.url)
        for passage in passages(article.body) or [""]:
            passage_article.append(position)
            passage_text.append(passage)
            texts.append(f"{article.title}\n{passage}")
    ticket_texts, subjects = _ticket_texts(kept)
    return TenantIndex(
        tenant_id=tenant_id,
        tickets=columns,
        ticket_scope=np.array([scope_ids[t.scope] for t in kept], dtype=np.int32),
        ticket_time=np.array([timestamp(t.resolved) or timestamp(t.created) for t in kept], dtype=np.int64),
        scopes=scopes,
        ticket_bm25=Bm25.from_texts(ticket_texts, also=subjects),
        articles=article_columns,
        passage_article=np.array(passage_article, dtype=np.int32),
        passage_text=passage_text,
        passage_bm25=Bm25.from_texts(texts),
    )
