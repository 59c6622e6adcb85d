"""`tenants erase`'s part in the search-index bucket (``ContextIndexBucket``; the stack output
``ContextIndexBucketName``, local.json's ``buckets``) and the sync's pending list.

* A tenant: every object under ``<tenant>/`` with all its versions and delete markers (the bucket
  is versioned: deleting the current version alone would leave the data in a noncurrent one until
  the lifecycle rule expires it), listed and deleted by pages; its ``_sync#<tool>`` entries.
* A ticket (after its records are deleted): when the current index holds it, the index is rebuilt
  from the tenant's stored records (``sync.index.PublishedIndex``, what the sync runs) and
  published; then every other version of every index object of the tenant is deleted, the previous
  one too (its text must go now; a worker still loading it reads the new pointer on its next job).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.index_store import IndexStore, delete_keys, index_prefix

if TYPE_CHECKING:
    from ticket_enhancer_dev.cli.erase import Report
    from ticket_enhancer_dev.cli.target import Target

TENANT_OBJECTS = "search index objects, every version (S3 ContextIndexBucket)"
TICKET_OBJECTS = "search index versions that may hold the ticket (S3 ContextIndexBucket)"
REBUILT = "search index rebuilt without the ticket (S3 ContextIndexBucket)"
PENDING = "unfinished sync entries (ContextTable)"
NO_BUCKET = (
    "search index: this stack names no index bucket (output ContextIndexBucketName): objects under "
    "{prefix} in its bucket, if any, were not deleted"
)


def _versions(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[dict[str, str], bool]]:
    """(``Key`` and ``VersionId``, is it data, not a delete marker) of every version under ``prefix``."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            yield {"Key": version["Key"], "VersionId": version["VersionId"]}, True
        for marker in page.get("DeleteMarkers", []):
            yield {"Key": marker["Key"], "VersionId": marker["VersionId"]}, False


def _delete_versions(s3: Any, bucket: str, prefix: str, *, keep: dict[str, str] | None = None) -> int:
    """Delete every version under ``prefix`` but ``keep``; how many data versions went."""
    found = [(ref, data) for ref, data in _versions(s3, bucket, prefix) if ref != keep]
    delete_keys(s3, bucket, [ref for ref, _ in found])
    return sum(1 for _, data in found if data)


def delete_pending(ddb: Any, table: str, tools: list[str], tenant_id: str) -> int:
    """The tenant's entries in the tools' unfinished-sync lists; how many there were."""
    count = 0
    for tool in tools:
        gone = ddb.delete_item(
            TableName=table,
            Key={"pk": {"S": f"_sync#{tool}"}, "sk": {"S": tenant_id}},
            ReturnValues="ALL_OLD",
        )
        count += 1 if gone.get("Attributes") else 0
    return count


def delete_tenant_objects(target: Target, tenant_id: str) -> int | None:
    """Every version of every object under ``<tenant>/``; how many; ``None``: no bucket is known."""
    if not target.index_bucket:
        return None
    return _delete_versions(target.client("s3"), target.index_bucket, f"{tenant_id}/")


def erase_tenant(target: Target, ddb: Any, tenant_id: str, tools: list[str], report: Report) -> None:
    report.add(PENDING, delete_pending(ddb, target.tables["ContextTable"], tools, tenant_id))
    deleted = delete_tenant_objects(target, tenant_id)
    report.add(TENANT_OBJECTS, deleted or 0)
    if deleted is None:
        report.later.append(NO_BUCKET.format(prefix=f"{tenant_id}/"))


def erase_ticket(target: Target, ddb: Any, tenant_id: str, ticket_id: str, report: Report) -> None:
    """Call after the ticket's ContextTable items are deleted: the rebuild reads what is left."""
    if not target.index_bucket:
        report.add(REBUILT, 0)
        report.add(TICKET_OBJECTS, 0)
        report.later.append(NO_BUCKET.format(prefix=index_prefix(tenant_id)))
        return
    s3, bucket, table = target.client("s3"), target.index_bucket, target.tables["ContextTable"]
    store = IndexStore(ddb, table, s3, bucket)
    pointer = store.pointer(tenant_id, fresh=True)
    rebuilt = 0
    if pointer is not None:
        current = store.load(tenant_id)
        if current is not None and ticket_id in current.tickets.get("ticket_id", []):
            from ticket_enhancer.sync.index import PublishedIndex
            from ticket_enhancer.sync.store import DynamoRecordStore

            PublishedIndex(DynamoRecordStore(ddb, table), store).build(tenant_id)
            pointer, rebuilt = store.pointer(tenant_id, fresh=True), 1
    keep = None
    if pointer is not None:
        head = s3.head_object(Bucket=bucket, Key=pointer.key)
        keep = {"Key": pointer.key, "VersionId": str(head.get("VersionId") or "null")}
    report.add(REBUILT, rebuilt)
    report.add(TICKET_OBJECTS, _delete_versions(s3, bucket, index_prefix(tenant_id), keep=keep))
