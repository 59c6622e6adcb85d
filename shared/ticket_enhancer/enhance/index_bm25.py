"""The BM25 scorer of a tenant's index (:class:`Bm25`): bm25s's ``lucene`` method, built vectorised.

:class:`~ticket_enhancer.enhance.index.TenantIndex` holds two of them (tickets, article passages);
:mod:`~ticket_enhancer.enhance.index_codec` stores their arrays. numpy and bm25s are imported on
first use (they cost ~130 ms; the worker's cold start stays as it was).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.tokens import tokenize, tokenize_corpus

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["K1", "MAX_POSTINGS", "MAX_QUERY_TERMS", "B", "Bm25"]

K1, B = 1.5, 0.75  # BM25 parameters, as bm25s and the former ranker use
MAX_QUERY_TERMS = 64  # of a query's distinct terms scored (its rarest ones)
MAX_POSTINGS = 4096  # documents kept per term (its best-weighted ones): a query's cost has a ceiling


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
        if len(used) < len(vocabulary):
            renumber = np.zeros(len(vocabulary), dtype=np.int64)
            renumber[used] = np.arange(len(used))
            ids = renumber[ids]
        vocab = [vocabulary[int(i)] for i in used]
        n_vocab = len(vocab)
        lengths = np.bincount(docs, minlength=n_docs)
        # (token, document) pairs with their counts, sorted by token then document: CSC order.
        # np.sort and the run boundaries, not np.unique (which costs about twice as much here).
        pairs = ids * n_docs
        pairs += docs  # in place, and sorted in place: the largest arrays of a build exist once
        pairs.sort()
        first = np.flatnonzero(np.concatenate(([True], pairs[1:] != pairs[:-1])))
        tf = np.diff(np.append(first, len(pairs)))
        pairs = pairs[first]
        del first
        pair_token, pair_doc = np.divmod(pairs, n_docs)
        df = np.bincount(pair_token, minlength=n_vocab)
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
        norm = (K1 * ((1.0 - B) + B * lengths / lengths.mean()))[pair_doc]  # per document, then per pair
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
