"""A tenant's knowledge articles, asset inventory and processed-ticket index (the ContextTable).

Layout (``pk`` / ``sk``, both strings):

* ``<tenant_id>#kb`` / article id: ``title``, ``body``, ``url``
* ``<tenant_id>#asset`` / CIDR, IP or host name: ``name``, ``notes``
* ``<tenant_id>#ticket`` / ticket id: ``display_key``, ``subject``, ``text``, ``url``, ``created``,
  ``scope``, ``status``, ``category``, ``group``, ``priority`` (for duplicate/burst detection and
  triage; items written before a field existed read it as "", a missing status as open),
  ``expires_at`` (the table's TTL: ``retention.INDEX``, 365 days unless the deployment or the
  tenant chose otherwise; articles and assets never expire)
* ``<tenant_id>#recent`` / ``<indexed at, ISO 8601 UTC>#<ticket id>``: ``ticket_id`` and the same
  ``expires_at``; one per processing of a ticket, so a ``Query`` newest first gives the newest
  processed tickets by time (the ticket-id sort key orders ``"99"`` after ``"1000"``). It holds no
  ticket text: erasing a ticket's ``#ticket`` item erases its content. Tickets processed before
  these pointers existed are not in the window; the tenant's history sync brings resolved ones in.
* ``<tenant_id>#index`` / ``current``: the pointer to the tenant's search index in S3
  (:mod:`ticket_enhancer.enhance.index_store`).

A job's reads: the newest processed tickets (:meth:`ContextStore.recent_tickets`, a ``Query`` and a
``BatchGetItem``) are read once per tenant by the jobs of one worker invocation (an SQS batch of up to
10 records, run concurrently) inside :func:`shared_reads`, and kept at most ``SHARED_SECONDS``: the
records of a batch ask within moments of each other, so one read serves them all instead of ten
(a processed ticket's own write lands after its note: a record of the same batch did not see it
before either). Articles and assets are cached by the store (``cache_seconds``). A job's writes
(:meth:`ContextStore.index_ticket`): an ``UpdateItem`` of its ticket (a ticket the history sync
imported keeps its resolution) and its ``#recent`` pointer in a ``BatchWriteItem`` it shares with the
jobs that index theirs at the same moment (:mod:`ticket_enhancer.enhance.group_writes`).

Tenant isolation: every read is a ``Query`` on one tenant's partition key, never a ``Scan``, and
the tenant id is validated, so no id can address another tenant's partition. The calls are
synchronous boto3; async callers wrap them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ticket_enhancer.cache import TtlCache
from ticket_enhancer.enhance.errors import ContextStoreError
from ticket_enhancer.enhance.group_writes import GroupWriter
from ticket_enhancer.enhance.records import Article, Asset, IndexedTicket
from ticket_enhancer.retention import DAY_SECONDS, INDEX
from ticket_enhancer.tenants import valid_tenant_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from ticket_enhancer.models import Ticket

__all__ = [
    "MAX_ARTICLE_BODY_CHARS",
    "MAX_INDEXED_TEXT_BYTES",
    "RECENT_LIMIT",
    "SHARED_SECONDS",
    "ContextStore",
    "ContextStoreError",
    "article_id",
    "shared_reads",
]

MAX_INDEXED_TEXT_BYTES = 4096
MAX_ARTICLE_BODY_CHARS = 50_000  # stays well under DynamoDB's 400 KB item limit
_MAX_FIELD_CHARS = 1024
_PAGE_SIZE = 500
_MAX_CACHED = 512  # (tenant, kind) entries kept by a worker
RECENT_LIMIT = 100  # newest processed tickets a job reads (one BatchGetItem holds 100 keys)
SHARED_SECONDS = 5.0  # at most this old, a read shared by the jobs of one invocation

# The reads the jobs of one invocation share (``shared_reads``); None outside one: every call reads.
_SHARED: ContextVar[TtlCache[tuple[str, str, int], list[IndexedTicket]] | None] = ContextVar(
    "ticket_enhancer_shared_reads", default=None
)


@contextmanager
def shared_reads() -> Iterator[None]:
    """Within it (one worker invocation: its records' tasks and threads inherit the context), the
    newest processed tickets are read once per tenant (single flight) and shared for at most
    ``SHARED_SECONDS``; a read that fails is shared by the jobs waiting for it and not kept."""
    token = _SHARED.set(TtlCache(max_entries=64))
    try:
        yield
    finally:
        _SHARED.reset(token)


def _utf8_prefix(text: str, limit: int) -> str:
    """At most ``limit`` UTF-8 bytes of ``text``, cut on a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


def _s(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if isinstance(value, Mapping):
        text = value.get("S")
        if isinstance(text, str):
            return text
    return ""


def article_id(title: str, url: str) -> str:
    """A short stable id: the sha256 of the URL (or of the title when there is no URL)."""
    basis = url.strip() or title.strip()
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]


class ContextStore:
    """Reads and writes one tenant's context items; sync boto3 (wrap with ``asyncio.to_thread``)."""

    def __init__(
        self,
        dynamodb_client: DynamoDBClient,
        table: str,
        *,
        cache_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        index_retention_days: int = INDEX.default,
    ) -> None:
        self._client = dynamodb_client
        self._table = table
        self._index_retention_days = index_retention_days  # the deployment's (INDEX_RETENTION_DAYS)
        # A tenant's articles and inventory change rarely and are read for every ticket: the worker
        # keeps them for `cache_seconds` (the CLI, which writes them, uses no cache).
        self._cache_seconds = cache_seconds
        self._cache: TtlCache[tuple[str, str, int], list[dict[str, Any]]] = TtlCache(
            max_entries=_MAX_CACHED, clock=clock
        )
        # Processed tickets' items: the jobs of a batch index theirs together (group commit).
        self._writes = GroupWriter(dynamodb_client, table)

    def _cached_query(self, tenant_id: str, kind: str, limit: int) -> list[dict[str, Any]]:
        if self._cache_seconds <= 0:
            return self._query(tenant_id, kind, limit)
        return self._cache.get_or_load(
            (tenant_id, kind, limit), lambda: self._query(tenant_id, kind, limit), self._cache_seconds
        )

    @staticmethod
    def _pk(tenant_id: str, kind: str) -> str:
        if not valid_tenant_id(tenant_id):
            raise ContextStoreError(f"invalid tenant id {tenant_id!r}")
        return f"{tenant_id}#{kind}"

    def _put(
        self,
        tenant_id: str,
        kind: str,
        sk: str,
        attributes: Mapping[str, str],
        *,
        expires_at: int | None = None,
    ) -> None:
        self._client.put_item(
            TableName=self._table, Item=self._item(tenant_id, kind, sk, attributes, expires_at)
        )

    def _item(
        self, tenant_id: str, kind: str, sk: str, attributes: Mapping[str, str], expires_at: int | None = None
    ) -> dict[str, Any]:
        if not sk:
            raise ContextStoreError(f"empty {kind} key")
        item: dict[str, Any] = {"pk": {"S": self._pk(tenant_id, kind)}, "sk": {"S": sk}}
        item.update({name: {"S": value} for name, value in attributes.items()})
        if expires_at is not None:  # the table's TTL attribute: DynamoDB deletes the item after it
            item["expires_at"] = {"N": str(expires_at)}
        return item

    def _query(
        self, tenant_id: str, kind: str, limit: int, *, newest_first: bool = False
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` items of one tenant partition, following ``LastEvaluatedKey``."""
        pk = self._pk(tenant_id, kind)
        items: list[dict[str, Any]] = []
        start_key: Mapping[str, Any] | None = None
        while len(items) < limit:
            request: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": pk}},
                "Limit": min(_PAGE_SIZE, limit - len(items)),
                "ScanIndexForward": not newest_first,
            }
            if start_key:
                request["ExclusiveStartKey"] = start_key
            page = self._client.query(**request)
            items.extend(dict(item) for item in page.get("Items", []))
            start_key = page.get("LastEvaluatedKey")
            if not start_key:
                break
        return items[:limit]

    # Knowledge articles -------------------------------------------------------------------------

    def put_article(self, tenant_id: str, title: str, body: str, url: str) -> str:
        """Store (or replace) an article; returns its id."""
        if not (title.strip() or url.strip()):
            raise ContextStoreError("an article needs a title or a URL")
        key = article_id(title, url)
        self._put(
            tenant_id,
            "kb",
            key,
            {"title": title[:_MAX_FIELD_CHARS], "body": body[:MAX_ARTICLE_BODY_CHARS], "url": url.strip()},
        )
        return key

    def list_articles(self, tenant_id: str, limit: int = 500) -> list[Article]:
        return [
            Article(article_id=_s(i, "sk"), title=_s(i, "title"), body=_s(i, "body"), url=_s(i, "url"))
            for i in self._cached_query(tenant_id, "kb", limit)
        ]

    # Assets ---------------------------------------------------------------------------------------

    def put_asset(self, tenant_id: str, cidr_or_host: str, name: str, notes: str) -> None:
        key = cidr_or_host.strip().lower()
        self._put(
            tenant_id, "asset", key, {"name": name[:_MAX_FIELD_CHARS], "notes": notes[:_MAX_FIELD_CHARS]}
        )

    def list_assets(self, tenant_id: str, limit: int = 2000) -> list[Asset]:
        return [
            Asset(cidr_or_host=_s(i, "sk"), name=_s(i, "name"), notes=_s(i, "notes"))
            for i in self._cached_query(tenant_id, "asset", limit)
        ]

    # Processed-ticket index -----------------------------------------------------------------------

    def index_ticket(self, tenant_id: str, ticket: Ticket, *, retention_days: int | None = None) -> None:
        """Remember a processed ticket for similarity search (idempotent: one item per ticket id).

        The item expires after ``retention_days`` (the tenant's ``index_retention_days``), else the
        store's default; 0 days: the ticket is not indexed.
        """
        if ticket.tenant_id != tenant_id:
            raise ContextStoreError("the ticket belongs to another tenant")
        days = self._index_retention_days if retention_days is None else retention_days
        if days <= 0:
            return
        text = f"{ticket.subject}\n{ticket.description}".strip()
        now = datetime.now(UTC)
        created = ticket.created_at or now
        expires_at = int(time.time()) + days * DAY_SECONDS
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # fixed width: sorts by time
        fields = {
            "display_key": ticket.display_key[:_MAX_FIELD_CHARS],
            "subject": _utf8_prefix(ticket.subject, _MAX_FIELD_CHARS),
            "text": _utf8_prefix(text, MAX_INDEXED_TEXT_BYTES),
            "url": ticket.url or "",
            "created": created.isoformat(),
            # For duplicate and burst detection (same scope, still open, created when).
            "scope": ticket.scope[:_MAX_FIELD_CHARS],
            "status": (ticket.status or "open")[:_MAX_FIELD_CHARS],
            "category": ticket.category[:_MAX_FIELD_CHARS],
            "group": ticket.group[:_MAX_FIELD_CHARS],
            "group_id": ticket.group_id[:_MAX_FIELD_CHARS],
            "priority": (ticket.priority_raw or "")[:_MAX_FIELD_CHARS],
        }
        # The ticket's item is updated, not replaced: a ticket the history sync imported keeps its
        # resolution, resolved time and origin (a put would erase them, and with them the ticket's
        # place among the similar resolved tickets, until a full import). Its ``#recent`` pointer goes
        # in a BatchWriteItem shared with the other jobs of the batch that index at the same time.
        key = self._item(tenant_id, "ticket", ticket.ticket_id, {})
        names = {f"#f{n}": name for n, name in enumerate([*fields, "expires_at"])}
        values: dict[str, Any] = {f":f{n}": {"S": value} for n, value in enumerate(fields.values())}
        values[f":f{len(fields)}"] = {"N": str(expires_at)}
        self._client.update_item(
            TableName=self._table,
            Key=key,
            UpdateExpression="SET " + ", ".join(f"{name} = :{name[1:]}" for name in names),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        self._put_all(
            self._item(
                tenant_id,
                "recent",
                f"{stamp}#{ticket.ticket_id}",
                {"ticket_id": ticket.ticket_id},
                expires_at,
            )
        )

    def _put_all(self, *items: dict[str, Any]) -> None:
        """Put ``items`` (at most 25) with BatchWriteItem, sharing the call with the puts of other
        jobs made meanwhile (:mod:`~ticket_enhancer.enhance.group_writes`); items left unprocessed
        are asked again, twice, then an error."""
        self._writes.put(*items)

    def list_indexed_tickets(self, tenant_id: str, limit: int = 500) -> list[IndexedTicket]:
        """Up to ``limit`` indexed tickets, highest ticket id first (not by time: see
        :meth:`recent_tickets`). For the CLI and tests; jobs read :meth:`recent_tickets`."""
        return [_indexed(i, _s(i, "sk")) for i in self._query(tenant_id, "ticket", limit, newest_first=True)]

    def recent_tickets(self, tenant_id: str, limit: int = RECENT_LIMIT) -> list[IndexedTicket]:
        """The newest ``limit`` (at most 100) processed tickets by processing time, newest first.

        Two reads whatever the tenant's size: one ``Query`` of the ``#recent`` pointers (newest
        first, ``Limit`` ``2 * limit``: a ticket processed twice has two) and one ``BatchGetItem`` of
        the ``#ticket`` items (unprocessed keys are asked once more, then left out). Inside
        :func:`shared_reads`, once per tenant for the jobs of the invocation.
        """
        limit = max(0, min(limit, RECENT_LIMIT))
        if limit == 0:
            return []
        shared = _SHARED.get()
        if shared is None:
            return self._read_recent(tenant_id, limit)
        self._pk(tenant_id, "recent")  # an invalid tenant id fails here, before any shared flight
        found = shared.get_or_load(
            (self._table, tenant_id, limit), lambda: self._read_recent(tenant_id, limit), SHARED_SECONDS
        )
        return list(found)  # each job its own list (the records are frozen)

    def _read_recent(self, tenant_id: str, limit: int) -> list[IndexedTicket]:
        page = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": self._pk(tenant_id, "recent")}},
            Limit=2 * limit,
            ScanIndexForward=False,
        )
        ids = list(dict.fromkeys(_s(i, "ticket_id") for i in page.get("Items", []) if _s(i, "ticket_id")))[
            :limit
        ]
        if not ids:
            return []
        pk = self._pk(tenant_id, "ticket")
        keys: list[dict[str, Any]] = [{"pk": {"S": pk}, "sk": {"S": tid}} for tid in ids]
        found: dict[str, IndexedTicket] = {}
        for _ in range(2):
            answer = self._client.batch_get_item(RequestItems={self._table: {"Keys": keys}})
            for item in answer.get("Responses", {}).get(self._table, []):
                if _s(item, "pk") == pk:  # only this tenant's partition was asked; checked anyway
                    found[_s(item, "sk")] = _indexed(item, _s(item, "sk"))
            unprocessed: Mapping[str, Any] = answer.get("UnprocessedKeys") or {}
            keys = list((unprocessed.get(self._table) or {}).get("Keys", []))
            if not keys:
                break
        return [found[tid] for tid in ids if tid in found]


def _indexed(item: Mapping[str, Any], ticket_id: str) -> IndexedTicket:
    return IndexedTicket(
        ticket_id=ticket_id,
        display_key=_s(item, "display_key"),
        subject=_s(item, "subject"),
        text=_s(item, "text"),
        url=_s(item, "url"),
        created=_s(item, "created"),
        resolution=_s(item, "resolution"),
        resolved=_s(item, "resolved"),
        status=_s(item, "status") or "open",  # processed tickets; items from before it was stored
        category=_s(item, "category"),
        group=_s(item, "group"),
        group_id=_s(item, "group_id"),
        priority=_s(item, "priority"),
        scope=_s(item, "scope"),
    )
