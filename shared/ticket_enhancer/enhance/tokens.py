"""The index's tokenizer: words, and IPs, host names and error codes kept as whole tokens.

``10.1.2.3``, ``vpn.acme.com``, ``0x80070005``, ``ERR_CONNECTION_RESET`` and ``fe80::1`` each stay
one token (lowercased), so a ticket that names an address or a code finds the tickets and articles
that name the same one. A compound also yields its ``:``-separated pieces (``vpn.acme.com:443``
gives ``vpn.acme.com``) and its words (``vpn``, ``acme``, ``connection``), so a search for the word
alone still matches. Every punctuation, symbol, separator or control character other than the
joiners ``. _ : -`` ends a token, and joiners at a token's ends are dropped (a sentence's full stop
is not part of its last word).

It is built on ``str.translate``, ``str.split`` and ``map``/``filterfalse`` rather than a regular
expression or a Python loop per word: indexing 100,000 tickets spends most of its time here. The input is
capped so hostile text costs little.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections.abc import Sequence
from itertools import count, filterfalse, repeat
from typing import TYPE_CHECKING

from ticket_enhancer.enhance.bm25 import STOPWORDS

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["JOINERS", "MAX_TEXT_CHARS", "tokenize", "tokenize_corpus"]

MAX_TEXT_CHARS = 20_000
JOINERS = "._:-"
_BYTE_JOINERS = JOINERS.encode()
_CHUNK_TEXTS = 4096  # texts split and numbered at a time by tokenize_corpus
_PARTS = re.compile(r"[._:\-]+")
# Never a token: stopwords, the empty string and single ASCII letters and digits.
_DROP = frozenset(STOPWORDS | {""} | set(string.ascii_lowercase) | set(string.digits))
# punctuation, symbols, separators, controls and format characters (not unassigned/private ones)
_SEPARATING = frozenset(
    ["Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf"]
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

    The same bag per text as :func:`tokenize`, computed over the whole corpus in one ``split`` and
    with numpy, and each distinct compound split once: building an index of 100,000 tickets
    would otherwise spend most of its time in a Python call per ticket and per word.
    """
    import numpy as np

    marker = "\x00"  # translate() made every NUL of the texts a space: this one only ends a text
    # Split as UTF-8 bytes (about a quarter faster than str.split, same words: translate() left the
    # space as the only whitespace below U+10000, and none lies above); only the distinct words
    # are decoded again.
    # One pass over the words: a word's id is where it first occurs (setdefault keeps the first);
    # joiners are stripped and ids made dense per distinct word, not per occurrence. In chunks of
    # texts: the words of 100,000 tickets at once would be ~9 million objects alive together.
    first: dict[bytes, int] = {}
    where_parts: list[npt.NDArray[np.int64]] = []
    occurrence = count()
    for start in range(0, len(texts), _CHUNK_TEXTS):
        chunk = texts[start : start + _CHUNK_TEXTS]
        ends = f" {marker} " if start + _CHUNK_TEXTS < len(texts) else ""  # ends the chunk's last text
        words = (f" {marker} ".join(map(_words, chunk)) + ends).encode("utf-8", "surrogatepass").split()
        where_parts.append(
            np.fromiter(map(first.setdefault, words, occurrence), dtype=np.int64, count=len(words))
        )
        del words
    where = np.concatenate(where_parts) if where_parts else np.zeros(0, dtype=np.int64)
    del where_parts
    positions: dict[str, int] = {}
    dense = [
        positions.setdefault(word.strip(_BYTE_JOINERS).decode("utf-8", "surrogatepass"), len(positions))
        for word in first
    ]
    renumber = np.zeros(len(where) + 1, dtype=np.int64)
    renumber[np.fromiter(first.values(), dtype=np.int64, count=len(first))] = dense
    ids = renumber[where]
    vocabulary = list(positions)
    is_marker = ids == positions.get(marker, -1)
    docs = np.cumsum(is_marker)
    drop = np.fromiter((w in _DROP or w == marker for w in vocabulary), dtype=bool, count=len(vocabulary))
    kept = ~drop[ids]
    ids, docs = ids[kept], docs[kept]
    # Each distinct compound's pieces, once, as a table: piece ids per vocabulary entry.
    counts = np.zeros(len(vocabulary), dtype=np.int64)
    table: list[int] = []
    for word_id, word in enumerate(list(vocabulary)):
        if not drop[word_id] and not word.isalnum():
            pieces = _pieces(word)
            counts[word_id] = len(pieces)
            for piece in pieces:
                if piece not in positions:
                    positions[piece] = len(vocabulary)
                    vocabulary.append(piece)
                table.append(positions[piece])
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    per_token = counts[ids]
    if table and per_token.any():
        total = int(per_token.sum())
        offsets = np.repeat(starts[ids] - np.cumsum(per_token) + per_token, per_token) + np.arange(total)
        ids = np.concatenate((ids, np.asarray(table, dtype=np.int64)[offsets]))
        docs = np.concatenate((docs, np.repeat(docs, per_token)))
    return vocabulary, ids, docs
