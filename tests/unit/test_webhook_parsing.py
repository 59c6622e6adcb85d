"""Reading each tool's webhook body: normalised fields, priorities, times, and fuzzing."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from ticket_enhancer.ingest.handler import WebhookHandler
from ticket_enhancer.models import TenantConfig, TenantSecret, TicketMetadata
from ticket_enhancer.plugins import PluginManager
from ticket_enhancer.plugins.context import Headers, TenantContext, WebhookRequest
from ticket_enhancer.plugins.errors import WebhookEventIgnoredError, WebhookPayloadError
from ticket_enhancer.webhooks import schemes
from ticket_enhancer.webhooks.signing import sign

from tests.support import (
    BASE_URLS,
    DEFAULT_MODES,
    SYS_ID,
    TOOLS,
    Stack,
    Tenant,
    World,
    freshservice_plain_body,
    freshservice_wrapped_body,
    jira_body,
    sdp_plain_body,
    sdp_wrapped_body,
    servicenow_body,
    webhook_event,
    zendesk_event_body,
    zendesk_trigger_body,
)

pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added")


def context(tool: str, mode: str | None = None, tenant_id: str = "acme") -> TenantContext:
    config = TenantConfig(
        tenant_id=tenant_id,
        tool_type=tool,
        base_url=BASE_URLS[tool],
        webhook_auth=mode,
        secret_id=f"ticket-enhancer/{tool}/{tenant_id}",
    )
    return TenantContext(config=config, secret=TenantSecret.model_validate({"webhook_secrets": ["s" * 16]}))


def extract(
    tool: str, payload: Any, headers: dict[str, str] | None = None, mode: str | None = None
) -> TicketMetadata:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = WebhookRequest(
        body=body, headers=Headers(headers or {}), path_parameters={"tool": tool, "tenant_id": "acme"}
    )
    return PluginManager().get_plugin(tool).extract_metadata(request, context(tool, mode))


# -- examples --------------------------------------------------------------------------------


def test_jira_issue_created() -> None:
    body = json.dumps(jira_body()).encode()
    meta = extract("jira", body, {"x-atlassian-webhook-identifier": "delivery-9"})
    body_id = "body:" + hashlib.sha256(body).hexdigest()  # the header id is unsigned: not used
    assert meta.model_dump() == {
        "tool_type": "jira",
        "tenant_id": "acme",
        "ticket_id": "10001",
        "display_key": "IT-42",
        "subject": "VPN down for the Berlin office",
        "description": meta.description,
        "priority": "critical",
        "priority_raw": "Highest",
        "requester": "Ann Agent",
        "created_at": datetime(2019, 2, 16, 3, 1, 52, 971000, UTC),
        "status": "Open",
        "event_type": "created",
        "delivery_id": body_id,
    }
    assert meta.dedupe_key == f"jira#acme#{body_id}"
    assert meta.event_key == "jira#acme#10001#created"


def test_jira_key_when_there_is_no_id() -> None:
    body = jira_body()
    del body["issue"]["id"]
    meta = extract("jira", body)
    assert (meta.ticket_id, meta.event_type) == ("IT-42", "created")
    body["webhookEvent"] = "jira:issue_updated"
    with pytest.raises(WebhookEventIgnoredError, match="'updated'"):
        extract("jira", body)


def test_jira_adf_description_becomes_text() -> None:
    body = jira_body()
    body["issue"]["fields"]["description"] = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Printer jammed"}]}],
    }
    assert extract("jira", body).description == "Printer jammed"


def test_zendesk_event_webhook() -> None:
    meta = extract("zendesk", zendesk_event_body())
    assert (meta.ticket_id, meta.priority, meta.priority_raw, meta.event_type) == (
        "123",
        "critical",
        "urgent",
        "created",
    )
    assert meta.delivery_id == "cbe4028c-7239-495d-b020-f22348516046"
    assert meta.created_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert meta.requester == "8193592318236"


def test_zendesk_trigger_webhook() -> None:
    meta = extract("zendesk", zendesk_trigger_body())
    assert (meta.ticket_id, meta.event_type, meta.delivery_id, meta.priority) == (
        "123",
        "created",
        "123:created",
        "medium",
    )
    nested = extract("zendesk", {"ticket": {"id": 77, "subject": "Hi", "priority": "high"}})
    assert (nested.ticket_id, nested.subject, nested.priority) == ("77", "Hi", "high")


def test_servicenow_record_and_result_wrapper() -> None:
    for body in (servicenow_body(), {"result": servicenow_body()}):
        meta = extract("servicenow", body, {"webhook-id": "msg_42"})
        assert (meta.ticket_id, meta.display_key, meta.priority) == (SYS_ID, "INC0010001", "critical")
        assert meta.subject == "Email not syncing on mobile"
        assert meta.delivery_id == "msg_42"  # the Standard Webhooks message id
        assert meta.created_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    minimal = extract("servicenow", {"sys_id": "abc", "number": "INC0000001"}, mode=schemes.SHARED_TOKEN)
    assert (minimal.ticket_id, minimal.delivery_id) == ("abc", "abc:created")


def test_servicenow_sys_created_on_fallback() -> None:
    body = {"sys_id": "abc", "sys_created_on": "2024-05-06 07:08:09"}
    assert extract("servicenow", body).created_at == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "ticket_id", "display_key"),
    [
        (freshservice_wrapped_body(), "123", "123"),
        (freshservice_plain_body(), "123", "123"),
        (freshservice_plain_body("#INC-123"), "123", "#INC-123"),
        (freshservice_plain_body("SR-77"), "77", "SR-77"),
        ({"freshservice_webhook": {"id": "55"}}, "55", "55"),
    ],
)
def test_freshservice_bodies(body: dict[str, Any], ticket_id: str, display_key: str) -> None:
    meta = extract("freshservice", body)
    assert (meta.ticket_id, meta.display_key) == (ticket_id, display_key)
    assert meta.delivery_id == f"{ticket_id}:created"


def test_freshservice_wrapped_fields() -> None:
    meta = extract("freshservice", freshservice_wrapped_body())
    assert (meta.subject, meta.priority, meta.requester, meta.status) == (
        "Laptop will not boot",
        "high",
        "bob@example.com",
        "Open",
    )


def test_servicedesk_plus_bodies() -> None:
    meta = extract("servicedesk_plus", sdp_wrapped_body())
    assert (meta.ticket_id, meta.display_key, meta.priority, meta.requester, meta.status) == (
        "123",
        "REQ-123",
        "critical",
        "Carol",
        "Open",
    )
    assert meta.created_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    plain = extract("servicedesk_plus", sdp_plain_body())
    assert (plain.ticket_id, plain.delivery_id, plain.priority) == ("123", "123:created", "medium")


def test_event_field_sets_event_type_and_delivery() -> None:
    for spelling in ("created", " Created ", "ticket_created", "new", ""):
        meta = extract("servicedesk_plus", {"id": "9", "event": spelling})
        assert (meta.event_type, meta.delivery_id) == ("created", "9:created")
    for other in ("updated", "deleted", "created!"):
        with pytest.raises(WebhookEventIgnoredError):
            extract("servicedesk_plus", {"id": "9", "event": other})


def test_standard_webhooks_mode_uses_the_message_id_for_every_tool() -> None:
    for tool in TOOLS:
        body = {"id": "1", "ticket_id": "1", "sys_id": "1", "issue": {"id": "1"}, "ticket": {"id": "1"}}
        meta = extract(tool, body, {"Webhook-Id": "msg_same"}, mode=schemes.STANDARD_WEBHOOKS)
        assert meta.delivery_id == "msg_same"
        assert meta.dedupe_key == f"{tool}#acme#msg_same"


# -- priority --------------------------------------------------------------------------------

PRIORITY_BODIES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "jira": lambda raw: jira_body(priority=raw),
    "zendesk": lambda raw: zendesk_event_body(priority=raw),
    "servicenow": lambda raw: servicenow_body(priority=raw),
    "freshservice": lambda raw: freshservice_wrapped_body(priority=raw),
    "servicedesk_plus": lambda raw: sdp_wrapped_body(priority=raw),
}

PRIORITIES = [
    ("jira", "Highest", "critical"),
    ("jira", "High", "high"),
    ("jira", "Medium", "medium"),
    ("jira", "Low", "low"),
    ("jira", "Lowest", "low"),
    ("jira", "HIGHEST", "critical"),
    ("jira", " high ", "high"),
    ("jira", "Whenever", "medium"),
    ("zendesk", "urgent", "critical"),
    ("zendesk", "high", "high"),
    ("zendesk", "normal", "medium"),
    ("zendesk", "low", "low"),
    ("zendesk", "Urgent", "critical"),
    ("zendesk", None, "medium"),
    ("zendesk", "p0", "medium"),
    ("servicenow", "1", "critical"),
    ("servicenow", "2", "high"),
    ("servicenow", "3", "medium"),
    ("servicenow", "4", "low"),
    ("servicenow", "5", "low"),
    ("servicenow", 1, "critical"),
    ("servicenow", "1 - Critical", "critical"),
    ("servicenow", "2 - High", "high"),
    ("servicenow", "3 - Moderate", "medium"),
    ("servicenow", "4 - Low", "low"),
    ("servicenow", "5 - Planning", "low"),
    ("servicenow", "Critical", "critical"),
    ("servicenow", {"value": "2", "display_value": "2 - High"}, "high"),
    ("servicenow", "9", "medium"),
    ("servicenow", "", "medium"),
    ("freshservice", 4, "critical"),
    ("freshservice", 3, "high"),
    ("freshservice", 2, "medium"),
    ("freshservice", 1, "low"),
    ("freshservice", "4", "critical"),
    ("freshservice", "Urgent", "critical"),
    ("freshservice", 7, "medium"),
    ("servicedesk_plus", "Urgent", "critical"),
    ("servicedesk_plus", "Critical", "critical"),
    ("servicedesk_plus", "Highest", "critical"),
    ("servicedesk_plus", "High", "high"),
    ("servicedesk_plus", "Medium", "medium"),
    ("servicedesk_plus", "Normal", "medium"),
    ("servicedesk_plus", "Low", "low"),
    ("servicedesk_plus", "P1 - Drop everything", "medium"),
]


@pytest.mark.parametrize(("tool", "raw", "expected"), PRIORITIES)
def test_priority_normalisation(tool: str, raw: Any, expected: str) -> None:
    assert extract(tool, PRIORITY_BODIES[tool](raw)).priority == expected


# -- created_at ------------------------------------------------------------------------------

CREATED = [
    ("jira", "2019-02-15T19:01:52.971-0800", datetime(2019, 2, 16, 3, 1, 52, 971000, UTC)),
    ("jira", "2024-01-02T03:04:05.000+0100", datetime(2024, 1, 2, 2, 4, 5, tzinfo=UTC)),
    ("servicenow", "2024-01-02 03:04:05", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("servicedesk_plus", "1704164645000", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("zendesk", "2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    # Unusable values are dropped, never an error.
    ("jira", "yesterday", None),
    ("jira", "0001-01-01T00:00:00+01:00", None),
    ("servicenow", "9999-12-31 23:59:59-01:00", None),
    ("servicedesk_plus", "99999999999999999999999", None),
    ("zendesk", None, None),
]


def _with_created(tool: str, value: Any) -> dict[str, Any]:
    body: dict[str, Any]
    if tool == "jira":
        body = jira_body()
        body["issue"]["fields"]["created"] = value
    elif tool == "servicenow":
        body = servicenow_body()
        body["opened_at"] = value
    elif tool == "servicedesk_plus":
        body = sdp_wrapped_body()
        body["request"]["created_time"] = {"value": value}
    else:
        body = zendesk_event_body()
        body["detail"]["created_at"] = value
    return body


@pytest.mark.parametrize(("tool", "value", "expected"), CREATED)
def test_created_at_is_utc(tool: str, value: Any, expected: datetime | None) -> None:
    created = extract(tool, _with_created(tool, value)).created_at
    assert created == expected
    if created is not None:
        offset = created.utcoffset()
        assert offset is not None
        assert offset.total_seconds() == 0


# -- unusable bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff\xfe{}", "UTF-8"),
        (b"{not json", "valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"null", "JSON object"),
        (b'{"ticket_id": ' + b"1" * 5000 + b"}", "valid JSON"),
        (b'{"a":' * 70 + b"{}" + b"}" * 70, "nested"),
        (b'{"ticket_id": "   "}', "no ticket id"),
        (b'{"ticket_id": "' + b"9" * 257 + b'"}', "too long"),
    ],
)
@pytest.mark.parametrize("tool", ["freshservice", "servicedesk_plus"])
def test_unusable_bodies_raise_payload_errors(tool: str, body: bytes, message: str) -> None:
    if tool == "servicedesk_plus":
        body = body.replace(b"ticket_id", b"id")
    with pytest.raises(WebhookPayloadError, match=message):
        extract(tool, body)


@pytest.mark.parametrize("tool", TOOLS)
def test_no_ticket_id_is_a_payload_error(tool: str) -> None:
    with pytest.raises(WebhookPayloadError, match="no ticket id"):
        extract(tool, {"hello": "world", "issue": {}, "detail": {}, "request": {}, "result": {}})


# -- properties ------------------------------------------------------------------------------

KNOWN_KEYS = [
    "issue", "fields", "id", "key", "summary", "description", "priority", "reporter", "created", "status",
    "webhookEvent", "type", "detail", "subject", "created_at", "requester_id", "ticket", "ticket_id", "event",
    "sys_id", "number", "short_description", "opened_at", "sys_created_on", "caller_id", "state", "result",
    "freshservice_webhook", "ticket_priority", "ticket_subject", "request", "display_id", "requester",
    "created_time", "value", "name", "displayName", "display_value",
]  # fmt: skip
INTERESTING = [
    "1", "Highest", "urgent", "1 - Critical", "zen:event-type:ticket.created", "jira:issue_created",
    "2019-02-15T19:01:52.971-0800", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
    "2024-01-02 03:04:05", "1704164645000", "9" * 30, "#INC-1", "", " ", "x" * 300, "\u0000", "²",
]  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(INTERESTING)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=30,
)
json_objects = st.dictionaries(st.sampled_from(KNOWN_KEYS), json_values, max_size=8)


def _extract_or_expected_error(tool: str, body: bytes, headers: dict[str, str], mode: str | None) -> None:
    try:
        result = extract(tool, body, headers, mode)
    except (WebhookPayloadError, ValidationError):
        return
    assert isinstance(result, TicketMetadata)
    assert result.tenant_id == "acme"
    assert result.tool_type == tool
    assert 0 < len(result.ticket_id.strip()) <= 256


@settings(max_examples=300, deadline=None)
@given(
    tool=st.sampled_from(TOOLS),
    value=json_objects | json_values,
    headers=st.dictionaries(
        st.sampled_from(["webhook-id", "x-atlassian-webhook-identifier"]), st.text(max_size=600), max_size=2
    ),
    mode=st.sampled_from([None, schemes.STANDARD_WEBHOOKS, schemes.SHARED_TOKEN]),
)
def test_extract_metadata_on_arbitrary_json(
    tool: str, value: Any, headers: dict[str, str], mode: str | None
) -> None:
    _extract_or_expected_error(tool, json.dumps(value).encode(), headers, mode)


@settings(max_examples=100, deadline=None)
@given(tool=st.sampled_from(TOOLS), body=st.binary(max_size=300))
def test_extract_metadata_on_arbitrary_bytes(tool: str, body: bytes) -> None:
    _extract_or_expected_error(tool, body, {}, None)


# -- the handler, fuzzed ---------------------------------------------------------------------


@dataclass
class Fuzz:
    stack: Stack
    tenants: dict[str, Tenant]
    handlers: dict[str, WebhookHandler]


@pytest.fixture(scope="module")
def fuzz(world: World) -> Fuzz:
    """One moto stack, a tenant and a warm handler per tool, shared by every example."""
    stack = world.stack()
    tenants = {tool: stack.add_tenant(tool, f"fuzz-{tool.replace('_', '-')}") for tool in TOOLS}
    return Fuzz(stack, tenants, {tool: stack.handler(tool) for tool in TOOLS})


SIGNATURE_HEADERS = [
    "x-hub-signature",
    "X-Hub-Signature",
    "x-atlassian-webhook-identifier",
    "x-zendesk-webhook-signature",
    "x-zendesk-webhook-signature-timestamp",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-webhook-token",
    "X-Webhook-Token",
]
fuzz_header_names = st.sampled_from(SIGNATURE_HEADERS) | st.text(max_size=20)
header_values = (
    st.text(max_size=100)
    | st.from_regex(r"(sha256=|v1,)[0-9a-zA-Z+/=]{0,70}", fullmatch=True)
    | st.integers(min_value=0, max_value=10**20).map(str)
)


def _signed_elsewhere(tool: str, body: bytes) -> dict[str, str]:
    """Genuine-looking headers: the right scheme, signed with a secret that is not the tenant's."""
    mode = DEFAULT_MODES[tool]
    secret = (
        "whsec_" + base64.b64encode(b"not the tenant's").decode() if mode == "standard-webhooks" else "nope"
    )
    return sign(mode, body, secret)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    tool=st.sampled_from(TOOLS),
    body=st.binary(max_size=600) | json_objects.map(lambda v: json.dumps(v).encode()),
    headers=st.dictionaries(fuzz_header_names, header_values, max_size=6),
    data=st.data(),
)
def test_handler_never_accepts_without_a_valid_signature(
    fuzz: Fuzz, tool: str, body: bytes, headers: dict[str, str], data: st.DataObject
) -> None:
    if data.draw(st.booleans(), label="forged"):
        headers = {**headers, **_signed_elsewhere(tool, body)}
    tenant_id = data.draw(st.none() | st.text(max_size=70), label="tenant_id")
    target = fuzz.tenants[tool].tenant_id if tenant_id is None else tenant_id
    as_base64 = data.draw(st.booleans(), label="base64")
    answer = fuzz.handlers[tool](webhook_event(tool, target, body, headers, as_base64), None)
    assert answer == {
        "statusCode": 401,
        "headers": {"content-type": "application/json"},
        "body": '{"error": "unauthorized"}',
    }
    assert fuzz.stack.delivery_records() == []
