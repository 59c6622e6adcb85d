"""Access tokens shared by every worker container of a deployment (one per tenant and kind).

Zoho (ServiceDesk Plus Cloud) issues at most 10 access tokens per refresh token in 10 minutes, and
keeps 15 alive (the 16th invalidates the oldest): containers that each refreshed their own token
would hit the limit within minutes of a burst and then invalidate each other's tokens. So the token
lives in the ContextTable (``pk`` = ``<tenant>#oauth``, ``sk`` = the kind, e.g. ``zoho``), and one
container at a time refreshes it, under a lease taken with a conditional write; the others wait for
its result. A refusal is recorded too (``refused_until``): nobody asks again before then.

The item expires with the table's TTL (``expires_at``) a day after the token; ``tenants erase``
deletes the partition. DynamoDB encrypts it at rest; only the worker role (and operators) read it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PARTITION = "oauth"
TTL_SLACK_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class StoredToken:
    token: str = ""
    expires_at: float = 0.0  # epoch seconds
    leased_until: float = 0.0  # someone is refreshing it until then
    refused_until: float = 0.0  # the issuer refused a refresh: nobody asks before then

    def fresh(self, now: float, margin: float) -> bool:
        return bool(self.token) and self.expires_at - margin > now


class SharedTokens(Protocol):
    """Where a deployment's workers share access tokens (``DynamoTokens``; tests: ``MemoryTokens``)."""

    def get(self, tenant_id: str, kind: str) -> StoredToken | None: ...
    def lease(
        self, tenant_id: str, kind: str, owner: str, *, now: float, until: float, fresh_after: float
    ) -> bool: ...
    def store(self, tenant_id: str, kind: str, owner: str, token: str, expires_at: float) -> None: ...
    def refuse(self, tenant_id: str, kind: str, owner: str, until: float) -> None: ...
    def release(self, tenant_id: str, kind: str, owner: str) -> None: ...
    def forget(self, tenant_id: str, kind: str, token: str) -> None: ...


def _conditional_failed(exc: Exception) -> bool:
    return (
        str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        == "ConditionalCheckFailedException"
    )


class DynamoTokens:
    """``SharedTokens`` in the ContextTable; every change is one conditional ``UpdateItem``."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._db = dynamodb
        self._table = table

    @staticmethod
    def _key(tenant_id: str, kind: str) -> dict[str, Any]:
        return {"pk": {"S": f"{tenant_id}#{PARTITION}"}, "sk": {"S": kind}}

    def get(self, tenant_id: str, kind: str) -> StoredToken | None:
        item = self._db.get_item(
            TableName=self._table, Key=self._key(tenant_id, kind), ConsistentRead=True
        ).get("Item")
        if not item:
            return None

        def number(name: str) -> float:
            return float(item.get(name, {}).get("N", "0"))

        return StoredToken(
            token=item.get("token", {}).get("S", ""),
            expires_at=number("token_expires_at"),
            leased_until=number("lease_until"),
            refused_until=number("refused_until"),
        )

    def _update(
        self, tenant_id: str, kind: str, expression: str, condition: str, values: dict[str, Any]
    ) -> bool:
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self._key(tenant_id, kind),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except Exception as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def lease(
        self, tenant_id: str, kind: str, owner: str, *, now: float, until: float, fresh_after: float
    ) -> bool:
        """Take the refresh lease: free (none, or expired), no refusal in force, and no token that is
        still good past ``fresh_after`` (one stored since the caller looked)."""
        return self._update(
            tenant_id,
            kind,
            "SET lease_owner = :o, lease_until = :u, expires_at = :ttl",
            "(attribute_not_exists(lease_until) OR lease_until < :now) "
            "AND (attribute_not_exists(refused_until) OR refused_until < :now) "
            "AND (attribute_not_exists(token_expires_at) OR token_expires_at <= :fresh)",
            {
                ":o": {"S": owner},
                ":u": {"N": str(until)},
                ":now": {"N": str(now)},
                ":fresh": {"N": str(fresh_after)},
                ":ttl": {"N": str(int(until) + TTL_SLACK_SECONDS)},
            },
        )

    def store(self, tenant_id: str, kind: str, owner: str, token: str, expires_at: float) -> None:
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self._key(tenant_id, kind),
                UpdateExpression=(
                    "SET #t = :t, token_expires_at = :e, expires_at = :ttl "
                    "REMOVE lease_owner, lease_until, refused_until"
                ),
                ConditionExpression="lease_owner = :o",
                ExpressionAttributeNames={"#t": "token"},
                ExpressionAttributeValues={
                    ":t": {"S": token},
                    ":e": {"N": str(expires_at)},
                    ":o": {"S": owner},
                    ":ttl": {"N": str(int(expires_at) + TTL_SLACK_SECONDS)},
                },
            )
        except Exception as exc:  # our lease ran out and another took it: its token wins
            if not _conditional_failed(exc):
                raise

    def refuse(self, tenant_id: str, kind: str, owner: str, until: float) -> None:
        self._update(
            tenant_id,
            kind,
            "SET refused_until = :u REMOVE lease_owner, lease_until",
            "lease_owner = :o",
            {":u": {"N": str(until)}, ":o": {"S": owner}},
        )

    def release(self, tenant_id: str, kind: str, owner: str) -> None:
        with contextlib.suppress(Exception):  # the lease expires anyway
            self._update(
                tenant_id, kind, "REMOVE lease_owner, lease_until", "lease_owner = :o", {":o": {"S": owner}}
            )

    def forget(self, tenant_id: str, kind: str, token: str) -> None:
        try:
            self._db.update_item(
                TableName=self._table,
                Key=self._key(tenant_id, kind),
                UpdateExpression="REMOVE #t, token_expires_at",
                ConditionExpression="#t = :t",
                ExpressionAttributeNames={"#t": "token"},
                ExpressionAttributeValues={":t": {"S": token}},
            )
        except Exception as exc:  # already replaced by a newer token
            if not _conditional_failed(exc):
                raise
