"""The index's tokenizer: words, and IPs, host names and error codes kept as whole tokens.

``10.1.2.3``, ``vpn.acme.com``, ``0x80070005``, ``ERR_CONNECTION_RESET`` and ``fe80::1`` each stay
one token (lowercased), so a ticket that names an address or a code finds the tickets and articles
that name the same one. A compound also yields its ``:``-separated pieces (``vpn.acme.com:443``
gives ``vpn.acme.com``) and its words (``vpn``, ``acme``, ``connection``), so a search for the word
alone still matches. Every punctuation, symbol, separator or control character other than the
joiners ``. _ : -`` ends a token, and joiners at a token's ends are dropped (a sentence's full stop
is not part of its last word).

:func:`tokenize` (a query) is built on ``str.translate``, ``str.split`` and ``map``/``filterfalse``
rather than a regular expression or a Python loop per word; :func:`tokenize_corpus` (an index build)
gives each text the same bag with numpy over the texts' bytes (:mod:`.token_numbers`), with no
Python object per word: indexing 100,000 tickets spent most of its time here. The input is capped
so hostile text costs little.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Sequence
from itertools import filterfalse, repeat
from typing import TYPE_CHECKING

from ticket_enhancer.enhance.bm25 import STOPWORDS

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ticket_enhancer.enhance.token_numbers import ChunkWords

__all__ = ["JOINERS", "MAX_TEXT_CHARS", "tokenize", "tokenize_corpus"]

MAX_TEXT_CHARS = 20_000
JOINERS = "._:-"
_CHUNK_TEXTS = 4096  # texts split and numbered at a time by tokenize_corpus
_PARTS = re.compile(r"[._:\-]+")
# Never a token: stopwords, the empty string and single ASCII letters and digits.
_DROP = frozenset(STOPWORDS | {""} | set(string.ascii_lowercase) | set(string.digits))
# punctuation, symbols, separators, controls and format characters (not unassigned/private ones)
_SEPARATING = frozenset(
    ["Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf"]
)
# The same rule for ASCII as a bytes.translate table, which also lowercases (bytes from 0x80 up,
# parts of UTF-8 sequences, stay as they are).
_ASCII_TABLE = bytes(
    32
    if code < 128 and unicodedata.category(chr(code)) in _SEPARATING and chr(code) not in JOINERS
    else ord(chr(code).lower())
    if code < 128
    else code
    for code in range(256)
)


@functools.cache
def _separators() -> dict[int, str]:
    """Every non-joiner punctuation, symbol, separator or control character -> a space.

    The Basic Multilingual Plane's (where all common punctuation lives), built once per container
    on first use (about 20 ms: not on the cold start).
    """
    return {
        code: " "
        for code in range(0x10000)
        if unicodedata.category(chr(code)) in _SEPARATING and chr(code) not in JOINERS
    }


def _pieces(compound: str) -> list[str]:
    """What a compound adds besides itself: its ``:``-separated pieces, then its words."""
    pieces: list[str] = []
    if ":" in compound:
        pieces.extend(
            p for p in (q.strip(JOINERS) for q in compound.split(":")) if len(p) > 1 and p != compound
        )
    pieces.extend(p for p in _PARTS.split(compound) if p not in _DROP)
    return pieces


def _words(text: str) -> str:
    return text[:MAX_TEXT_CHARS].lower().translate(_separators())


def tokenize(text: str) -> list[str]:
    """Lowercase tokens of ``text`` (a bag: words and compounds, then the compounds' pieces);
    no stopwords, no one-character ASCII words (one CJK character is a word)."""
    tokens = list(filterfalse(_DROP.__contains__, map(str.strip, _words(text).split(), repeat(JOINERS))))
    for compound in list(filterfalse(str.isalnum, tokens)):
        tokens.extend(_pieces(compound))
    return tokens


def tokenize_corpus(texts: Sequence[str]) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The tokens of many texts at once: ``(vocabulary, token ids, document of each token)``.

    The same bag per text as :func:`tokenize`, computed over the whole corpus with numpy
    (:mod:`.token_numbers`: words found in the texts' UTF-8 bytes and numbered exactly, with no
    Python object or call per word) and each distinct compound split once: building an index of
    100,000 tickets would otherwise spend most of its time in a Python call per word. In chunks
    of texts, so the bytes of 100,000 tickets are never all in memory at once.
    """
    import numpy as np

    from ticket_enhancer.enhance.token_numbers import chunk_words, number_words

    found: list[ChunkWords] = []
    for start in range(0, len(texts), _CHUNK_TEXTS):
        chunk = texts[start : start + _CHUNK_TEXTS]
        if max(map(len, chunk), default=0) > MAX_TEXT_CHARS:
            chunk = [text[:MAX_TEXT_CHARS] for text in chunk]
        joined = " ".join(chunk)
        if joined.isascii():  # nearly always: the bytes table alone lowercases and separates
            found.append(chunk_words(joined.encode(), list(map(len, chunk)), _ASCII_TABLE, start))
            continue
        parts = [
            text.encode() if text.isascii() else _words(text).encode("utf-8", "surrogatepass")
            for text in chunk
        ]
        found.append(chunk_words(b" ".join(parts), list(map(len, parts)), _ASCII_TABLE, start))
    words, ids, docs = number_words(found)
    del found
    vocabulary = [word.decode("utf-8", "surrogatepass") for word in words]
    drop = np.fromiter((w in _DROP for w in vocabulary), dtype=bool, count=len(vocabulary))
    if drop.any():  # the dropped words leave the vocabulary too: every entry left occurs
        kept = ~drop[ids]
        ids, docs = ids[kept], docs[kept]
        vocabulary = [w for w, dropped in zip(vocabulary, drop.tolist(), strict=True) if not dropped]
        renumber = np.cumsum(~drop) - 1
        ids = renumber[ids]
    positions = {word: i for i, word in enumerate(vocabulary)}
    # Each distinct compound's pieces, once, as a table: piece ids per vocabulary entry.
    counts = np.zeros(len(vocabulary), dtype=np.int64)
    table: list[int] = []
    for word_id, word in enumerate(list(vocabulary)):
        if not word.isalnum():
            pieces = _pieces(word)
            counts[word_id] = len(pieces)
            for piece in pieces:
                if piece not in positions:
                    positions[piece] = len(vocabulary)
                    vocabulary.append(piece)
                table.append(positions[piece])
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    compounds = np.flatnonzero(counts[ids]) if table else np.zeros(0, dtype=np.int64)
    if compounds.size:  # each compound occurrence adds its pieces (only those occurrences are touched)
        compound_ids = ids[compounds]
        per_token = counts[compound_ids]
        total = int(per_token.sum())
        offsets = np.repeat(starts[compound_ids] - np.cumsum(per_token) + per_token, per_token) + np.arange(
            total
        )
        ids = np.concatenate((ids, np.asarray(table, dtype=np.int64)[offsets]))
        docs = np.concatenate((docs, np.repeat(docs[compounds], per_token)))
    return vocabulary, ids, docs
