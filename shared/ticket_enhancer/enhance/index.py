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

numpy and bm25s are imported on first use (they cost ~130 ms; the worker's cold start stays as it was).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.enhance.tokens import tokenize, tokenize_corpus

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
K1, B = 1.5, 0.75  # BM25 parameters, as bm25s and the former ranker use
MAX_ARTICLE_CHARS = 50_000  # of an article's body that is indexed
MAX_RESOLUTION_CHARS = 1_000  # of a resolution kept (the note shows a short excerpt of it)
MAX_TEXT_CHARS = 4_096  # of a ticket's text indexed and kept
MAX_QUERY_TERMS = 64  # of a query's distinct terms scored (its rarest ones)
MAX_POSTINGS = 4096  # documents kept per term (its best-weighted ones): a query's cost has a ceiling
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


class Bm25:
    """One bm25s retriever over token lists, or nothing when the corpus has no tokens."""

    def __init__(self, retriever: Any, size: int) -> None:
        self._retriever = retriever
        self.size = size

    @classmethod
    def build(cls, corpus: Sequence[list[str]], *, max_postings: int = MAX_POSTINGS) -> Bm25:
        """The index of token lists (see :meth:`from_tokens`)."""
        import numpy as np

        flat = list(chain.from_iterable(corpus))
        positions = {token: i for i, token in enumerate(dict.fromkeys(flat))}
        ids = np.fromiter(map(positions.__getitem__, flat), dtype=np.int64, count=len(flat))
        lengths = np.fromiter((len(tokens) for tokens in corpus), dtype=np.int64, count=len(corpus))
        docs = np.repeat(np.arange(len(corpus), dtype=np.int64), lengths)
        return cls.from_tokens(list(positions), ids, docs, len(corpus), max_postings=max_postings)

    @classmethod
    def from_texts(
        cls, texts: Sequence[str], *, also: Sequence[str] = (), max_postings: int = MAX_POSTINGS
    ) -> Bm25:
        """The index of texts, tokenized all at once (:func:`.tokens.tokenize_corpus`); ``also[i]``
        (when given) adds its tokens to document ``i`` as if it were part of ``texts[i]``."""
        vocabulary, ids, docs = tokenize_corpus([*texts, *also] if also else texts)
        if also:
            docs[docs >= len(texts)] -= len(texts)
        return cls.from_tokens(vocabulary, ids, docs, len(texts), max_postings=max_postings)

    @classmethod
    def from_tokens(
        cls,
        vocabulary: list[str],
        ids: npt.NDArray[np.int64],
        docs: npt.NDArray[np.int64],
        n_docs: int,
        *,
        max_postings: int = MAX_POSTINGS,
    ) -> Bm25:
        """bm25s's index (method ``lucene``, k1=1.5, b=0.75) of tokens (``ids`` into ``vocabulary``,
        ``docs[i]`` the document of token ``i``), built vectorised.

        bm25s's own ``index()`` loops in Python per document and per term (about 4 s for 100,000
        tickets); this computes the same CSC arrays (``tests/unit/test_index.py`` checks they equal
        bm25s's) with a handful of numpy operations, and bm25s scores the queries. A term keeps at
        most ``max_postings`` documents (its best-weighted ones).
        """
        import numpy as np

        if not len(ids):
            return cls(None, n_docs)
        used = np.flatnonzero(np.bincount(ids, minlength=len(vocabulary)))  # the tokens that occur
        renumber = np.zeros(len(vocabulary), dtype=np.int64)
        renumber[used] = np.arange(len(used))
        ids = renumber[ids]
        vocab = [vocabulary[int(i)] for i in used]
        n_vocab = len(vocab)
        lengths = np.bincount(docs, minlength=n_docs)
        # (token, document) pairs with their counts, sorted by token then document: CSC order.
        pairs, tf = np.unique(ids * n_docs + docs, return_counts=True)
        pair_token, pair_doc = pairs // n_docs, pairs % n_docs
        df = np.bincount(pair_token, minlength=n_vocab)
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
        norm = K1 * ((1.0 - B) + B * lengths[pair_doc] / lengths.mean())
        weights = idf[pair_token] * tf / (norm + tf)
        indptr = np.concatenate(([0], np.cumsum(df))).astype(np.int64)
        heavy = np.flatnonzero(df > max_postings)
        if len(heavy):
            # Static pruning: a term keeps its max_postings best-weighted documents (idf stays the
            # full corpus's), so a query's cost has a ceiling whatever the tenant's size. Only terms
            # in more than max_postings documents, whose weights are the smallest, lose any.
            keep = np.ones(len(pairs), dtype=bool)
            for token in heavy:
                start, end = int(indptr[token]), int(indptr[token + 1])
                worst = np.argpartition(-weights[start:end], max_postings)[max_postings:]
                keep[start + worst] = False
            pair_doc, weights = pair_doc[keep], weights[keep]
            df = np.minimum(df, max_postings)
            indptr = np.concatenate(([0], np.cumsum(df))).astype(np.int64)
        return cls.from_arrays(vocab, weights.astype(np.float32), pair_doc.astype(np.int32), indptr, n_docs)

    @classmethod
    def from_arrays(
        cls,
        vocab: list[str],
        data: npt.NDArray[Any],
        indices: npt.NDArray[Any],
        indptr: npt.NDArray[Any],
        size: int,
    ) -> Bm25:
        if not vocab:
            return cls(None, size)
        import bm25s

        retriever = bm25s.BM25(method="lucene", k1=K1, b=B)
        retriever.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": size}
        retriever.vocab_dict = {token: i for i, token in enumerate(vocab)}
        retriever.nonoccurrence_array = None  # lucene scoring has none
        return cls(retriever, size)

    def arrays(self) -> tuple[list[str], dict[str, npt.NDArray[Any]]]:
        """The vocabulary (by token id) and the CSC arrays, for :mod:`index_codec`."""
        if self._retriever is None:
            return [], {}
        vocab = sorted(self._retriever.vocab_dict, key=self._retriever.vocab_dict.__getitem__)
        s = self._retriever.scores
        return vocab, {"data": s["data"], "indices": s["indices"], "indptr": s["indptr"]}

    def scores(self, query: str) -> npt.NDArray[np.float32] | None:
        """The BM25 score of every document for ``query``; ``None`` when no term is indexed."""
        if self._retriever is None:
            return None
        vocab = self._retriever.vocab_dict
        ids = list(dict.fromkeys(vocab[t] for t in tokenize(query) if t in vocab))
        if not ids:
            return None
        if len(ids) > MAX_QUERY_TERMS:  # a long ticket: its rarest terms (the shortest postings) say most
            indptr = self._retriever.scores["indptr"]
            ids = sorted(ids, key=lambda i: int(indptr[i + 1] - indptr[i]))[:MAX_QUERY_TERMS]
        result: npt.NDArray[np.float32] = self._retriever.get_scores(ids)
        return result


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
    columns: dict[str, list[str]] = {name: [] for name in TICKET_FIELDS}
    for t in kept:
        for name in TICKET_FIELDS:
            value: str = getattr(t, name)
            columns[name].append(value[:MAX_RESOLUTION_CHARS] if name == "resolution" else value)
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
