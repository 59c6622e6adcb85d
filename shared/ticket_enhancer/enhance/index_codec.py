"""A :class:`~ticket_enhancer.enhance.index.TenantIndex` as one compact object, and back.

Layout (then zlib-compressed as a whole): ``TEIX`` + format byte, an 8-byte big-endian header
length, a UTF-8 JSON header (tenant id, ticket and article columns, vocabularies, the array table)
and the raw little-endian numpy arrays it lists, back to back. JSON and raw arrays only: loading
never unpickles or evaluates anything, and every length is checked against the data.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.errors import ContextStoreError
from ticket_enhancer.enhance.index import TICKET_FIELDS, Bm25, TenantIndex

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["FORMAT", "decode_index", "encode_index"]

MAGIC = b"TEIX"
FORMAT = 1
_DTYPES = {"<f4", "<i4", "<i8"}
MAX_DECOMPRESSED_BYTES = 2 * 1024**3  # refuse anything that would not fit a worker anyway


def encode_index(index: TenantIndex, *, level: int = 3) -> bytes:
    """The index as bytes (see the module docstring)."""
    ticket_vocab, ticket_arrays = index.ticket_bm25.arrays()
    passage_vocab, passage_arrays = index.passage_bm25.arrays()
    arrays: dict[str, npt.NDArray[Any]] = {
        "ticket_scope": index.ticket_scope,
        "ticket_time": index.ticket_time,
        "passage_article": index.passage_article,
    }
    arrays.update({f"ticket_{k}": v for k, v in ticket_arrays.items()})
    arrays.update({f"passage_{k}": v for k, v in passage_arrays.items()})
    table: list[list[Any]] = []
    blobs: list[bytes] = []
    for name, array in arrays.items():
        data = array.astype(array.dtype.newbyteorder("<"), copy=False)
        table.append([name, data.dtype.str, int(data.size)])
        blobs.append(data.tobytes())
    header = json.dumps(
        {
            "tenant_id": index.tenant_id,
            "tickets": index.tickets,
            "scopes": index.scopes,
            "articles": index.articles,
            "passages": index.passage_text,
            "ticket_vocab": ticket_vocab,
            "passage_vocab": passage_vocab,
            "arrays": table,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
    raw = b"".join([MAGIC, bytes([FORMAT]), struct.pack(">Q", len(header)), header, *blobs])
    return zlib.compress(raw, level)


def _fail(why: str) -> ContextStoreError:
    return ContextStoreError(f"unreadable index: {why}")


def decode_index(blob: bytes, *, tenant_id: str) -> TenantIndex:
    """The index in ``blob``; it must be ``tenant_id``'s (an index never serves another tenant)."""
    try:
        return _decode(blob, tenant_id)
    except ContextStoreError:
        raise
    except (
        KeyError,
        TypeError,
        ValueError,
        IndexError,
        AttributeError,
    ) as exc:  # a header of the wrong shape
        raise _fail(f"malformed ({type(exc).__name__})") from exc


def _decode(blob: bytes, tenant_id: str) -> TenantIndex:
    import numpy as np

    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(blob, MAX_DECOMPRESSED_BYTES)
    except zlib.error as exc:
        raise _fail("not zlib data") from exc
    if inflater.unconsumed_tail or len(raw) < 13 or raw[:4] != MAGIC or raw[4] != FORMAT:
        raise _fail("unknown format")
    (size,) = struct.unpack(">Q", raw[5:13])
    try:
        header = json.loads(raw[13 : 13 + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _fail("bad header") from exc
    if not isinstance(header, dict) or header.get("tenant_id") != tenant_id:
        raise _fail("it belongs to another tenant")
    arrays: dict[str, npt.NDArray[Any]] = {}
    offset = 13 + size
    for name, dtype, count in header["arrays"]:
        if dtype not in _DTYPES or not isinstance(count, int) or count < 0:
            raise _fail(f"bad array {name!r}")
        end = offset + count * np.dtype(dtype).itemsize
        if end > len(raw):
            raise _fail("truncated")
        # A copy: aligned (numpy is several times slower on the unaligned views frombuffer gives
        # at these offsets) and not pinning the whole decompressed buffer in memory.
        arrays[name] = np.frombuffer(raw, dtype=dtype, count=count, offset=offset).copy()
        offset = end
    n_tickets = len(header["tickets"]["ticket_id"])
    # A field added after an index was written (category, group, priority, group_id) reads as "".
    tickets = {name: list(header["tickets"].get(name) or [""] * n_tickets) for name in TICKET_FIELDS}
    passages = list(header["passages"])

    def bm25(prefix: str, vocab: list[str], size: int) -> Bm25:
        if not vocab:
            return Bm25(None, size)
        indptr = arrays[f"{prefix}_indptr"]
        if len(indptr) != len(vocab) + 1 or int(indptr[-1]) != len(arrays[f"{prefix}_data"]):
            raise _fail(f"{prefix} postings do not match the vocabulary")
        return Bm25.from_arrays(vocab, arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], indptr, size)

    index = TenantIndex(
        tenant_id=tenant_id,
        tickets=tickets,
        ticket_scope=arrays["ticket_scope"],
        ticket_time=arrays["ticket_time"],
        scopes=list(header["scopes"]),
        ticket_bm25=bm25("ticket", list(header["ticket_vocab"]), n_tickets),
        articles={k: list(header["articles"][k]) for k in ("article_id", "title", "url")},
        passage_article=arrays["passage_article"],
        passage_text=passages,
        passage_bm25=bm25("passage", list(header["passage_vocab"]), len(passages)),
    )
    if len(index.ticket_scope) != n_tickets or len(index.passage_article) != len(passages):
        raise _fail("column lengths differ")
    return index
