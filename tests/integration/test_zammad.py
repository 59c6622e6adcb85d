"""Zammad, the sixth tool: a plugin folder, a sandbox module and one registry line.

Webhooks: ``X-Hub-Signature: sha1=<hex HMAC-SHA1(secret, raw body)>`` (Zammad's ``UserAgent``
signs the body it sends with the webhook's "HMAC SHA1 Signature Token"), the default trigger body
and a custom payload, the event allow-list, and de-duplication on the body hash (the
``X-Zammad-Delivery`` id is not signed, no timestamp is). Worker: the expanded ticket, its first
article as the text, an internal HTML article as the note, the article listing for the footer
check, ``Token token=`` auth; hosted ``*.zammad.com`` or a self-hosted host, pinned.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from ticket_enhancer.enhance.store import ContextStore
from ticket_enhancer.models import Priority, TenantConfig, TenantSecret
from ticket_enhancer.plugins import PluginManager
from ticket_enhancer.plugins.context import Headers, TenantContext, WebhookRequest
from ticket_enhancer.plugins.errors import WebhookPayloadError
from ticket_enhancer.plugins.zammad.plugin import ZAMMAD_HMAC, ZAMMAD_SCHEME, ZammadPlugin, html_text
from ticket_enhancer.urls import BaseUrlError
from ticket_enhancer.webhooks.signing import sign
from ticket_enhancer_dev.sandbox.incident import DESCRIPTION, SUBJECT
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id, webhook_body

from tests.integration.test_worker import API_TOKEN, PUBLIC_ADDRESSES, WorkerFactory
from tests.support import (
    SECRET_DESCRIPTION,
    Stack,
    TenantFactory,
    check_base_url,
    invoke,
    unique,
    zammad_body,
    zammad_custom_body,
)

pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added")

SECRET = "zammad-signature-token-0123456789"
BODY = json.dumps(zammad_body()).encode()
TID = seed_ticket_id("zammad")
SELF_HOSTED = "https://helpdesk.acme-corp.example"


@pytest.fixture
def make_worker(aws: Stack) -> Iterator[WorkerFactory]:
    """The worker harness of ``test_worker.py``: a tenant, the sandbox behind its base URL, the worker."""
    factory = WorkerFactory(aws)
    yield factory
    factory.close()


def plugin() -> ZammadPlugin:
    found = PluginManager().get_plugin("zammad")
    assert isinstance(found, ZammadPlugin)
    return found


def context(mode: str | None = None, secrets: list[str] | None = None) -> TenantContext:
    config = TenantConfig(
        tenant_id="acme",
        tool_type="zammad",
        base_url="https://acme.zammad.com",
        webhook_auth=mode,
        secret_id="ticket-enhancer/zammad/acme",
    )
    return TenantContext(
        config=config, secret=TenantSecret.model_validate({"webhook_secrets": secrets or [SECRET]})
    )


def zammad_headers(body: bytes, token: str, delivery: str = "3b7c4f0e-delivery") -> dict[str, str]:
    """What Zammad sends: ``OpenSSL::HMAC.hexdigest('sha1', token, body)`` behind ``sha1=``."""
    return {
        "User-Agent": "Zammad User Agent",
        "X-Zammad-Trigger": "Ticket Enhancer",
        "X-Zammad-Delivery": delivery,
        "X-Hub-Signature": "sha1=" + hmac.new(token.encode(), body, hashlib.sha1).hexdigest(),
    }


def authentic(headers: dict[str, str], body: bytes = BODY, tenant: TenantContext | None = None) -> bool:
    request = WebhookRequest(body=body, headers=Headers({k.lower(): v for k, v in headers.items()}))
    return asyncio.run(plugin().validate_webhook(request, tenant or context()))


def metadata(payload: Any, headers: dict[str, str] | None = None) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = WebhookRequest(body=body, headers=Headers(headers or {}))
    return plugin().extract_metadata(request, context())


# -- the plugin as registered --------------------------------------------------------------------


def test_zammad_is_a_registered_tool_with_its_own_scheme() -> None:
    zammad = plugin()
    assert zammad.default_auth_mode == ZAMMAD_HMAC == "zammad-hmac"
    assert zammad.auth_modes == {"zammad-hmac", "standard-webhooks", "shared-token"}
    assert zammad.webhook_scheme(ZAMMAD_HMAC) is ZAMMAD_SCHEME
    assert ZAMMAD_SCHEME.delivery_id_header == "X-Zammad-Delivery"
    assert not ZAMMAD_SCHEME.delivery_id_signed
    assert ZAMMAD_SCHEME.signed_at is None  # no timestamp: replays are caught by the body hash
    assert zammad.dedupe_on_body
    assert zammad.note_format == "html"
    assert zammad.logical_name() == "Zammad"


# -- webhook verification --------------------------------------------------------------------------


def test_zammads_signature_verifies() -> None:
    headers = zammad_headers(BODY, SECRET)
    assert authentic(headers)
    assert sign(ZAMMAD_HMAC, BODY, SECRET, delivery_id="3b7c4f0e-delivery") == {
        "X-Hub-Signature": headers["X-Hub-Signature"],
        "X-Zammad-Delivery": "3b7c4f0e-delivery",
    }
    upper = {**headers, "X-Hub-Signature": "SHA1=" + headers["X-Hub-Signature"][5:].upper()}
    assert authentic(upper)


def test_any_current_secret_verifies_during_rotation() -> None:
    rotated = context(secrets=["the-new-token-0123456789", SECRET])
    assert authentic(zammad_headers(BODY, SECRET), tenant=rotated)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(zammad_headers(BODY, "another-token-0123456789"), id="wrong-secret"),
        pytest.param(zammad_headers(BODY + b" ", SECRET), id="other-body"),
        pytest.param(
            {"X-Hub-Signature": "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()},
            id="sha256",
        ),
        pytest.param(
            {"X-Hub-Signature": hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()}, id="no-prefix"
        ),
        pytest.param({"X-Zammad-Delivery": "d-1"}, id="unsigned"),
        pytest.param({"X-Webhook-Token": SECRET}, id="token-instead"),
    ],
)
def test_wrong_signatures_are_refused(headers: dict[str, str]) -> None:
    assert not authentic(headers)


@pytest.mark.parametrize("weak", ["", " ", "short", "fifteen-bytes!!", " " * 40])
def test_a_weak_secret_never_authenticates(weak: str) -> None:
    forged = zammad_headers(BODY, weak)
    request = WebhookRequest(body=BODY, headers=Headers({k.lower(): v for k, v in forged.items()}))
    assert not ZAMMAD_SCHEME.verify(request, [weak], 0.0)
    assert not ZAMMAD_SCHEME.verify(request, [SECRET, weak], 0.0)


def test_the_webhook_function_queues_a_signed_default_body(aws: Stack, tenant: TenantFactory) -> None:
    acme = tenant("zammad", secrets=[SECRET])
    handler = aws.handler("zammad")
    status, answer = invoke(handler, acme.event(BODY))
    assert status == 202
    assert answer["status"] == "queued"
    (queued,) = aws.drain("zammad")
    assert queued.job.metadata.ticket_id == "81"
    assert SECRET_DESCRIPTION not in queued.body  # jobs carry ids only
    bad = acme.event(BODY, secret="another-token-0123456789")
    assert invoke(handler, bad) == (401, {"error": "unauthorized"})


# -- parsing ---------------------------------------------------------------------------------------


def test_the_default_trigger_body() -> None:
    meta = metadata(zammad_body(), {"x-zammad-delivery": "d-1"})
    assert meta.ticket_id == "81"
    assert meta.display_key == "#10081"
    assert meta.subject == "Shared mailbox not syncing"
    assert meta.description == SECRET_DESCRIPTION  # the article's HTML as text
    assert meta.priority is Priority.HIGH
    assert meta.priority_raw == "3 high"
    assert meta.requester == "Emily Adams <emily@example.com>"
    assert meta.status == "new"
    assert meta.created_at is not None
    assert meta.created_at.isoformat() == "2020-11-13T14:34:35.282000+00:00"
    assert meta.event_type == "created"


def test_the_sandbox_and_sample_bodies_parse() -> None:
    sandbox = metadata(webhook_body("zammad", "acme"))
    assert sandbox.ticket_id == TID
    assert sandbox.subject == SUBJECT
    assert sandbox.description == DESCRIPTION
    sample = metadata(dict(plugin().sample_webhook))
    assert sample.ticket_id == "81"
    assert sample.priority is Priority.HIGH


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(zammad_custom_body("81"), id="readme-template"),
        pytest.param({"ticket_id": "81"}, id="flat"),
        pytest.param({"ticket_id": 81, "event": "create"}, id="flat-number"),
    ],
)
def test_a_custom_payload(payload: dict[str, Any]) -> None:
    meta = metadata(payload)
    assert meta.ticket_id == "81"
    assert meta.event_type == "created"


def test_the_readme_template_is_the_setup_guides() -> None:
    filled = plugin().setup_body_template or ""
    for placeholder, value in {
        "#{ticket.id}": "81",
        "#{ticket.number}": "10081",
        "#{ticket.title}": "Printer",
        "#{ticket.priority.name}": "2 normal",
    }.items():
        filled = filled.replace(placeholder, value)
    meta = metadata(json.loads(filled))
    assert (meta.ticket_id, meta.display_key, meta.subject, meta.priority) == (
        "81",
        "#10081",
        "Printer",
        Priority.MEDIUM,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1 low", Priority.LOW),
        ("2 normal", Priority.MEDIUM),
        ("3 high", Priority.HIGH),
        ("3 HIGH", Priority.HIGH),
        ("4 very high", Priority.MEDIUM),  # an admin's own priority: unknown, so medium
        (None, Priority.MEDIUM),
    ],
)
def test_priorities(raw: str | None, expected: Priority) -> None:
    assert ZammadPlugin.normalise_priority(raw) is expected


@pytest.mark.parametrize(
    "payload",
    [{"ticket": {"id": "#{ticket.id}"}}, {"ticket": {"id": "81/../1"}}, {"ticket_id": "abc"}, {"ticket": {}}],
)
def test_unusable_bodies_are_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(WebhookPayloadError):
        metadata(payload)


def test_article_html_becomes_text() -> None:
    text = html_text("<div>VPN &amp; DNS<br>down</div><p>since <b>9:00</b></p><script>x</script>")
    assert text == "VPN & DNS\ndown\nsince 9:00\nx"


# -- the event allow-list and de-duplication -----------------------------------------------------


@pytest.mark.parametrize("event", ["updated", "deleted", "note_added"])
def test_events_other_than_created_are_ignored(aws: Stack, tenant: TenantFactory, event: str) -> None:
    acme = tenant("zammad")
    body = json.dumps(zammad_custom_body("81", event=event)).encode()
    assert invoke(aws.handler("zammad"), acme.event(body)) == (200, {"status": "ignored"})
    assert aws.drain("zammad") == []


def test_a_replay_with_a_new_delivery_id_is_a_duplicate(aws: Stack, tenant: TenantFactory) -> None:
    """X-Zammad-Delivery is not signed: a captured body re-sent under fresh ids is one delivery."""
    acme = tenant("zammad")
    handler = aws.handler("zammad")
    first = invoke(handler, acme.event(BODY, delivery_id=unique("delivery")))
    again = [invoke(handler, acme.event(BODY, delivery_id=unique("delivery"))) for _ in range(3)]
    assert first[0] == 202
    assert again == [(200, {"status": "duplicate", "job_id": first[1]["job_id"]})] * 3
    other = json.dumps(zammad_body(ticket_id=82)).encode()
    assert invoke(handler, acme.event(other))[0] == 202
    assert len(aws.drain("zammad")) == 2


# -- the worker against the sandbox ------------------------------------------------------------------


def test_get_post_and_list_against_the_sandbox(make_worker: WorkerFactory) -> None:
    h = make_worker("zammad")
    store = ContextStore(h.stack.dynamodb, make_worker.context_table)
    store.put_asset(h.tenant_id, "10.20.0.1", "VPN gateway 01", "named in the first article only")
    job = h.job()

    assert h.run_jobs(job) == []

    assert [(s.method, s.path, s.url.params.get("expand")) for s in h.vendor.seen] == [
        ("GET", f"/api/v1/tickets/{TID}", "true"),
        ("GET", f"/api/v1/ticket_articles/by_ticket/{TID}", None),
        ("POST", "/api/v1/ticket_articles", None),
    ]
    for seen in h.vendor.seen:
        assert seen.url.host == "acme.zammad.com"
        assert seen.headers["authorization"] == f"Token token={API_TOKEN}"
    posted = h.vendor.seen[-1].json()
    assert posted["ticket_id"] == int(TID)
    assert (posted["type"], posted["internal"], posted["content_type"]) == ("note", True, "text/html")
    assert posted["body"].endswith(h.footer(job.job_id) + "</p>")
    assert SUBJECT in posted["body"]
    assert "VPN gateway 01" in posted["body"]  # matched from the first article: the ticket's text
    notes = h.vendor.notes(TID)
    assert len(notes) == 1
    assert notes[0]["internal"] is True
    listing = h.vendor.sandbox.handle(
        "GET",
        f"/_sandbox/zammad/api/v1/ticket_articles/by_ticket/{TID}",
        "",
        {"authorization": "Token token=x"},
        b"",
    )
    assert [a["type"] for a in listing.body] == ["email", "note"]  # the customer's email, then ours
    assert h.record(job)["state"] == "done"


def test_the_sandbox_answers_like_zammad() -> None:
    h = SandboxClient()
    auth = {"authorization": "Token token=x"}
    compact = h.get(f"/api/v1/tickets/{TID}", "", auth)
    expanded = h.get(f"/api/v1/tickets/{TID}", "expand=true", auth)
    assert (compact.status, expanded.status) == (200, 200)
    assert compact.body["priority_id"] == 3
    assert "priority" not in compact.body  # names only with expand=true
    assert expanded.body["priority"] == "3 high"
    assert "article" not in expanded.body
    assert h.get(f"/api/v1/tickets/{TID}", "", {}).status == 401
    assert h.get("/api/v1/tickets/999", "", auth).status == 404
    refused = h.sandbox.handle(
        "POST",
        "/_sandbox/zammad/api/v1/ticket_articles",
        "",
        auth,
        json.dumps({"ticket_id": int(TID)}).encode(),
    )
    assert refused.status == 422


class SandboxClient:
    """The sandbox alone, called as the local stack serves it."""

    def __init__(self) -> None:
        from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

        self.sandbox = VendorSandbox()

    def get(self, path: str, query: str, headers: dict[str, str]) -> Any:
        return self.sandbox.handle("GET", f"/_sandbox/zammad{path}", query, headers, b"")


def test_self_hosted_zammad_is_pinned_to_the_checked_address(make_worker: WorkerFactory) -> None:
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return sorted(PUBLIC_ADDRESSES)

    h = make_worker("zammad", base_url=SELF_HOSTED, options={"allow_custom_host": "true"}, resolve=resolve)
    assert h.run_jobs(h.job()) == []
    assert asked == ["helpdesk.acme-corp.example"]  # once per job
    assert len(h.vendor.seen) == 3
    for seen in h.vendor.seen:
        assert seen.url.host in PUBLIC_ADDRESSES
        assert seen.headers["host"] == "helpdesk.acme-corp.example"
        assert seen.extensions["sni_hostname"] == "helpdesk.acme-corp.example"
    assert len(h.vendor.notes(TID)) == 1


@pytest.mark.parametrize(
    "address", ["10.0.0.7", "192.168.1.20", "127.0.0.1", "169.254.169.254", "::ffff:10.0.0.7"]
)
def test_self_hosted_zammad_on_a_private_address_is_refused(make_worker: WorkerFactory, address: str) -> None:
    h = make_worker(
        "zammad",
        base_url=SELF_HOSTED,
        options={"allow_custom_host": "true"},
        resolve=lambda host, port: [address],
    )
    job = h.job()
    assert h.run_jobs(job) == []  # final: acknowledged, not retried
    assert h.vendor.seen == []
    assert h.record(job)["state"] == "failed"


def test_hosted_zammad_is_not_pinned(make_worker: WorkerFactory) -> None:
    def never(host: str, port: int) -> list[str]:
        raise AssertionError("zammad.com's hosts are Zammad's to resolve")

    h = make_worker("zammad", resolve=never)
    assert h.run_jobs(h.job()) == []
    assert {seen.url.host for seen in h.vendor.seen} == {"acme.zammad.com"}


# -- base URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["https://acme.zammad.com", "https://acme.zammad.com/"])
def test_hosted_base_urls(url: str) -> None:
    assert check_base_url("zammad", url) == "https://acme.zammad.com"


@pytest.mark.parametrize(
    "url",
    [
        "https://zammad.com",  # the domain itself is no tenant
        "https://acme.zammad.com.evil.example",
        "https://evilzammad.com",
        "http://acme.zammad.com",
        SELF_HOSTED,  # not without --allow-custom-host
    ],
)
def test_other_base_urls_are_refused(url: str) -> None:
    with pytest.raises(BaseUrlError):
        check_base_url("zammad", url)


def test_self_hosted_needs_allow_custom_host_and_a_name() -> None:
    assert check_base_url("zammad", SELF_HOSTED, allow_custom_host=True) == SELF_HOSTED
    for url in ("https://10.0.0.7", "https://localhost", "https://[::1]", "https://zammad.corp.internal"):
        with pytest.raises(BaseUrlError):
            check_base_url("zammad", url, allow_custom_host=True)
