"""Where imported records go: one DynamoDB item per ticket and per article, keyed by its id.

Why items keyed by the record's id rather than S3 chunks per page: a rerun (an interrupted page
fetched again, the daily run's overlap, a ticket resolved again) overwrites the same item, so the
store never holds a record twice, whatever the pages looked like; the worker and the index build
already read these partitions (``enhance.store``), and ``tenants erase`` already deletes them.
BatchWriteItem writes 25 a call.

* history: ``<tenant>#ticket`` / ticket id (the processed-ticket partition), with the history
  fields of :class:`~ticket_enhancer.enhance.records.IndexedTicket` and ``origin = history``;
  ``expires_at`` = resolution time + the index retention (``retention.INDEX``): a ticket resolved
  longer ago than that is not stored (counted as ``expired``).
* knowledge: ``<tenant>#kb`` / ``sync:<article id>`` (articles loaded from a JSONL file keep their
  hashed ids), ``title``, ``body``, ``url``; never expire (a removed article goes with the next
  full import: documented).

A record without an id, or with an id longer than 128 characters, is malformed: skipped, counted.

* erased tickets: ``<tenant>#erased`` / SHA-256 of the ticket id, written by ``tenants erase ID --ticket
  T`` (no text, not even the id in clear). The tool still holds the ticket, so without it the next sync
  would import it again; :meth:`DynamoRecordStore.put_tickets` leaves those ids out (counted as
  ``erased``). Erasing the whole tenant deletes the partition with everything else.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.retention import DAY_SECONDS
from ticket_enhancer.tenants import valid_tenant_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_ID_CHARS = 128
MAX_TEXT_BYTES = 4096  # as the processed-ticket index (enhance.store.MAX_INDEXED_TEXT_BYTES)
MAX_FIELD_CHARS = 1024
MAX_ARTICLE_BODY_CHARS = 50_000
ARTICLE_PREFIX = "sync:"
ERASED_KIND = "erased"  # ContextTable partition ``<tenant>#erased``: ticket ids a sync must not import
_BATCH = 25
_MAX_BATCH_TRIES = 8


@dataclass(frozen=True)
class Stored:
    written: int = 0
    skipped: int = 0  # malformed
    expired: int = 0  # resolved before the retention window
    erased: int = 0  # erased by `tenants erase --ticket`: never imported again


class RecordStore(Protocol):
    def put_tickets(
        self, tenant_id: str, tickets: Sequence[IndexedTicket], *, retention_days: int
    ) -> Stored: ...

    def put_articles(self, tenant_id: str, articles: Sequence[Article]) -> Stored: ...


def _prefix(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", errors="ignore")


def _valid_id(value: str) -> bool:
    return bool(value.strip()) and len(value) <= MAX_ID_CHARS


def _epoch(iso: str) -> float | None:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else None
    except ValueError:
        return None


def erased_digest(ticket_id: str) -> str:
    return hashlib.sha256(ticket_id.encode()).hexdigest()


def erased_marker(tenant_id: str, ticket_id: str) -> dict[str, Any]:
    """The item that keeps an erased ticket out of later syncs: a digest of its id, none of its text."""
    return {"pk": {"S": f"{tenant_id}#{ERASED_KIND}"}, "sk": {"S": erased_digest(ticket_id)}}


def ticket_item(tenant_id: str, ticket: IndexedTicket, expires_at: int) -> dict[str, Any]:
    values = {
        "display_key": ticket.display_key[:MAX_FIELD_CHARS],
        "subject": _prefix(ticket.subject, MAX_FIELD_CHARS),
        "text": _prefix(ticket.text, MAX_TEXT_BYTES),
        "url": ticket.url[:MAX_FIELD_CHARS],
        "created": ticket.created[:64],
        "resolution": _prefix(ticket.resolution, MAX_TEXT_BYTES),
        "resolved": ticket.resolved[:64],
        "status": (ticket.status or "resolved")[:32],
        "category": ticket.category[:MAX_FIELD_CHARS],
        "group": ticket.group[:MAX_FIELD_CHARS],
        "group_id": ticket.group_id[:MAX_FIELD_CHARS],
        "priority": ticket.priority[:MAX_FIELD_CHARS],
        "scope": ticket.scope[:MAX_FIELD_CHARS],
        "origin": "history",
    }
    item: dict[str, Any] = {"pk": {"S": f"{tenant_id}#ticket"}, "sk": {"S": ticket.ticket_id}}
    item.update({k: {"S": v} for k, v in values.items() if v})
    item["expires_at"] = {"N": str(expires_at)}
    return item


def article_item(tenant_id: str, article: Article) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": f"{tenant_id}#kb"},
        "sk": {"S": ARTICLE_PREFIX + article.article_id},
        "title": {"S": article.title[:MAX_FIELD_CHARS]},
        "body": {"S": article.body[:MAX_ARTICLE_BODY_CHARS]},
        "origin": {"S": "knowledge"},
    }
    if article.url:
        item["url"] = {"S": article.url[:MAX_FIELD_CHARS]}
    return item


class DynamoRecordStore:
    """:class:`RecordStore` on the ContextTable (sync botocore)."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, *, clock: Any = time.time) -> None:
        self._db, self._table, self._clock = dynamodb, table, clock
        self._erased: dict[str, frozenset[str]] = {}  # per tenant, read once per store (one sync run)

    def _write(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), _BATCH):
            # One item per key in a batch: a page listing a ticket twice keeps its last copy.
            batch = list({(i["pk"]["S"], i["sk"]["S"]): i for i in items[start : start + _BATCH]}.values())
            requests: list[Any] = [{"PutRequest": {"Item": item}} for item in batch]
            for attempt in range(_MAX_BATCH_TRIES):
                answer = self._db.batch_write_item(RequestItems={self._table: requests})
                requests = list((answer.get("UnprocessedItems") or {}).get(self._table, []))
                if not requests:
                    break
                time.sleep(min(2.0, 0.05 * 2**attempt))
            if requests:
                raise RuntimeError(f"DynamoDB left {len(requests)} items unwritten")

    def put_tickets(self, tenant_id: str, tickets: Sequence[IndexedTicket], *, retention_days: int) -> Stored:
        if not valid_tenant_id(tenant_id):
            raise ValueError(f"invalid tenant id {tenant_id!r}")
        now = self._clock()
        erased_ids = self.erased_ids(tenant_id)
        items, skipped, expired, erased = [], 0, 0, 0
        for ticket in tickets:
            if not isinstance(ticket, IndexedTicket) or not _valid_id(ticket.ticket_id):
                skipped += 1
                continue
            if erased_ids and erased_digest(ticket.ticket_id) in erased_ids:
                erased += 1
                continue
            when = _epoch(ticket.resolved) or _epoch(ticket.created) or now
            expires_at = int(min(when, now) + retention_days * DAY_SECONDS)
            if retention_days <= 0 or expires_at <= now:
                expired += 1
                continue
            items.append(ticket_item(tenant_id, ticket, expires_at))
        self._write(items)
        return Stored(written=len(items), skipped=skipped, expired=expired, erased=erased)

    def erased_ids(self, tenant_id: str) -> frozenset[str]:
        """Digests of the tenant's erased ticket ids (``tenants erase --ticket``), read once per store."""
        if tenant_id not in self._erased:
            pk = f"{tenant_id}#{ERASED_KIND}"
            self._erased[tenant_id] = frozenset(item["sk"]["S"] for item in self._items(pk))
        return self._erased[tenant_id]

    def put_articles(self, tenant_id: str, articles: Sequence[Article]) -> Stored:
        if not valid_tenant_id(tenant_id):
            raise ValueError(f"invalid tenant id {tenant_id!r}")
        items, skipped = [], 0
        for article in articles:
            if (
                not isinstance(article, Article)
                or not _valid_id(article.article_id)
                or not (article.title.strip() or article.url.strip())
            ):
                skipped += 1
                continue
            items.append(article_item(tenant_id, article))
        self._write(items)
        return Stored(written=len(items), skipped=skipped)

    # -- reading back (the index build, tests) -------------------------------------------------------
    def _items(self, pk: str) -> Iterator[Mapping[str, Any]]:
        start: Mapping[str, Any] | None = None
        while True:
            request: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": pk}},
            }
            if start:
                request["ExclusiveStartKey"] = start
            page = self._db.query(**request)
            yield from page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    def iter_tickets(self, tenant_id: str, *, origin: str | None = None) -> Iterator[IndexedTicket]:
        """The tenant's indexed tickets: every one, or only those of ``origin`` (``history``)."""
        if not valid_tenant_id(tenant_id):
            raise ValueError(f"invalid tenant id {tenant_id!r}")
        names = ("display_key", "subject", "text", "url", "created", "resolution", "resolved")
        more = ("status", "category", "group", "priority", "scope", "group_id")
        for item in self._items(f"{tenant_id}#ticket"):
            if origin is not None and item.get("origin", {}).get("S", "") != origin:
                continue
            values = {n: item.get(n, {}).get("S", "") for n in (*names, *more)}
            yield IndexedTicket(ticket_id=item["sk"]["S"], **values)

    def iter_articles(self, tenant_id: str) -> Iterator[Article]:
        if not valid_tenant_id(tenant_id):
            raise ValueError(f"invalid tenant id {tenant_id!r}")
        for item in self._items(f"{tenant_id}#kb"):
            yield Article(
                article_id=item["sk"]["S"],
                title=item.get("title", {}).get("S", ""),
                body=item.get("body", {}).get("S", ""),
                url=item.get("url", {}).get("S", ""),
            )
