"""The webhook function and tenant secrets: weak secrets refused, only the webhook secret read,
and no ticket text on the queue (the security issue's items 1, 5 and 7)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from ticket_enhancer.webhooks import schemes

from tests.support import (
    TOOLS,
    Stack,
    TenantFactory,
    default_body,
    invoke,
    jira_body,
    webhook_event,
)

pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added")


def test_a_body_signed_with_an_empty_key_is_refused(
    aws: Stack, tenant: TenantFactory, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A secret store holding ``[""]`` once made an HMAC with the empty key authentic (202)."""
    caplog.set_level("INFO")
    acme = tenant("jira", secrets=["a-strong-secret-of-32-characters"])
    aws.put_secret(f"ticket-enhancer/jira/{acme.tenant_id}/webhook", {"webhook_secrets": [""]})
    body = json.dumps(jira_body("10001")).encode()
    forged = {"X-Hub-Signature": "sha256=" + hmac.new(b"", body, hashlib.sha256).hexdigest()}
    handler = aws.handler("jira")

    status, answer = invoke(handler, webhook_event("jira", acme.tenant_id, body, forged))

    assert (status, answer) == (401, {"error": "unauthorized"})
    assert aws.drain("jira") == []
    logs = capsys.readouterr().out + caplog.text
    assert "tenant secret refused" in logs  # a clear line for the tenant's operator
    assert "shorter than 16 bytes" in logs
    assert '"TenantSecretRefused"' in logs  # the EMF metric


@pytest.mark.parametrize("weak", ["", "   ", "x" * 15, " " * 16])
def test_a_short_shared_token_is_refused(aws: Stack, tenant: TenantFactory, weak: str) -> None:
    acme = tenant("freshservice", webhook_auth=schemes.SHARED_TOKEN)
    aws.put_secret(f"ticket-enhancer/freshservice/{acme.tenant_id}/webhook", {"webhook_secrets": [weak]})
    event = webhook_event(
        "freshservice", acme.tenant_id, default_body("freshservice"), {"X-Webhook-Token": weak}
    )
    assert invoke(aws.handler("freshservice"), event)[0] == 401


@pytest.mark.parametrize("tool", TOOLS)
def test_the_webhook_reads_only_the_webhook_secret(aws: Stack, tenant: TenantFactory, tool: str) -> None:
    acme = tenant(tool)
    asked: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        asked.append(params["SecretId"])

    aws.hook(aws.secretsmanager, "provide-client-params.secrets-manager.GetSecretValue", record)
    assert invoke(aws.handler(tool), acme.event())[0] == 202
    assert asked == [f"ticket-enhancer/{tool}/{acme.tenant_id}/webhook"]


def test_the_webhook_never_authenticates_from_the_api_secret(aws: Stack, tenant: TenantFactory) -> None:
    """The API secret is not the webhook's to read: webhook secrets found only there do not count."""
    acme = tenant("jira")
    aws.secretsmanager.delete_secret(
        SecretId=f"ticket-enhancer/jira/{acme.tenant_id}/webhook", ForceDeleteWithoutRecovery=True
    )
    aws.put_secret(f"ticket-enhancer/jira/{acme.tenant_id}", {"webhook_secrets": list(acme.secrets)})
    assert invoke(aws.handler("jira"), acme.event())[0] == 401


@pytest.mark.parametrize("tool", TOOLS)
def test_no_ticket_text_on_the_queue(aws: Stack, tenant: TenantFactory, tool: str) -> None:
    """Queues and DLQs keep messages for 14 days: jobs carry ids, the worker re-fetches the ticket."""
    acme = tenant(tool)
    body = default_body(tool)
    assert invoke(aws.handler(tool), acme.event(body))[0] == 202
    [message] = aws.drain(tool)
    queued = json.loads(message.body)
    assert set(queued) == {"job_id", "queued_at", "metadata"}
    assert set(queued["metadata"]) == {"tool_type", "tenant_id", "ticket_id", "event_type", "delivery_id"}
    ids = set(queued["metadata"].values())
    texts = [t for t in _strings(json.loads(body)) if len(t) > 3 and t not in ids and not t.isdigit()]
    assert texts  # the body does carry text (subject, description, requester)
    for text in texts:
        assert text not in message.body


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []
