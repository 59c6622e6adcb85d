"""The webhook function of every tool: ``handler = make_webhook_handler("jira")``.

Order of checks (contract): body size (413) -> tenant, tool and authentication (401) -> JSON and
ticket id (400) -> de-duplication and queueing (202 / 200 / 503). Nothing unauthenticated is
parsed. Logs never carry a secret, a signature or a ticket body.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics as PowertoolsMetrics
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from ticket_enhancer import aws
from ticket_enhancer.ingest.queueing import QueueUnavailableError, enqueue_once
from ticket_enhancer.observability import make_logger, make_metrics
from ticket_enhancer.plugins.context import Headers, WebhookRequest
from ticket_enhancer.plugins.errors import WebhookEventIgnoredError, WebhookPayloadError
from ticket_enhancer.plugins.registry import plugin_for_function
from ticket_enhancer.settings import Settings
from ticket_enhancer.tenants import TenantStore, TenantStoreUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

    from ticket_enhancer.plugins.base import TicketingToolPlugin

MAX_BODY_BYTES = 256 * 1024
T = TypeVar("T")

UNAUTHORIZED = {"error": "unauthorized"}
TOO_LARGE = {"error": "payload too large"}
UNAVAILABLE = {"error": "temporarily unavailable"}
IGNORED = {"status": "ignored"}


def response(status: int, body: Mapping[str, str]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that does not suspend (signature checks) without an event loop."""
    try:
        coro.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coro.close()
    raise RuntimeError("validate_webhook must not await I/O")


def decode_body(event: Mapping[str, Any]) -> bytes | None:
    """The raw body bytes as the tool sent them (None when the base64 is broken)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    return body.encode("utf-8", "surrogateescape") if isinstance(body, str) else b""


@dataclass
class WebhookHandler:
    tool: str
    plugin: TicketingToolPlugin
    tenants: TenantStore
    dynamodb: DynamoDBClient
    sqs: SQSClient
    deliveries_table: str
    queue_url: str
    logger: Logger
    metrics: PowertoolsMetrics
    clock: Callable[[], float] = time.time

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        self.logger.remove_keys(["tenant_id"])  # keys persist across warm invocations
        self.logger.set_correlation_id(event.get("requestContext", {}).get("requestId"))
        try:
            return self._handle(event)
        finally:
            self.metrics.add_metric(
                name="WebhookLatency",
                unit=MetricUnit.Milliseconds,
                value=(time.perf_counter() - started) * 1000,
            )
            self.metrics.flush_metrics()

    def _reject(self, status: int, reason: str, body: Mapping[str, str], **extra: Any) -> dict[str, Any]:
        self.logger.info("webhook rejected", extra={"status": status, "reason": reason, **extra})
        self.metrics.add_metric(name=f"WebhookRejected_{reason}", unit=MetricUnit.Count, value=1)
        return response(status, body)

    def _handle(self, event: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0911 (one return per status)
        now = self.clock()  # one time source for the replay window and the job record
        body = decode_body(event)
        size = len(body) if body is not None else len(str(event.get("body") or "")) * 3 // 4
        if size > MAX_BODY_BYTES:
            return self._reject(413, "too_large", TOO_LARGE, size=size)
        if body is None:  # API Gateway never sends broken base64: nothing here can be authentic
            return self._reject(401, "bad_encoding", UNAUTHORIZED)

        tenant_id = str((event.get("pathParameters") or {}).get("tenant_id", ""))
        try:
            tenant = self.tenants.get(tenant_id)
        except TenantStoreUnavailableError as exc:
            self.logger.warning("tenant store unavailable", extra={"error": str(exc)})
            return self._reject(503, "store_unavailable", UNAVAILABLE)
        if tenant is None:
            return self._reject(401, "unknown_tenant", UNAUTHORIZED)
        self.logger.append_keys(tenant_id=tenant_id)

        request = WebhookRequest(
            body=body,
            headers=Headers(event.get("headers") or {}),
            path_parameters={"tool": self.tool, "tenant_id": tenant_id},
            received_at=now,
        )
        if not run_sync(self.plugin.validate_webhook(request, tenant)):
            return self._reject(401, "bad_signature", UNAUTHORIZED)

        try:
            metadata = self.plugin.extract_metadata(request, tenant)
        except WebhookEventIgnoredError as exc:
            self.logger.info(
                "webhook ignored: not an event this tool acts on", extra={"event_type": exc.event_type}
            )
            self.metrics.add_metric(name="WebhookIgnored", unit=MetricUnit.Count, value=1)
            return response(200, IGNORED)
        except WebhookPayloadError as exc:
            return self._reject(400, "bad_payload", {"error": str(exc)})
        except ValidationError as exc:
            fields = ", ".join(str(e["loc"][0]) for e in exc.errors() if e["loc"])
            return self._reject(400, "bad_payload", {"error": f"invalid field(s): {fields}"})
        self.logger.set_correlation_id(metadata.delivery_id)

        try:
            result = enqueue_once(
                dynamodb=self.dynamodb,
                sqs=self.sqs,
                table=self.deliveries_table,
                queue_url=self.queue_url,
                metadata=metadata,
                now=now,
            )
        except QueueUnavailableError as exc:
            self.logger.warning("queueing failed", extra={"error": str(exc), "ticket_id": metadata.ticket_id})
            return self._reject(503, "queue_unavailable", UNAVAILABLE)

        self.metrics.add_metric(
            name="WebhookAccepted" if result.status == "queued" else "WebhookDuplicate",
            unit=MetricUnit.Count,
            value=1,
        )
        self.logger.info(
            "webhook " + result.status,
            extra={
                "job_id": result.job_id,
                "ticket_id": metadata.ticket_id,
                "event_type": metadata.event_type,
            },
        )
        return response(
            202 if result.status == "queued" else 200, {"status": result.status, "job_id": result.job_id}
        )


def make_webhook_handler(
    tool: str,
    *,
    dynamodb: DynamoDBClient | None = None,
    sqs: SQSClient | None = None,
    secrets: SecretsManagerClient | None = None,
    plugin: TicketingToolPlugin | None = None,
    env: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
) -> WebhookHandler:
    """Build the handler at import time: settings checked (``SettingsError`` names a missing or
    malformed variable), clients, tenant cache and plugin ready before the first request (Lambda
    init), and shared by every request of the container."""
    settings = Settings.for_webhook(os.environ if env is None else env)
    dynamodb = dynamodb or aws.dynamodb()
    logger = make_logger(settings)
    metrics = make_metrics(tool, settings)
    return WebhookHandler(
        tool=tool,
        plugin=plugin or plugin_for_function(tool),
        tenants=TenantStore(
            dynamodb=dynamodb,
            secrets=secrets or aws.secretsmanager(),
            table=settings.tenants_table,
            tool=tool,
            kind="webhook",
            ttl=settings.tenant_cache_seconds,
            metrics=metrics,
        ),
        dynamodb=dynamodb,
        sqs=sqs or aws.sqs(),
        deliveries_table=settings.deliveries_table,
        queue_url=settings.queue_url or "",
        logger=logger,
        metrics=metrics,
        clock=clock,
    )
