"""Tenant config (DynamoDB) and tenant secrets (Secrets Manager), cached in the warm container.

The tenant id always comes from the request path. A tenant is usable by a function only if its
row names that function's tool, it is enabled, and its secrets live under the tool's prefix.

Each tenant has two secrets, so that the internet-facing webhook function can never read vendor or
model credentials:

- ``ticket-enhancer/<tool>/<tenant_id>/webhook``: ``{"webhook_secrets": [...]}``, read by the
  webhook function (``SecretKind = "webhook"``) and all that IAM lets it read;
- ``ticket-enhancer/<tool>/<tenant_id>``: ``api_user``, ``api_token`` and tool extras, read by the
  worker (``"api"``), whose IAM policy denies it the webhook secrets.

Deployments from before the split kept ``webhook_secrets`` in the API secret; the stack's secrets
migration (``ticket_enhancer.migrations``) copies them to the webhook secret on deploy, before the
webhook functions change.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from ticket_enhancer.cache import TtlCache
from ticket_enhancer.models import TenantConfig, TenantSecret
from ticket_enhancer.plugins.context import TenantContext

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

logger = logging.getLogger(__name__)

TENANT_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
SECRET_PREFIX = "ticket-enhancer/"  # noqa: S105 # nosec B105 # a name prefix, not a secret
DEFAULT_TTL = 300.0
NEGATIVE_TTL = 10.0
MAX_ENTRIES = 2048


WEBHOOK_SECRET_SUFFIX = "/webhook"  # noqa: S105 # nosec B105 # a name suffix, not a secret
SecretKind = Literal["webhook", "api"]


def secret_name(tool: str, tenant_id: str) -> str:
    """The tenant's API secret (vendor and model credentials; the worker's)."""
    return f"{SECRET_PREFIX}{tool}/{tenant_id}"


def webhook_secret_name(tool: str, tenant_id: str) -> str:
    """The tenant's webhook secret (``webhook_secrets``; the webhook function's)."""
    return secret_name(tool, tenant_id) + WEBHOOK_SECRET_SUFFIX


class _Metrics(Protocol):
    def add_metric(self, name: str, unit: Any, value: float) -> Any: ...


def valid_tenant_id(tenant_id: str) -> bool:
    return TENANT_ID_RE.fullmatch(tenant_id) is not None


class TenantStoreUnavailableError(Exception):
    """The tenant table or Secrets Manager could not answer (HTTP 503; the tool retries)."""


def deserialize_value(attribute: Mapping[str, Any]) -> Any:
    """One DynamoDB attribute value (``{"S": "x"}``, ``{"M": {...}}``, ...) as Python data.

    Numbers become ``Decimal``, as boto3's ``TypeDeserializer`` makes them; written here because
    importing boto3 for it would cost the webhook ~50 ms of cold start.
    """
    ((kind, value),) = attribute.items()
    if kind not in _DECODERS:
        raise ValueError(f"unknown DynamoDB type {kind!r}")
    return _DECODERS[kind](value)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "S": str,
    "B": bytes,
    "N": Decimal,
    "BOOL": bool,
    "NULL": lambda _: None,
    "M": lambda value: {key: deserialize_value(item) for key, item in value.items()},
    "L": lambda value: [deserialize_value(item) for item in value],
    "NS": lambda value: {Decimal(item) for item in value},
    "SS": set,
    "BS": set,
}


def deserialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: deserialize_value(value) for key, value in item.items()}


class TenantStore:
    """Looks tenants up for one tool, with a bounded-time cache (positive and negative)."""

    def __init__(
        self,
        *,
        dynamodb: DynamoDBClient,
        secrets: SecretsManagerClient,
        table: str,
        tool: str,
        kind: SecretKind,
        ttl: float = DEFAULT_TTL,
        negative_ttl: float = NEGATIVE_TTL,
        clock: Callable[[], float] = time.monotonic,
        metrics: _Metrics | None = None,
    ) -> None:
        self._dynamodb = dynamodb
        self._secrets = secrets
        self._table = table
        self._tool = tool
        self._kind = kind
        self._metrics = metrics
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._cache: TtlCache[str, TenantContext | None] = TtlCache(max_entries=MAX_ENTRIES, clock=clock)

    def get(self, tenant_id: str) -> TenantContext | None:
        """The tenant if it may use this tool now; ``None`` if unknown, disabled or of another tool.

        Raises ``TenantStoreUnavailableError`` when AWS cannot answer.
        """
        if not valid_tenant_id(tenant_id):
            return None
        return self._cache.get_or_load(
            tenant_id,
            lambda: self._load(tenant_id),
            lambda value: self._ttl if value is not None else self._negative_ttl,
        )

    def _load(self, tenant_id: str) -> TenantContext | None:
        try:
            found = self._dynamodb.get_item(TableName=self._table, Key={"tenant_id": {"S": tenant_id}})
            item = found.get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise TenantStoreUnavailableError(f"tenant table: {type(exc).__name__}") from exc
        if not item:
            return None
        try:
            config = TenantConfig.model_validate(deserialize_item(item))
        except ValidationError:
            logger.error("tenant row is invalid", extra={"tenant_id": tenant_id})
            return None
        expected = secret_name(self._tool, tenant_id)
        if config.tool_type != self._tool or not config.enabled or config.secret_id != expected:
            return None
        secret_id = webhook_secret_name(self._tool, tenant_id) if self._kind == "webhook" else expected
        try:
            response = self._secrets.get_secret_value(SecretId=secret_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                logger.error("tenant secret missing", extra={"tenant_id": tenant_id})
                return None
            raise TenantStoreUnavailableError(f"secrets: {type(exc).__name__}") from exc
        except BotoCoreError as exc:
            raise TenantStoreUnavailableError(f"secrets: {type(exc).__name__}") from exc
        secret = self._secret(tenant_id, response.get("SecretString") or "{}")
        return None if secret is None else TenantContext(config=config, secret=secret)

    def _secret(self, tenant_id: str, text: str) -> TenantSecret | None:
        """The part of the secret document this function may use, validated."""
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            logger.error("tenant secret is not a JSON object", extra={"tenant_id": tenant_id})
            return None
        if self._kind == "webhook":
            document = {"webhook_secrets": document.get("webhook_secrets") or []}
        else:  # the worker never needs webhook secrets (a pre-split document may still hold them)
            document.pop("webhook_secrets", None)
        try:
            return TenantSecret.model_validate(document)
        except ValidationError as exc:
            reasons = "; ".join(str(error["msg"]) for error in exc.errors())
            logger.error(  # pydantic's messages only: hide_input_in_errors keeps values out
                "tenant secret refused (%s): the tenant is treated as unknown until it is fixed",
                reasons,
                extra={"tenant_id": tenant_id},
            )
            if self._metrics is not None:
                self._metrics.add_metric(name="TenantSecretRefused", unit="Count", value=1)
            return None
