"""A small Okapi BM25 ranker (k1=1.5, b=0.75) for a few hundred short documents.

Scores use the non-negative idf ``ln(1 + (N - n + 0.5) / (n + 0.5))``, so a document scores above
zero exactly when it shares a query term. Input sizes are capped so hostile text costs little.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

__all__ = ["K1", "STOPWORDS", "B", "rank", "tokenize"]

K1 = 1.5
B = 0.75
MAX_TEXT_CHARS = 20_000  # of each document and of the query
MAX_QUERY_TERMS = 256

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "too",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "who",
        "will",
        "with",
        "you",
        "your",
    ]
)

_TOKEN = re.compile(r"[^\W_]+")


def tokenize(text: str) -> list[str]:
    """Lowercase alphanumeric tokens, without stopwords and one-character tokens."""
    return list(_tokens(text[:MAX_TEXT_CHARS]))


@lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[str, ...]:
    # Cached: a tenant's indexed tickets are tokenized by several steps and again for the next
    # ticket a warm worker processes (4,096 texts of at most a few KB each).
    return tuple(t for t in _TOKEN.findall(text.lower()) if len(t) > 1 and t not in STOPWORDS)


_CACHED_DOCS = 2048  # documents' bags kept per container (``rank(..., cache_docs=True)``)
_MAX_CACHED_CHARS = 8192  # longer documents are never cached


def _bag(doc: str, split: Callable[[str], list[str]]) -> tuple[int, Mapping[str, int]]:
    """A document's length in tokens and its token counts (never mutated once made)."""
    tokens = split(doc[:MAX_TEXT_CHARS])
    return len(tokens), Counter(tokens)


_cached_bag = lru_cache(maxsize=_CACHED_DOCS)(_bag)


def rank(
    query: str,
    docs: Sequence[str],
    top_k: int,
    *,
    tokenizer: Callable[[str], list[str]] | None = None,
    cache_docs: bool = False,
) -> list[tuple[int, float]]:
    """``(index, score)`` of the best ``top_k`` documents with a positive score, best first.

    Ties keep document order, so the result is deterministic. ``tokenizer`` defaults to
    :func:`tokenize` (the index's :func:`ticket_enhancer.enhance.tokens.tokenize` also fits).
    ``cache_docs``: the documents' token counts are kept per container, keyed by the text and the
    tokenizer (a pure function of them: nothing passes between tenants), for documents ranked
    again and again: the newest processed tickets, which every job of a batch ranks.
    """
    split = tokenizer or tokenize
    if top_k <= 0 or not docs:
        return []
    terms = list(dict.fromkeys(split(query)))[:MAX_QUERY_TERMS]
    if not terms:
        return []
    counts: list[dict[str, int]] = []
    lengths: list[int] = []
    doc_freq: Counter[str] = Counter()
    for doc in docs:
        cached = cache_docs and len(doc) <= _MAX_CACHED_CHARS
        length, bag = _cached_bag(doc, split) if cached else _bag(doc, split)
        lengths.append(length)
        tf = {t: n for t in terms if (n := bag.get(t, 0))}
        counts.append(tf)
        doc_freq.update(tf.keys())
    n_docs = len(docs)
    avg_len = (sum(lengths) / n_docs) or 1.0
    idf = {t: math.log(1.0 + (n_docs - doc_freq[t] + 0.5) / (doc_freq[t] + 0.5)) for t in terms}
    scored: list[tuple[int, float]] = []
    for index, tf in enumerate(counts):
        if not tf:
            continue
        norm = K1 * (1.0 - B + B * lengths[index] / avg_len)
        score = 0.0
        for term in terms:
            freq = tf.get(term, 0)
            if freq:
                score += idf[term] * freq * (K1 + 1.0) / (freq + norm)
        if score > 0.0:
            scored.append((index, score))
    scored.sort(key=lambda pair: (-pair[1], pair[0]))
    return scored[:top_k]
