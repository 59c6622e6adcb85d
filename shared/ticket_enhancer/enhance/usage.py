"""A tenant's daily usage: notes posted and model tokens, against its ``daily_note_limit`` and
``daily_model_token_budget``.

One item per tenant and UTC day in the ContextTable: ``pk`` ``<tenant_id>#usage``, ``sk`` the day
(``YYYY-MM-DD``), ``notes`` (a string set of job ids), ``tokens`` (a number) and ``expires_at`` (the
table's TTL, two days later). Every change is one conditional atomic ``UpdateItem``, so workers
running at the same time never pass a limit together:

* a note takes its slot with ``ADD notes :job`` under ``size(notes) < :limit OR contains(notes, :job)``:
  a job that is tried again (a retry, a redelivery) finds its own id there and is not counted twice;
* a model call reserves its estimate with ``ADD tokens :estimate`` under ``tokens <= :budget - :estimate``
  before the call, and the difference to what the call really used is added after it.

A read or write error of the counters never costs a note: ``None``/``True`` answers mean "go on"
(the caller logs it). The item lives in the tenant's partition, so ``tenants erase`` removes it.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ticket_enhancer.tenants import valid_tenant_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["MAX_NOTE_LIMIT", "MAX_TOKEN_BUDGET", "UsageStore", "limit_option", "note_option_problems"]

MAX_NOTE_LIMIT = 10_000  # job ids in one item stay far below DynamoDB's 400 KB
MAX_TOKEN_BUDGET = 10**12
KEEP_SECONDS = 2 * 86_400
_LANGUAGE = re.compile(r"^(?:auto|[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)$")


def note_option_problems(options: dict[str, str]) -> list[str]:
    """What is wrong with the note options among ``options`` (the CLI refuses them)."""
    problems: list[str] = []
    if "note_language" in options and not _LANGUAGE.match(options["note_language"]):
        problems.append("note_language must be auto or a language code such as de or pt-BR")
    if "pii_redaction" in options and options["pii_redaction"] not in ("on", "off"):
        problems.append("pii_redaction must be on or off")
    for name, maximum in (
        ("daily_note_limit", MAX_NOTE_LIMIT),
        ("daily_model_token_budget", MAX_TOKEN_BUDGET),
    ):
        value = options.get(name)
        if value is not None and not (value.isdigit() and int(value) <= maximum):
            problems.append(f"{name} must be a whole number from 0 to {maximum}")
    return problems


def limit_option(options: dict[str, str], name: str, *, maximum: int | None = None) -> int | None:
    """A tenant's non-negative integer option (``None`` when unset, empty or malformed)."""
    raw = options.get(name, "").strip()
    if not raw.isdigit():
        return None
    value = int(raw)
    return min(value, maximum) if maximum is not None else value


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class UsageStore:
    def __init__(self, dynamodb: DynamoDBClient, table: str, *, clock: type[datetime] = datetime) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._clock = clock

    def _key(self, tenant_id: str) -> dict[str, dict[str, str]]:
        if not valid_tenant_id(tenant_id):
            raise ValueError("invalid tenant id")
        day = self._clock.now(UTC).strftime("%Y-%m-%d")
        return {"pk": {"S": f"{tenant_id}#usage"}, "sk": {"S": day}}

    def take_note_slot(self, tenant_id: str, job_id: str, limit: int) -> bool:
        """Count ``job_id``'s note for today; False when ``limit`` notes were already counted."""
        if limit <= 0:
            return False
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key=self._key(tenant_id),
                UpdateExpression="ADD notes :job SET expires_at = :expires",
                ConditionExpression=(
                    "attribute_not_exists(notes) OR size(notes) < :limit OR contains(notes, :id)"
                ),
                ExpressionAttributeValues={
                    ":job": {"SS": [job_id]},
                    ":id": {"S": job_id},
                    ":limit": {"N": str(min(limit, MAX_NOTE_LIMIT))},
                    ":expires": {"N": str(int(time.time()) + KEEP_SECONDS)},
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def reserve_tokens(self, tenant_id: str, estimate: int, budget: int) -> bool:
        """Reserve ``estimate`` tokens of today's ``budget``; False when they do not fit."""
        if estimate > budget:
            return False
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key=self._key(tenant_id),
                UpdateExpression="ADD tokens :estimate SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(tokens) OR tokens <= :room",
                ExpressionAttributeValues={
                    ":estimate": {"N": str(estimate)},
                    ":room": {"N": str(budget - estimate)},
                    ":expires": {"N": str(int(time.time()) + KEEP_SECONDS)},
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def settle_tokens(self, tenant_id: str, reserved: int, used: int) -> None:
        """Replace a reservation by what the call used (0: a call refused before any work)."""
        used = max(0, used)
        if used == reserved:
            return
        self._dynamodb.update_item(
            TableName=self._table,
            Key=self._key(tenant_id),
            UpdateExpression="ADD tokens :delta",
            ExpressionAttributeValues={":delta": {"N": str(used - reserved)}},
        )

    def today(self, tenant_id: str) -> tuple[int, int]:
        """Today's (notes, tokens) of the tenant."""
        key = self._key(tenant_id)
        item = self._dynamodb.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item") or {}
        return len(item.get("notes", {}).get("SS", [])), int(item.get("tokens", {}).get("N", "0"))
