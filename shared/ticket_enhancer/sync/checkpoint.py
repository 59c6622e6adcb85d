"""Where a sync stands, per tenant and source, in the ContextTable: written after every page.

Items (``pk`` / ``sk``):

* ``<tenant_id>#sync`` / ``history`` | ``knowledge``: ``status``, ``cursor`` (the source's next page;
  absent before the first page and at the end), ``since`` (ISO 8601: the oldest resolution this
  run imports), ``watermark`` (when the last complete history run started: the next run's
  ``since``, less an overlap), ``imported``, ``skipped``, ``pages``, ``run_id``, ``started``,
  ``updated``, ``finished``, ``resume_at`` (epoch seconds: a vendor asked us to wait),
  ``permission`` / ``endpoint`` (what a refused source lacks), ``error``, and the lease
  (``lease_owner``, ``lease_until``) that keeps two invocations off one tenant's source.
* ``_sync#<tool>`` / tenant id: a tenant whose sync is unfinished; the continuation schedule reads
  this one partition to find the work left (``_`` starts no tenant id, so no tenant owns it).

Status: ``running`` (pages left: continue from ``cursor``), ``waiting`` (rate limited until
``resume_at``), ``done``, ``denied`` (401/403: ``permission`` missing), ``failed`` (``error``),
``unsupported`` (the tool has no such API).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ticket_enhancer.tenants import valid_tenant_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SOURCES = ("history", "knowledge")
LEASE_SECONDS = 120.0  # renewed with every page; an invocation that died frees it this long after
UNFINISHED = frozenset({"running", "waiting"})


class LeaseHeldError(Exception):
    """Another invocation is syncing this tenant's source right now."""


@dataclass(frozen=True)
class Checkpoint:
    tenant_id: str
    source: str
    status: str = "new"
    cursor: str | None = None
    since: str = ""
    watermark: str = ""
    imported: int = 0
    skipped: int = 0
    pages: int = 0
    expired: int = 0  # resolved before the index retention window: not stored
    errors: int = 0  # vendor failures in a row (5xx, transport); reset by a page that arrives
    run_id: str = ""
    started: float = 0.0
    updated: float = 0.0
    finished: float = 0.0
    resume_at: float = 0.0
    permission: str = ""
    endpoint: str = ""
    error: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def unfinished(self) -> bool:
        return self.status in UNFINISHED

    def public(self) -> dict[str, Any]:
        """What the CLI shows (counts and states; no cursor, no ticket text)."""
        keep = ("source", "status", "imported", "skipped", "expired", "pages", "since", "updated", "finished")
        shown: dict[str, Any] = {name: getattr(self, name) for name in keep}
        if self.resume_at:
            shown["resume_at"] = self.resume_at
        if self.status == "denied":
            shown.update(permission=self.permission, endpoint=self.endpoint)
        if self.error:
            shown["error"] = self.error
        return shown


_NUMBERS = {
    "imported",
    "skipped",
    "pages",
    "expired",
    "errors",
    "started",
    "updated",
    "finished",
    "resume_at",
}
_TIMES = {"started", "updated", "finished", "resume_at"}
_STRINGS = {"status", "cursor", "since", "watermark", "run_id", "permission", "endpoint", "error"}


def _pk(tenant_id: str) -> str:
    if not valid_tenant_id(tenant_id):
        raise ValueError(f"invalid tenant id {tenant_id!r}")
    return f"{tenant_id}#sync"


def pending_pk(tool: str) -> str:
    return f"_sync#{tool}"


class CheckpointStore:
    """Checkpoints and the pending set (sync botocore; async callers use ``asyncio.to_thread``)."""

    def __init__(
        self, dynamodb: DynamoDBClient, table: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._db, self._table, self._clock = dynamodb, table, clock

    def now(self) -> float:
        return self._clock()

    def get(self, tenant_id: str, source: str) -> Checkpoint:
        item = self._db.get_item(
            TableName=self._table,
            Key={"pk": {"S": _pk(tenant_id)}, "sk": {"S": source}},
            ConsistentRead=True,
        ).get("Item")
        return _decode(tenant_id, source, item) if item else Checkpoint(tenant_id, source)

    def all(self, tenant_id: str) -> list[Checkpoint]:
        return [self.get(tenant_id, source) for source in SOURCES]

    def claim(self, checkpoint: Checkpoint, owner: str) -> None:
        """Take the lease of ``checkpoint``'s source for ``owner`` (raises ``LeaseHeldError``)."""
        now = self._clock()
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": _pk(checkpoint.tenant_id)}, "sk": {"S": checkpoint.source}},
                UpdateExpression="SET lease_owner = :me, lease_until = :until",
                ConditionExpression=(
                    "attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :me"
                ),
                ExpressionAttributeValues={
                    ":me": {"S": owner},
                    ":until": {"N": str(now + LEASE_SECONDS)},
                    ":now": {"N": str(now)},
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise LeaseHeldError(
                    f"{checkpoint.source} of {checkpoint.tenant_id} is being synced"
                ) from None
            raise

    def save(self, checkpoint: Checkpoint, owner: str, *, release: bool = False) -> Checkpoint:
        """Write ``checkpoint`` (whole) under ``owner``'s lease; renew or release the lease."""
        now = self._clock()
        saved = replace(checkpoint, updated=now)
        item = _encode(saved)
        if not release:
            item.update(lease_owner={"S": owner}, lease_until={"N": str(now + LEASE_SECONDS)})
        try:
            self._db.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(lease_owner) OR lease_owner = :me",
                ExpressionAttributeValues={":me": {"S": owner}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise LeaseHeldError(f"{checkpoint.source} of {checkpoint.tenant_id}: lease lost") from None
            raise
        return saved

    # -- the pending set: tenants with an unfinished sync, per tool --------------------------------
    def mark_pending(self, tool: str, tenant_id: str, options: Mapping[str, str] | None = None) -> None:
        item: dict[str, Any] = {
            "pk": {"S": pending_pk(tool)},
            "sk": {"S": tenant_id},
            "updated": {"N": str(self._clock())},
        }
        if options:
            item["options"] = {"M": {k: {"S": v} for k, v in options.items()}}
        self._db.put_item(TableName=self._table, Item=item)

    def clear_pending(self, tool: str, tenant_id: str) -> None:
        self._db.delete_item(
            TableName=self._table, Key={"pk": {"S": pending_pk(tool)}, "sk": {"S": tenant_id}}
        )

    def pending(self, tool: str) -> dict[str, dict[str, str]]:
        """Tenant id -> the options its unfinished sync was started with, least recently run first
        (each run marks it again: one long import never starves the tool's other tenants)."""
        found: list[tuple[float, str, dict[str, str]]] = []
        start: Mapping[str, Any] | None = None
        while True:
            request: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": pending_pk(tool)}},
            }
            if start:
                request["ExclusiveStartKey"] = start
            page = self._db.query(**request)
            for item in page.get("Items", []):
                options = item.get("options", {}).get("M", {})
                updated = float(item.get("updated", {}).get("N", "0"))
                found.append((updated, item["sk"]["S"], {k: v.get("S", "") for k, v in options.items()}))
            start = page.get("LastEvaluatedKey")
            if not start:
                return {tenant_id: options for _, tenant_id, options in sorted(found)}


def _encode(checkpoint: Checkpoint) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": {"S": _pk(checkpoint.tenant_id)}, "sk": {"S": checkpoint.source}}
    for f in fields(checkpoint):
        value = getattr(checkpoint, f.name)
        if f.name in _NUMBERS:
            item[f.name] = {"N": repr(float(value)) if isinstance(value, float) else str(value)}
        elif f.name in _STRINGS and value:
            item[f.name] = {"S": str(value)}
    if checkpoint.extra:
        item["extra"] = {"M": {k: {"S": v} for k, v in checkpoint.extra.items()}}
    return item


def _decode(tenant_id: str, source: str, item: Mapping[str, Any]) -> Checkpoint:
    values: dict[str, Any] = {}
    for name in _NUMBERS:
        if name in item:
            number = float(item[name]["N"])
            values[name] = number if name in _TIMES else int(number)
    for name in _STRINGS:
        if name in item:
            values[name] = item[name]["S"]
    extra = {k: v.get("S", "") for k, v in item.get("extra", {}).get("M", {}).items()}
    return Checkpoint(tenant_id, source, extra=extra, **values)
