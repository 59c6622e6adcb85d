"""Words of many texts found and numbered with numpy, without a Python object per word.

:func:`~ticket_enhancer.enhance.tokens.tokenize_corpus` hands over each chunk of texts as UTF-8
bytes in which every non-ASCII separator is already a space (:func:`chunk_words`). A word is a run
of other bytes with the joiners ``. _ : -`` stripped from its ends (no multi-byte character is ever
cut: spaces and joiners are ASCII). Each word becomes an exact key of its bytes: its bytes
zero-padded to a multiple of 8 (a word never holds a NUL, which is a separator) as one to
:data:`MAX_COLUMNS` 64-bit integers; longer words (rare: GUIDs, long host names) stay ``bytes``.
:func:`number` numbers keys with a vectorised hash table (open addressing, linear probing, a
random multiplier per build so crafted text cannot aim at one slot) that compares whole keys, so
two different words never share a number; numbers follow the keys' sorted order, so a build's
output does not depend on the multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["MAX_COLUMNS", "ChunkWords", "chunk_words", "key_bytes", "number", "number_words"]

JOINER_BYTES = b"._:-"
_PAD = b" " * 8  # after a chunk's bytes: every 8-byte read of a word stays inside the buffer


MAX_COLUMNS = 4  # words of up to 32 bytes are numbered with numpy


@dataclass(frozen=True, slots=True)
class ChunkWords:
    """A chunk's words by size: ``keys[w - 1]`` holds the words of ``w`` 8-byte columns (up to
    ``8 * w`` bytes), ``docs[w - 1]`` their documents; longer words stay ``bytes``."""

    keys: list[tuple[npt.NDArray[np.uint64], ...]]
    docs: list[npt.NDArray[np.int64]]
    long: list[bytes]
    long_docs: list[int]


def _masks() -> npt.NDArray[np.uint64]:
    import numpy as np

    # masks[n]: the low n bytes of a little-endian 64-bit read
    return np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)


def chunk_words(data: bytes, lengths: list[int], table: bytes, first_doc: int) -> ChunkWords:
    """The words of ``data``: texts of ``lengths`` bytes joined by one space (text ``i`` is
    document ``first_doc + i``), after ``table`` made every ASCII separator a space and lowercased
    ASCII letters (``data`` holds no other separator)."""
    import numpy as np

    buf = data.translate(table) + _PAD
    chars = np.frombuffer(buf, dtype=np.uint8)
    text_ends = np.cumsum(np.asarray(lengths, dtype=np.int64) + 1)
    # Where a word starts or ends, alternately (the padding ends the last one).
    edges = np.flatnonzero(np.diff((chars != 32).view(np.int8), prepend=np.int8(0)))
    starts, ends = edges[0::2].copy(), edges[1::2].copy()
    joiner = np.zeros(256, dtype=bool)
    joiner[list(JOINER_BYTES)] = True
    # Joiners at a word's ends are dropped: only the words that have any are looked at again, one
    # byte a round (the byte past a word's end is a space, which stops the start's loop).
    moving = np.flatnonzero(joiner[chars[starts]])
    while moving.size:
        starts[moving] += 1
        moving = moving[joiner[chars[starts[moving]]]]
    moving = np.flatnonzero(joiner[chars[ends - 1]] & (ends > starts))
    while moving.size:
        ends[moving] -= 1
        moving = moving[(ends[moving] > starts[moving]) & joiner[chars[ends[moving] - 1]]]
    size = ends - starts
    docs = np.searchsorted(text_ends, starts, side="right") + first_doc
    # Each position's next 8 bytes as one little-endian integer (a view: nothing is copied).
    reads = np.ndarray(shape=(len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
    masks = _masks()
    columns = np.minimum((size + 7) // 8, MAX_COLUMNS + 1)  # 0: an empty word (only joiners)
    keys: list[tuple[npt.NDArray[np.uint64], ...]] = []
    key_docs: list[npt.NDArray[np.int64]] = []
    for width in range(1, MAX_COLUMNS + 1):
        these = np.flatnonzero(columns == width)
        at, tail = starts[these], masks[size[these] - 8 * (width - 1)]
        keys.append(
            tuple(reads[at + 8 * c] & tail if c == width - 1 else reads[at + 8 * c] for c in range(width))
        )
        key_docs.append(docs[these])
    long = np.flatnonzero(columns > MAX_COLUMNS)
    return ChunkWords(
        keys=keys,
        docs=key_docs,
        long=[buf[s:e] for s, e in zip(starts[long].tolist(), ends[long].tolist(), strict=True)],
        long_docs=docs[long].tolist(),
    )


def number_words(
    found: list[ChunkWords],
) -> tuple[list[bytes], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``(the distinct words, the number of each word, its document)`` of all chunks' words."""
    import numpy as np

    words: list[bytes] = []
    id_parts: list[npt.NDArray[np.int64]] = []
    doc_parts: list[npt.NDArray[np.int64]] = []
    for width in range(MAX_COLUMNS):
        columns = tuple(_cat([w.keys[width][c] for w in found], np.uint64) for c in range(width + 1))
        numbers, distinct = number(columns)
        id_parts.append(numbers + len(words))
        doc_parts.append(_cat([w.docs[width] for w in found], np.int64))
        words.extend(key_bytes(distinct))
    long_numbers: dict[bytes, int] = {}
    long_ids = [long_numbers.setdefault(word, len(long_numbers)) for w in found for word in w.long]
    id_parts.append(np.asarray(long_ids, dtype=np.int64) + len(words))
    doc_parts.append(np.asarray([d for w in found for d in w.long_docs], dtype=np.int64))
    words.extend(long_numbers)
    return words, np.concatenate(id_parts), np.concatenate(doc_parts)


def _cat(arrays: list[npt.NDArray[Any]], dtype: type[Any]) -> npt.NDArray[Any]:
    import numpy as np

    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype=dtype)


def key_bytes(columns: tuple[npt.NDArray[np.uint64], ...]) -> list[bytes]:
    """The word of each key (``columns``: one array per 8 bytes of the words)."""
    import numpy as np

    if not len(columns[0]):
        return []
    keys = np.ascontiguousarray(np.stack(columns, axis=1).astype("<u8", copy=False))
    # An S dtype drops the zero padding (a word never ends in a NUL).
    words: list[bytes] = keys.view(f"S{8 * len(columns)}").ravel().tolist()
    return words


def number(
    columns: tuple[npt.NDArray[np.uint64], ...],
) -> tuple[npt.NDArray[np.int64], tuple[npt.NDArray[np.uint64], ...]]:
    """``(number of each key, the distinct keys in sorted order)``; keys are rows across ``columns``."""
    import numpy as np

    n = len(columns[0])
    if not n:
        return np.zeros(0, dtype=np.int64), tuple(c[:0] for c in columns)
    rng = np.random.default_rng()
    hashed = np.zeros(n, dtype=np.uint64)
    for column in columns:  # multiply-shift hashing; uint64 arithmetic wraps around
        hashed += column * (rng.integers(0, 2**63, dtype=np.uint64) * np.uint64(2) + np.uint64(1))
    bits = max(4, (4 * _distinct(hashed)).bit_length())  # load at most about 1/4
    while (placed := _place(columns, hashed, bits)) is None:
        bits += 1  # never in practice: more distinct keys than the table could hold
    table, slot_of = placed
    filled = np.flatnonzero(table >= 0)
    first = table[filled]  # one row per distinct key
    unique = tuple(c[first] for c in columns)
    order = np.lexsort(unique[::-1])  # by the first column, then the next
    rank = np.zeros(len(table), dtype=np.int64)
    rank[filled[order]] = np.arange(len(order), dtype=np.int64)
    return rank[slot_of], tuple(c[order] for c in unique)


def _distinct(hashed: npt.NDArray[np.uint64]) -> int:
    """About how many distinct values ``hashed`` holds (linear counting over a 2**22-bit map:
    within a few percent up to millions); exact, by sorting, when the map fills up."""
    import numpy as np

    seen = np.zeros(1 << 22, dtype=bool)
    seen[hashed >> np.uint64(42)] = True
    empty = (1 << 22) - int(np.count_nonzero(seen))
    if empty > (1 << 22) // 16:
        return int(-(1 << 22) * np.log(empty / (1 << 22))) + 1
    ordered = np.sort(hashed)
    return 1 + int(np.count_nonzero(ordered[1:] != ordered[:-1]))


def _place(
    columns: tuple[npt.NDArray[np.uint64], ...], hashed: npt.NDArray[np.uint64], bits: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    """The table (per slot: the first-placed row of its key, or -1) and each row's slot; ``None``
    if the table filled up."""
    import numpy as np

    size = 1 << bits
    table = np.full(size, -1, dtype=np.int64)
    slot_of = (hashed >> np.uint64(64 - bits)).astype(np.int64)
    # The first round over every row (no row lists yet), then only the rows still unplaced.
    rows = np.arange(len(hashed), dtype=np.int64)
    table[slot_of] = rows  # one row of those aiming at a slot gets it
    held = table[slot_of]
    same = np.ones(len(hashed), dtype=bool)
    for column in columns:
        same &= column[held] == column
    pending = np.flatnonzero(~same)
    slots = (slot_of[pending] + 1) & (size - 1)  # linear probing
    while pending.size:
        held = table[slots]
        empty = held < 0
        if empty.any():
            table[slots[empty]] = pending[empty]
            held = table[slots]
        same = np.ones(len(pending), dtype=bool)
        for column in columns:
            same &= column[held] == column[pending]
        slot_of[pending[same]] = slots[same]
        pending, slots = pending[~same], (slots[~same] + 1) & (size - 1)
        if pending.size and not (table < 0).any():
            return None
    return table, slot_of
