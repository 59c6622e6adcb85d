"""A tenant's search index in S3, its pointer in the ContextTable, and the worker's cache of it.

* S3 (bucket ``CONTEXT_INDEX_BUCKET``): ``<tenant_id>/index/<version>``, one object per build
  (:mod:`ticket_enhancer.enhance.index_codec`); a version is never overwritten.
* ContextTable: ``<tenant_id>#index`` / ``current``: ``version``, ``key``, ``tickets``, ``articles``,
  ``bytes``, ``built``. :meth:`IndexStore.publish` writes the object first, then the pointer, so a
  reader never sees a pointer to a missing object.

A job costs one ``GetItem`` of the pointer (cached for ``pointer_seconds``, so the concurrent steps
of one job share it), and a ``GetObject`` only when the version changed since this container last
loaded it: loaded indexes are cached by ``(tenant, version)``, at most ``max_indexes`` of them.
Tenant isolation: keys and pointers are built from a validated tenant id, and a loaded index must
name the tenant it was asked for (:func:`~ticket_enhancer.enhance.index_codec.decode_index`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ticket_enhancer.aws import LazyClient  # re-exported: where callers found it first
from ticket_enhancer.cache import TtlCache
from ticket_enhancer.enhance.errors import ContextStoreError
from ticket_enhancer.enhance.index_codec import decode_index, encode_index
from ticket_enhancer.tenants import valid_tenant_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from ticket_enhancer.enhance.index import TenantIndex

__all__ = [
    "BUCKET_ENV",
    "IndexPointer",
    "IndexStore",
    "LazyClient",
    "delete_keys",
    "index_key",
    "index_prefix",
]

logger = logging.getLogger(__name__)

BUCKET_ENV = "CONTEXT_INDEX_BUCKET"
POINTER_SK = "current"
_FOREVER = 10 * 365 * 86_400.0  # a version's content never changes: keep it until evicted


def _tenant(tenant_id: str) -> str:
    if not valid_tenant_id(tenant_id):
        raise ContextStoreError(f"invalid tenant id {tenant_id!r}")
    return tenant_id


def index_prefix(tenant_id: str) -> str:
    """Every index object of the tenant, and nothing of another (ids hold no ``/``)."""
    return f"{_tenant(tenant_id)}/index/"


def index_key(tenant_id: str, version: str) -> str:
    return index_prefix(tenant_id) + version


_DELETE_BATCH = 1000  # S3 DeleteObjects' maximum


def delete_keys(s3: Any, bucket: str, objects: list[dict[str, str]]) -> int:
    """Delete ``objects`` (``Key``, maybe ``VersionId``) in batches; how many; raises on a refusal."""
    for start in range(0, len(objects), _DELETE_BATCH):
        batch = objects[start : start + _DELETE_BATCH]
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        if answer.get("Errors"):
            error = answer["Errors"][0]
            raise ContextStoreError(f"S3 refused to delete {error.get('Key')}: {error.get('Code')}")
    return len(objects)


@dataclass(frozen=True, slots=True)
class IndexPointer:
    """Which index object is the tenant's current one, and what it holds."""

    version: str
    key: str
    tickets: int
    articles: int
    size: int
    built: str


def _n(item: dict[str, Any], name: str) -> int:
    value = item.get(name, {})
    return int(value["N"]) if isinstance(value, dict) and "N" in value else 0


def _str(item: dict[str, Any], name: str) -> str:
    value = item.get(name, {})
    return str(value["S"]) if isinstance(value, dict) and "S" in value else ""


class IndexStore:
    """Publishes (the sync) and loads (the worker) tenants' indexes; sync boto3 calls."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        s3: Any,
        bucket: str,
        *,
        pointer_seconds: float = 5.0,
        max_indexes: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dynamodb, self._table, self._s3, self._bucket = dynamodb, table, s3, bucket
        self._pointer_seconds = pointer_seconds
        self._pointers: TtlCache[str, IndexPointer | None] = TtlCache(max_entries=4096, clock=clock)
        # tenant -> (version, index): a new version replaces the tenant's older one in memory
        self._indexes: TtlCache[str, tuple[str, TenantIndex]] = TtlCache(max_entries=max_indexes, clock=clock)
        self._loads: TtlCache[tuple[str, str], TenantIndex] = TtlCache(clock=clock)  # single flight only

    # The sync ---------------------------------------------------------------------------------------

    def publish(self, index: TenantIndex, *, version: str | None = None) -> IndexPointer:
        """Store ``index`` as a new version and make it the tenant's current one."""
        tenant_id = _tenant(index.tenant_id)
        built = datetime.now(UTC)
        version = version or f"{built.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"
        key = index_key(tenant_id, version)
        replaced = self._read_pointer(tenant_id, consistent=True)
        body = encode_index(index)
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/octet-stream")
        pointer = IndexPointer(
            version, key, index.ticket_count, index.article_count, len(body), built.isoformat()
        )
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"{tenant_id}#index"},
                "sk": {"S": POINTER_SK},
                "version": {"S": version},
                "key": {"S": key},
                "tickets": {"N": str(pointer.tickets)},
                "articles": {"N": str(pointer.articles)},
                "bytes": {"N": str(pointer.size)},
                "built": {"S": pointer.built},
            },
        )
        self._pointers.put(tenant_id, pointer, self._pointer_seconds)
        if replaced is not None:
            try:
                self.delete_older(tenant_id, replaced.version, keep={version})
            except Exception as exc:  # the new index is live; the old objects wait for the next publish
                logger.warning(
                    "old index versions not deleted",
                    extra={"tenant_id": tenant_id, "error": type(exc).__name__},
                )
        return pointer

    def delete_older(self, tenant_id: str, version: str, *, keep: set[str]) -> int:
        """Delete the tenant's index objects of versions before ``version`` (``version`` and ``keep``
        stay; versions sort by time); how many. Newer ones stay too: another publish may have written
        its object but not yet its pointer."""
        prefix = index_prefix(tenant_id)
        old = [
            {"Key": obj["Key"]}
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
            if (v := obj["Key"].removeprefix(prefix)) < version and v not in keep
        ]
        return delete_keys(self._s3, self._bucket, old)

    # The worker -------------------------------------------------------------------------------------

    def pointer(self, tenant_id: str, *, fresh: bool = False) -> IndexPointer | None:
        """The tenant's current pointer (one ``GetItem``, cached ``pointer_seconds``); ``None``: no index.
        ``fresh``: a strongly consistent read, not cached (the CLI's erase)."""
        tenant_id = _tenant(tenant_id)
        if fresh:
            return self._read_pointer(tenant_id, consistent=True)
        return self._pointers.get_or_load(
            tenant_id, lambda: self._read_pointer(tenant_id), self._pointer_seconds
        )

    def _read_pointer(self, tenant_id: str, *, consistent: bool = False) -> IndexPointer | None:
        answer = self._dynamodb.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"{tenant_id}#index"}, "sk": {"S": POINTER_SK}},
            ConsistentRead=consistent,
        )
        item = dict(answer.get("Item") or {})
        version, key = _str(item, "version"), _str(item, "key")
        if not version or key != index_key(tenant_id, version):  # a pointer only ever names its own tenant
            return None
        return IndexPointer(
            version, key, _n(item, "tickets"), _n(item, "articles"), _n(item, "bytes"), _str(item, "built")
        )

    def load(self, tenant_id: str) -> TenantIndex | None:
        """The tenant's current index (``GetObject`` only for a version this container has not loaded)."""
        pointer = self.pointer(tenant_id)
        if pointer is None:
            return None
        cached = self._indexes.get(tenant_id)
        if cached is not None and cached[0] == pointer.version:
            return cached[1]
        # Concurrent jobs of one tenant share one GetObject; the result is kept below, not there (ttl 0).
        index = self._loads.get_or_load(
            (tenant_id, pointer.version), lambda: self._read_index(tenant_id, pointer), 0
        )
        self._indexes.put(tenant_id, (pointer.version, index), _FOREVER)
        return index

    def _read_index(self, tenant_id: str, pointer: IndexPointer) -> TenantIndex:
        answer = self._s3.get_object(Bucket=self._bucket, Key=pointer.key)
        return decode_index(answer["Body"].read(), tenant_id=tenant_id)
