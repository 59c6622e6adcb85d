"""Deploy-time migration: split each tenant's secret in two (webhook secret, API secret).

Deployments before the split kept ``webhook_secrets`` inside ``ticket-enhancer/<tool>/<tenant_id>``,
which the webhook functions may no longer read. The stack runs this as a CloudFormation custom
resource (``SecretsLayoutMigration``) that the webhook functions depend on, so CloudFormation
replaces them only after every tenant has its ``.../webhook`` secret: no tenant answers 401 after
an upgrade. The copy is idempotent (an existing webhook secret is never overwritten) and leaves
the old field in place for the old functions that run until the update finishes; ``tenants
rotate-secret`` drops it later.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from ticket_enhancer.tenants import WEBHOOK_SECRET_SUFFIX, valid_tenant_id

logger = logging.getLogger(__name__)


@dataclass
class MigrationReport:
    copied: list[str] = field(default_factory=list)
    already_split: int = 0
    skipped: list[str] = field(default_factory=list)  # tenant ids whose secret could not be read


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def split_tenant_secrets(dynamodb: Any, secretsmanager: Any, table: str) -> MigrationReport:
    """Give every tenant a webhook secret copied from its pre-split secret (values never logged)."""
    report = MigrationReport()
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=table, ProjectionExpression="tenant_id, secret_id"
    ):
        for item in page.get("Items", []):
            tenant_id = item.get("tenant_id", {}).get("S", "")
            secret_id = item.get("secret_id", {}).get("S", "")
            if not valid_tenant_id(tenant_id) or not secret_id:
                report.skipped.append(tenant_id)
                continue
            _split_one(secretsmanager, tenant_id, secret_id, report)
    return report


def _split_one(sm: Any, tenant_id: str, secret_id: str, report: MigrationReport) -> None:
    webhook_id = secret_id + WEBHOOK_SECRET_SUFFIX
    try:
        sm.describe_secret(SecretId=webhook_id)
        report.already_split += 1
        return
    except Exception as exc:
        if _code(exc) != "ResourceNotFoundException":
            raise
    try:
        document = json.loads(sm.get_secret_value(SecretId=secret_id)["SecretString"] or "{}")
    except Exception as exc:
        if _code(exc) != "ResourceNotFoundException" and not isinstance(exc, ValueError):
            raise
        report.skipped.append(tenant_id)
        return
    found = document.get("webhook_secrets") if isinstance(document, dict) else None
    if not isinstance(found, list) or not found:
        report.skipped.append(tenant_id)
        return
    try:
        sm.create_secret(Name=webhook_id, SecretString=json.dumps({"webhook_secrets": found}))
    except Exception as exc:
        if _code(exc) != "ResourceExistsException":  # a concurrent run made it
            raise
    report.copied.append(tenant_id)


def _respond(event: dict[str, Any], status: str, reason: str, data: dict[str, Any]) -> None:
    """Answer CloudFormation at the pre-signed S3 URL it gave (PUT, empty content type)."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:500],
            "PhysicalResourceId": event.get("PhysicalResourceId") or "secrets-layout-v2",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    url = str(event["ResponseURL"])
    if not url.startswith("https://"):
        raise ValueError("CloudFormation response URLs are https")
    request = urllib.request.Request(url, data=body, method="PUT", headers={"content-type": ""})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310 # nosec B310 # https checked above
        pass


def make_handler(dynamodb: Any, secretsmanager: Any, table: str) -> Any:
    def handler(event: dict[str, Any], context: Any) -> None:
        if event.get("RequestType") == "Delete":
            _respond(event, "SUCCESS", "nothing to undo", {})
            return
        try:
            report = split_tenant_secrets(dynamodb, secretsmanager, table)
        except Exception as exc:
            logger.exception("secrets migration failed")
            _respond(event, "FAILED", f"secrets migration failed: {type(exc).__name__}", {})
            return
        logger.info(
            "secrets migration done",
            extra={
                "copied": len(report.copied),
                "already_split": report.already_split,
                "skipped": report.skipped,
            },
        )
        _respond(event, "SUCCESS", f"{len(report.copied)} tenant(s) migrated", {"Copied": len(report.copied)})

    return handler
