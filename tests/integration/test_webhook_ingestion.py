"""The webhook functions end to end against moto: the HTTP section of docs/contract.md."""

from __future__ import annotations

import base64 as b64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from ticket_enhancer.ingest.handler import MAX_BODY_BYTES
from ticket_enhancer.ingest.queueing import TENANT_SHARDS, dedupe_hash, message_group
from ticket_enhancer.plugins.registry import webhook_schemes
from ticket_enhancer.webhooks import schemes

from tests.support import (
    API_TOKEN,
    DEFAULT_MODES,
    SECRET_DESCRIPTION,
    SYS_ID,
    TOOLS,
    EventBuilder,
    Stack,
    Tenant,
    TenantFactory,
    default_body,
    freshservice_plain_body,
    freshservice_wrapped_body,
    invoke,
    jira_body,
    new_secret,
    sdp_plain_body,
    sdp_wrapped_body,
    servicenow_body,
    unique,
    webhook_event,
    zammad_body,
    zendesk_event_body,
    zendesk_trigger_body,
)

UNAUTHORIZED = {"statusCode": 401, "headers": {"content-type": "application/json"}}
UNAUTHORIZED_BODY = '{"error": "unauthorized"}'
UNAVAILABLE = {"error": "temporarily unavailable"}
TIMESTAMPED_MODES = (schemes.ZENDESK_HMAC, schemes.STANDARD_WEBHOOKS)
T0 = 1_735_689_600.0  # 2025-01-01T00:00:00Z: the frozen clock of the replay-window tests

Hook = Callable[..., Any]

# Every handler built in a process sets the shared EMF default dimension again.
pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added")


@dataclass(frozen=True)
class Case:
    tool: str
    payload: dict[str, Any]
    ticket_id: str
    priority: str
    display_key: str
    created_at: datetime | None = None


CASES = [
    pytest.param(
        Case("jira", jira_body(), "10001", "critical", "IT-42", datetime(2019, 2, 16, 3, 1, 52, 971000, UTC)),
        id="jira-issue-created",
    ),
    pytest.param(
        Case(
            "zendesk", zendesk_event_body(), "123", "critical", "123", datetime(2024, 1, 2, 3, 4, 5, 0, UTC)
        ),
        id="zendesk-event",
    ),
    pytest.param(Case("zendesk", zendesk_trigger_body(), "123", "medium", "123"), id="zendesk-trigger"),
    pytest.param(
        Case(
            "servicenow",
            servicenow_body(),
            SYS_ID,
            "critical",
            "INC0010001",
            datetime(2024, 1, 2, 3, 4, 5, 0, UTC),
        ),
        id="servicenow",
    ),
    pytest.param(
        Case("freshservice", freshservice_wrapped_body(), "123", "high", "123"), id="freshservice-wrapped"
    ),
    pytest.param(
        Case("freshservice", freshservice_plain_body(), "123", "medium", "123"), id="freshservice-plain"
    ),
    pytest.param(
        Case(
            "servicedesk_plus",
            sdp_wrapped_body(),
            "123",
            "critical",
            "REQ-123",
            datetime(2024, 1, 2, 3, 4, 5, 0, UTC),
        ),
        id="sdp-wrapped",
    ),
    pytest.param(Case("servicedesk_plus", sdp_plain_body(), "123", "medium", "123"), id="sdp-plain"),
]


def assert_unauthorized(answer: dict[str, Any]) -> None:
    """Byte-for-byte the same 401 in every case: nothing tells a caller why."""
    assert answer == {**UNAUTHORIZED, "body": UNAUTHORIZED_BODY}


def assert_nothing_queued(aws: Stack, tool: str) -> None:
    assert aws.drain(tool) == []
    assert aws.delivery_records() == []


def fail_with(exc: Exception) -> Hook:
    def hook(**_: Any) -> None:
        raise exc

    return hook


def throttled(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)


# -- accepted deliveries ---------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_valid_delivery_is_queued_once_with_normalised_fields(
    aws: Stack, tenant: TenantFactory, case: Case
) -> None:
    acme = tenant(case.tool)
    handler = aws.handler(case.tool)
    body = dict(case.payload, tenant_id="someone-else")  # the tenant comes from the path, never the body
    status, answer = invoke(handler, acme.event(json.dumps(body).encode()))

    assert status == 202
    assert answer == {"status": "queued", "job_id": answer["job_id"]}
    [message] = aws.drain(case.tool)
    job = message.job
    assert job.job_id == answer["job_id"]
    meta = job.metadata
    assert (meta.tool_type, meta.tenant_id, meta.ticket_id) == (case.tool, acme.tenant_id, case.ticket_id)
    assert meta.event_type == "created"
    # De-duplicated per delivery; grouped per tenant shard (fair sharing: one tenant's burst holds at
    # most TENANT_SHARDS groups in flight).
    assert message.dedupe_id == dedupe_hash(meta.dedupe_key)
    assert message.group_id == message_group(meta.tenant_id, message.dedupe_id)
    assert message.group_id.rsplit("#", 1) == [
        meta.tenant_id,
        str(int(message.dedupe_id[:8], 16) % TENANT_SHARDS),
    ]
    for other in TOOLS:
        if other != case.tool:
            assert aws.drain(other) == []
    [record] = aws.delivery_records()
    assert record["job_id"]["S"] == job.job_id
    assert record["dedupe_key"]["S"] == meta.dedupe_key
    assert int(record["expires_at"]["N"]) - time.time() == pytest.approx(24 * 3600, abs=60)


@pytest.mark.parametrize("mode", [schemes.STANDARD_WEBHOOKS, schemes.SHARED_TOKEN])
@pytest.mark.parametrize("tool", TOOLS)
def test_standard_webhooks_and_shared_token_work_for_every_tool(
    aws: Stack, tenant: TenantFactory, tool: str, mode: str
) -> None:
    acme = tenant(tool, webhook_auth=mode)
    handler = aws.handler(tool)
    status, answer = invoke(handler, acme.event())
    assert (status, answer["status"]) == (202, "queued")
    [message] = aws.drain(tool)
    if mode == schemes.STANDARD_WEBHOOKS:  # the webhook-id is the delivery id
        assert message.job.metadata.delivery_id.startswith("msg_")
    # The tenant's mode is the only one accepted: the tool's default no longer is.
    native = DEFAULT_MODES[tool]
    if native != mode and not (native == schemes.STANDARD_WEBHOOKS and not acme.secret.startswith("whsec_")):
        body = json.dumps(BODY_FOR_ROTATION[tool]("31")).encode()
        assert_unauthorized(handler(_event(acme, body, acme.headers(body, mode=native)), None))


def _event(acme: Tenant, body: bytes, headers: dict[str, str], *, base64: bool = False) -> dict[str, Any]:
    return webhook_event(acme.tool, acme.tenant_id, body, headers, base64)


@pytest.mark.parametrize(
    ("tool", "mode"),
    [
        ("freshservice", schemes.JIRA_HMAC),
        ("servicenow", schemes.ZENDESK_HMAC),
        ("jira", schemes.ZENDESK_HMAC),
        ("zendesk", "none"),
    ],
)
def test_a_mode_the_tool_does_not_support_is_unauthorized(
    aws: Stack, tenant: TenantFactory, tool: str, mode: str
) -> None:
    acme = tenant(tool, webhook_auth=mode, secrets=["plain-secret"])
    body = default_body(tool)
    signing_mode = mode if mode in schemes.VERIFIERS else schemes.SHARED_TOKEN
    headers = acme.headers(body, mode=signing_mode)
    assert_unauthorized(aws.handler(tool)(_event(acme, body, headers), None))
    assert_nothing_queued(aws, tool)


@pytest.mark.parametrize("tool", TOOLS)
def test_any_secret_of_the_rotation_list_is_accepted(aws: Stack, tenant: TenantFactory, tool: str) -> None:
    mode = DEFAULT_MODES[tool]
    newest, older = new_secret(mode), new_secret(mode)
    acme = tenant(tool, secrets=[newest, older])
    handler = aws.handler(tool)
    bodies = [json.dumps(BODY_FOR_ROTATION[tool](n)).encode() for n in ("201", "202", "203")]
    for body, secret in zip(bodies, (newest, older), strict=False):
        status, _ = invoke(handler, acme.event(body, secret=secret))
        assert status == 202
    assert_unauthorized(handler(acme.event(bodies[2], secret=new_secret(mode)), None))
    assert len(aws.drain(tool)) == 2


BODY_FOR_ROTATION: dict[str, Callable[[str], dict[str, Any]]] = {
    "jira": lambda n: jira_body(issue_id=n),
    "zendesk": lambda n: dict(zendesk_event_body(ticket_id=n), id=f"event-{n}"),
    "servicenow": lambda n: servicenow_body(sys_id=n),
    "freshservice": lambda n: freshservice_plain_body(ticket_id=n),
    "servicedesk_plus": lambda n: sdp_plain_body(request_id=n),
    "zammad": lambda n: zammad_body(ticket_id=int(n) if n.isdigit() else n),  # its ids are numbers
}


def test_standard_webhooks_signature_list_with_a_rotated_key(aws: Stack, tenant: TenantFactory) -> None:
    old, new = new_secret(schemes.STANDARD_WEBHOOKS), new_secret(schemes.STANDARD_WEBHOOKS)
    acme = tenant("servicenow", secrets=[old])
    body = default_body("servicenow")
    now = time.time()
    headers = acme.headers(body, now=now, delivery_id="msg_rotation", secret=new)
    genuine = acme.headers(body, now=now, delivery_id="msg_rotation")["webhook-signature"]
    headers["webhook-signature"] = f"{headers['webhook-signature']} {genuine} v1,bm90LWEtc2lnbmF0dXJl"
    status, _ = invoke(aws.handler("servicenow"), _event(acme, body, headers))
    assert status == 202


@pytest.mark.parametrize("tool", TOOLS)
def test_mixed_case_header_names_are_accepted(aws: Stack, tenant: TenantFactory, tool: str) -> None:
    acme = tenant(tool)
    handler = aws.handler(tool)
    event = acme.event(lowercase=False)  # REST-API style: the sender's capitalisation
    assert any(name != name.lower() for name in event["headers"])
    status, _ = invoke(handler, event)
    assert status == 202
    shouted = acme.event(json.dumps(BODY_FOR_ROTATION[tool]("77")).encode(), lowercase=False)
    shouted["headers"] = {k.upper(): v for k, v in shouted["headers"].items()}
    status, _ = invoke(handler, shouted)
    assert status == 202


@pytest.mark.parametrize("tool", TOOLS)
def test_base64_bodies_are_verified_over_the_decoded_raw_bytes(
    aws: Stack, tenant: TenantFactory, tool: str
) -> None:
    acme = tenant(tool)
    handler = aws.handler(tool)
    payload = BODY_FOR_ROTATION[tool]("4711")
    # Odd spacing and non-ASCII: any re-serialisation would change the bytes.
    raw = (
        json.dumps(payload, indent=3, ensure_ascii=False).encode()[:-1] + ', "note": "Grüße \u2603"}'.encode()
    )
    assert json.loads(raw)["note"] == "Grüße ☃"
    status, answer = invoke(handler, acme.event(raw, base64=True))
    assert status == 202, answer
    [message] = aws.drain(tool)
    assert message.job.metadata.ticket_id == "4711"
    # Signed over a re-serialised copy instead of the raw bytes: rejected.
    canonical = json.dumps(json.loads(raw)).encode()
    headers = acme.headers(canonical)
    if acme.mode != schemes.SHARED_TOKEN:  # a static token does not cover the body
        assert_unauthorized(handler(_event(acme, raw, headers, base64=True), None))


# -- 401 -------------------------------------------------------------------------------------


def _swap_signature(headers: dict[str, str]) -> dict[str, str]:
    out = dict(headers)
    for name in ("X-Hub-Signature", "X-Zendesk-Webhook-Signature", "webhook-signature"):
        if name in out:
            out[name] = out[name][:-6] + ("AAAAA=" if out[name][-6:] != "AAAAA=" else "BBBBB=")
    if "X-Webhook-Token" in out:
        out["X-Webhook-Token"] = out["X-Webhook-Token"] + "x"
    return out


Scenario = Callable[[Stack, Tenant], dict[str, Any]]


def _signed(acme: Tenant, body: bytes, **kwargs: Any) -> dict[str, Any]:
    return _event(acme, body, acme.headers(body, **kwargs))


def _wrong_secret(aws: Stack, acme: Tenant) -> dict[str, Any]:
    return acme.event(secret=new_secret(acme.mode))


def _tampered_signature(aws: Stack, acme: Tenant) -> dict[str, Any]:
    body = default_body(acme.tool)
    return _event(acme, body, _swap_signature(acme.headers(body)))


def _tampered_body(aws: Stack, acme: Tenant) -> dict[str, Any]:
    body = default_body(acme.tool)
    headers = acme.headers(body)
    return _event(
        acme,
        body.replace(b"Highest", b"Lowest!")
        .replace(b'"1"', b'"5"')
        .replace(b"123", b"124")
        .replace(b"10081", b"10082"),
        headers,
    )


def _no_headers(aws: Stack, acme: Tenant) -> dict[str, Any]:
    return _event(acme, default_body(acme.tool), {})


def _empty_header_values(aws: Stack, acme: Tenant) -> dict[str, Any]:
    body = default_body(acme.tool)
    return _event(acme, body, dict.fromkeys(acme.headers(body), ""))


def _unknown_tenant(aws: Stack, acme: Tenant) -> dict[str, Any]:
    body = default_body(acme.tool)
    return _event(Tenant(acme.tool, "nobody-here", acme.mode, acme.secrets), body, acme.headers(body))


def _disabled_tenant(aws: Stack, acme: Tenant) -> dict[str, Any]:
    off = aws.add_tenant(acme.tool, enabled=False, secrets=list(acme.secrets))
    return _signed(off, default_body(acme.tool))


def _tenant_of_another_tool(aws: Stack, acme: Tenant) -> dict[str, Any]:
    other_tool = next(t for t in TOOLS if t != acme.tool)
    # A row of another tool whose secret happens to equal this tenant's (same secret, same mode).
    foreign = aws.add_tenant(
        acme.tool, tool_type=other_tool, webhook_auth=acme.mode, secrets=list(acme.secrets)
    )
    return _signed(foreign, default_body(acme.tool))


def _secret_outside_the_tool_prefix(aws: Stack, acme: Tenant) -> dict[str, Any]:
    tenant_id = unique("sneaky")
    other_tool = next(t for t in TOOLS if t != acme.tool)
    sneaky = aws.add_tenant(
        acme.tool,
        tenant_id,
        secrets=list(acme.secrets),
        secret_id=f"ticket-enhancer/{other_tool}/{tenant_id}",
    )
    return _signed(sneaky, default_body(acme.tool))


def _path_trick(tenant_id: str) -> Scenario:
    def scenario(aws: Stack, acme: Tenant) -> dict[str, Any]:
        event = _signed(acme, default_body(acme.tool))
        event["pathParameters"] = {"tool": acme.tool, "tenant_id": tenant_id.replace("ACME", acme.tenant_id)}
        return event

    return scenario


def _no_path_parameters(aws: Stack, acme: Tenant) -> dict[str, Any]:
    event = _signed(acme, default_body(acme.tool))
    event["pathParameters"] = None
    return event


def _secret_as_signature(aws: Stack, acme: Tenant) -> dict[str, Any]:
    body = default_body(acme.tool)
    headers = dict.fromkeys(acme.headers(body), acme.secret)
    return _event(acme, body, headers)


# A static token does not cover the body, and is the secret itself.
NOT_FOR_SHARED_TOKEN = {"tampered-body", "secret-as-signature"}

REJECTIONS: dict[str, Scenario] = {
    "wrong-secret": _wrong_secret,
    "tampered-signature": _tampered_signature,
    "tampered-body": _tampered_body,
    "no-headers": _no_headers,
    "empty-header-values": _empty_header_values,
    "secret-as-signature": _secret_as_signature,
    "unknown-tenant": _unknown_tenant,
    "disabled-tenant": _disabled_tenant,
    "tenant-of-another-tool": _tenant_of_another_tool,
    "secret-outside-prefix": _secret_outside_the_tool_prefix,
    "path-dotdot": _path_trick("../jira/ACME"),
    "path-encoded-slash": _path_trick("ACME%2F.."),
    "path-trailing-slash": _path_trick("ACME/"),
    "path-empty": _path_trick(""),
    "path-dot": _path_trick("."),
    "path-nul": _path_trick("ACME\x00"),
    "path-too-long": _path_trick("a" * 65),
    "no-path-parameters": _no_path_parameters,
}


@pytest.mark.parametrize(
    ("tool", "scenario"),
    [
        (tool, scenario)
        for tool in TOOLS
        for scenario in REJECTIONS
        if not (DEFAULT_MODES[tool] == schemes.SHARED_TOKEN and scenario in NOT_FOR_SHARED_TOKEN)
    ],
)
def test_every_rejection_is_the_same_401(aws: Stack, tenant: TenantFactory, tool: str, scenario: str) -> None:
    acme = tenant(tool)
    handler = aws.handler(tool)
    assert_unauthorized(handler(REJECTIONS[scenario](aws, acme), None))
    assert_nothing_queued(aws, tool)
    # ... and the genuine delivery still works afterwards (no poisoned cache).
    status, _ = invoke(handler, acme.event())
    assert status == 202


@pytest.mark.parametrize("tool", TOOLS)
def test_each_missing_header_is_unauthorized(aws: Stack, tenant: TenantFactory, tool: str) -> None:
    acme = tenant(tool)
    handler = aws.handler(tool)
    body = default_body(tool)
    headers = acme.headers(body)
    scheme = webhook_schemes()[acme.mode]  # its unsigned delivery id (Jira's, Zammad's) is optional
    optional = {scheme.delivery_id_header} if not scheme.delivery_id_signed else set()
    required = [n for n in headers if n not in optional]
    for name in required:
        partial = {k: v for k, v in headers.items() if k != name}
        assert_unauthorized(handler(_event(acme, body, partial), None))
    assert_nothing_queued(aws, tool)


TIMESTAMPED = [
    pytest.param("zendesk", None, id="zendesk-hmac"),
    pytest.param("servicenow", None, id="servicenow-standard-webhooks"),
    pytest.param("jira", schemes.STANDARD_WEBHOOKS, id="jira-standard-webhooks"),
    pytest.param("servicedesk_plus", schemes.STANDARD_WEBHOOKS, id="sdp-standard-webhooks"),
]


@pytest.mark.parametrize(("tool", "mode"), TIMESTAMPED)
@pytest.mark.parametrize(
    "window",
    [(-301, False), (-3600, False), (-300, True), (0, True), (300, True), (301, False), (86_400, False)],
    ids=lambda w: f"{w[0]:+d}s",
)
def test_replay_window_is_300_seconds_both_ways(
    aws: Stack, tenant: TenantFactory, tool: str, mode: str | None, window: tuple[int, bool]
) -> None:
    offset, accepted = window
    acme = tenant(tool, webhook_auth=mode)
    handler = aws.handler(tool, clock=lambda: T0)
    answer = handler(acme.event(now=T0 + offset), None)
    if accepted:
        assert answer["statusCode"] == 202
    else:
        assert_unauthorized(answer)
        assert_nothing_queued(aws, tool)


@pytest.mark.parametrize(
    "stamp",
    ["2025-01-01T00:00:00", "2025-01-01 00:00:00", "not a time", "1735689600", "0001-01-01T00:00:00+01:00"],
)
def test_zendesk_timestamps_without_a_zone_are_unauthorized(
    aws: Stack, tenant: TenantFactory, stamp: str
) -> None:
    acme = tenant("zendesk")
    body = default_body("zendesk")
    mac = hmac.new(acme.secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    headers = {
        "X-Zendesk-Webhook-Signature": b64.b64encode(mac).decode(),  # correctly signed, odd stamp
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }
    assert_unauthorized(aws.handler("zendesk", clock=lambda: T0)(_event(acme, body, headers), None))


@pytest.mark.parametrize("stamp", ["-1735689600", "1735689600.0", "1e9", "+1735689600", "9" * 400, "0" * 300])
def test_standard_webhooks_odd_timestamps_are_unauthorized(
    aws: Stack, tenant: TenantFactory, stamp: str
) -> None:
    acme = tenant("servicenow")
    body = default_body("servicenow")
    key = schemes.standard_webhooks_key(acme.secret)
    assert key is not None
    mac = hmac.new(key, f"msg_1.{stamp}.".encode() + body, hashlib.sha256).digest()
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + b64.b64encode(mac).decode(),
    }
    assert_unauthorized(aws.handler("servicenow", clock=lambda: T0)(_event(acme, body, headers), None))


# -- 400 and 413 -----------------------------------------------------------------------------

BAD_BODIES = {
    "malformed-json": (b'{"issue": {"id": "1"', "JSON"),
    "not-utf8": (b'{"ticket_id": "\xff\xfe caf\xe9"}', "UTF-8"),
    "json-array": (b'[{"ticket_id": 1}]', "object"),
    "json-string": (b'"hello"', "object"),
    "empty-body": (b"", "JSON"),
    "no-ticket-id": (b'{"webhookEvent": "jira:issue_created", "hello": "world"}', "ticket id"),
    "blank-ticket-id": (b'{"ticket_id": "   ", "id": " ", "sys_id": "", "issue": {"id": " "}}', "ticket id"),
    "huge-integer": (b'{"ticket_id": ' + b"9" * 5000 + b"}", "JSON"),
    "too-deep": (b'{"a": ' * 100 + b"1" + b"}" * 100, "deep"),
}


@pytest.mark.parametrize("kind", BAD_BODIES)
@pytest.mark.parametrize("tool", TOOLS)
def test_authenticated_but_unusable_bodies_are_400(
    aws: Stack, tenant: TenantFactory, tool: str, kind: str
) -> None:
    acme = tenant(tool)
    body, says = BAD_BODIES[kind]
    # Base64 carries the raw bytes (the only way non-UTF-8 reaches Lambda); signed correctly.
    status, answer = invoke(aws.handler(tool), acme.event(body, base64=True))
    assert status == 400
    assert list(answer) == ["error"]
    assert says.lower() in answer["error"].lower()
    assert_nothing_queued(aws, tool)


@pytest.mark.parametrize("tool", TOOLS)
def test_400_comes_only_after_authentication(aws: Stack, tenant: TenantFactory, tool: str) -> None:
    acme = tenant(tool)
    handler = aws.handler(tool)
    for body, _ in BAD_BODIES.values():
        assert_unauthorized(handler(_event(acme, body, {}, base64=True), None))


@pytest.mark.parametrize("tool", TOOLS)
def test_body_over_256_kib_is_413_before_anything_else(aws: Stack, tenant: TenantFactory, tool: str) -> None:
    acme = tenant(tool)
    handler = aws.handler(tool)
    calls: list[str] = []
    for client in (aws.dynamodb, aws.sqs, aws.secretsmanager):
        aws.hook(client, "before-call", lambda model, **_: calls.append(model.name))
    too_big = b'{"ticket_id": "1", "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    for event in (
        _event(acme, too_big, {}),  # unsigned
        _event(acme, too_big, {}, base64=True),
        _event(Tenant(tool, "../nobody", acme.mode, acme.secrets), too_big, {}),
        _signed(acme, too_big),
    ):
        status, answer = invoke(handler, event)
        assert (status, answer) == (413, {"error": "payload too large"})
    assert calls == []  # not even the tenant was looked up
    assert_nothing_queued(aws, tool)


@pytest.mark.parametrize("tool", TOOLS)
def test_body_of_exactly_256_kib_is_accepted(aws: Stack, tenant: TenantFactory, tool: str) -> None:
    acme = tenant(tool)
    head = json.dumps(BODY_FOR_ROTATION[tool]("9"))[:-1] + ', "pad": "'
    body = (head + "x" * (MAX_BODY_BYTES - len(head) - 2) + '"}').encode()
    assert len(body) == MAX_BODY_BYTES
    status, _ = invoke(aws.handler(tool), acme.event(body))
    assert status == 202


# -- de-duplication --------------------------------------------------------------------------


@pytest.mark.parametrize("tool", TOOLS)
def test_the_same_delivery_again_is_a_duplicate(aws: Stack, tenant: TenantFactory, tool: str) -> None:
    acme = tenant(tool)
    handler = aws.handler(tool)
    body = default_body(tool)
    event = _signed(acme, body, delivery_id="delivery-1" if acme.mode == schemes.JIRA_HMAC else None)
    status, first = invoke(handler, event)
    assert status == 202
    for _ in range(2):
        status, again = invoke(handler, event)
        assert (status, again) == (200, {"status": "duplicate", "job_id": first["job_id"]})
    # The tool's retry re-signs later (new timestamp), same delivery.
    webhook_id = event["headers"].get("webhook-id")
    retry = _signed(acme, body, now=time.time() + 5, delivery_id=webhook_id or "delivery-1")
    status, again = invoke(handler, retry)
    assert (status, again) == (200, {"status": "duplicate", "job_id": first["job_id"]})
    [message] = aws.drain(tool)
    assert message.job.job_id == first["job_id"]
    assert len(aws.delivery_records()) == 1


@pytest.mark.parametrize("tool", TOOLS)
def test_the_same_delivery_for_two_tenants_is_two_jobs(aws: Stack, tenant: TenantFactory, tool: str) -> None:
    acme, globex = tenant(tool), tenant(tool)
    handler = aws.handler(tool)
    body = default_body(tool)
    jobs = set()
    for who in (acme, globex):
        status, answer = invoke(handler, _signed(who, body, delivery_id="same-delivery"))
        assert status == 202
        jobs.add(answer["job_id"])
    assert {m.job.job_id for m in aws.drain(tool)} == jobs
    assert len(jobs) == 2


class SerialMetrics:
    """The handler's Powertools metrics with one caller at a time. Lambda runs one invocation per
    environment at a time, so the handler's metric set is not made for threads; the test below runs
    one handler in five threads (the race under test is in DynamoDB and SQS, not in the metrics), and
    two flushes at once can find the set emptied under them (``SchemaValidationError``)."""

    def __init__(self, metrics: Any) -> None:
        self._metrics = metrics
        self._lock = threading.Lock()

    def add_metric(self, **kwargs: Any) -> None:
        with self._lock:
            self._metrics.add_metric(**kwargs)

    def flush_metrics(self) -> None:
        with self._lock:
            self._metrics.flush_metrics()


@pytest.mark.parametrize("tool", TOOLS)
def test_concurrent_identical_deliveries_queue_one_job(aws: Stack, tenant: TenantFactory, tool: str) -> None:
    acme = tenant(tool)
    handler = aws.handler(tool)
    handler.metrics = SerialMetrics(handler.metrics)  # type: ignore[assignment]
    invoke(handler, acme.event(json.dumps(BODY_FOR_ROTATION[tool]("warm-up")).encode()))  # tenant cached
    aws.drain(tool)
    event = _signed(
        acme, default_body(tool), delivery_id="racing" if acme.mode == schemes.JIRA_HMAC else None
    )
    start = threading.Barrier(5)
    answers: list[tuple[int, dict[str, Any]]] = []
    errors: list[BaseException] = []

    def send() -> None:
        start.wait()
        try:
            answers.append(invoke(handler, event))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(answers) == 5
    assert {status for status, _ in answers} <= {200, 202}
    messages = aws.drain(tool)
    assert len(messages) >= 1
    assert len({m.dedupe_id for m in messages}) == 1
    assert len({m.job.job_id for m in messages}) == 1
    assert messages[0].job.job_id in {answer["job_id"] for _, answer in answers}


# -- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error", [throttled("PutItem"), EndpointConnectionError(endpoint_url="https://dynamodb")]
)
def test_failing_put_item_is_503_and_the_retry_queues(
    aws: Stack, tenant: TenantFactory, error: Exception
) -> None:
    acme = tenant("jira")
    handler = aws.handler("jira")
    event = acme.event()
    hook = fail_with(error)
    aws.hook(aws.dynamodb, "before-call.dynamodb.PutItem", hook)
    assert invoke(handler, event) == (503, UNAVAILABLE)
    assert_nothing_queued(aws, "jira")
    aws.unhook()
    status, answer = invoke(handler, event)
    assert status == 202
    assert [m.job.job_id for m in aws.drain("jira")] == [answer["job_id"]]


@pytest.mark.parametrize("tool", TOOLS)
def test_failing_send_is_503_and_the_retry_queues_exactly_once(
    aws: Stack, tenant: TenantFactory, tool: str
) -> None:
    acme = tenant(tool)
    handler = aws.handler(tool)
    event = acme.event()
    hook = fail_with(throttled("SendMessage"))
    aws.hook(aws.sqs, "before-call.sqs.SendMessage", hook)
    assert invoke(handler, event) == (503, UNAVAILABLE)
    assert invoke(handler, event) == (503, UNAVAILABLE)
    assert aws.drain(tool) == []
    aws.unhook()
    status, answer = invoke(handler, event)
    assert status in (200, 202)
    status, again = invoke(handler, event)
    assert (status, again) == (200, {"status": "duplicate", "job_id": answer["job_id"]})
    [message] = aws.drain(tool)
    assert message.job.job_id == answer["job_id"]


class Crash(Exception):
    """The Lambda dies (timeout, OOM) at this point."""


@pytest.mark.parametrize("tool", TOOLS)
def test_crash_after_the_write_loses_nothing(aws: Stack, tenant: TenantFactory, tool: str) -> None:
    acme = tenant(tool)
    handler = aws.handler(tool)
    event = acme.event()
    hook = fail_with(Crash("after PutItem"))
    aws.hook(aws.dynamodb, "after-call.dynamodb.PutItem", hook)
    with pytest.raises(Crash):
        handler(event, None)
    [record] = aws.delivery_records()  # written, never sent
    assert aws.drain(tool) == []
    aws.unhook()
    status, answer = invoke(handler, event)  # the tool retries
    assert status in (200, 202)
    assert answer["job_id"] == record["job_id"]["S"]
    [message] = aws.drain(tool)
    assert message.job.job_id == answer["job_id"]


@pytest.mark.parametrize("tool", TOOLS)
def test_crash_after_the_send_loses_nothing_and_adds_nothing(
    aws: Stack, tenant: TenantFactory, tool: str
) -> None:
    acme = tenant(tool)
    handler = aws.handler(tool)
    event = acme.event()
    hook = fail_with(Crash("after SendMessage"))
    aws.hook(aws.sqs, "after-call.sqs.SendMessage", hook)
    with pytest.raises(Crash):
        handler(event, None)
    aws.unhook()
    status, answer = invoke(handler, event)
    assert (status, answer["status"]) == (200, "duplicate")
    [message] = aws.drain(tool)
    assert message.job.job_id == answer["job_id"]


@pytest.mark.parametrize(
    "fault",
    [
        ("secretsmanager", "before-call.secrets-manager.GetSecretValue", throttled("GetSecretValue")),
        (
            "secretsmanager",
            "before-call.secrets-manager.GetSecretValue",
            EndpointConnectionError(endpoint_url="x"),
        ),
        ("dynamodb", "before-call.dynamodb.GetItem", throttled("GetItem")),
        ("dynamodb", "before-call.dynamodb.GetItem", EndpointConnectionError(endpoint_url="x")),
    ],
    ids=["secrets-throttled", "secrets-unreachable", "getitem-throttled", "getitem-unreachable"],
)
@pytest.mark.parametrize("tool", ["jira", "freshservice"])
def test_tenant_store_failures_are_503_and_not_cached(
    aws: Stack, tenant: TenantFactory, tool: str, fault: tuple[str, str, Exception]
) -> None:
    client, event_name, error = fault
    acme = tenant(tool)
    handler = aws.handler(tool)
    boto_client = aws.secretsmanager if client == "secretsmanager" else aws.dynamodb
    hook = fail_with(error)
    aws.hook(boto_client, event_name, hook)
    assert invoke(handler, acme.event()) == (503, UNAVAILABLE)
    # Even an unsigned request cannot tell the tenant from the outage: 503, not 401.
    assert invoke(handler, _event(acme, default_body(tool), {})) == (503, UNAVAILABLE)
    assert_nothing_queued(aws, tool)
    aws.unhook()
    status, _ = invoke(handler, acme.event())
    assert status == 202


def test_missing_tenant_secret_is_401(aws: Stack, tenant: TenantFactory) -> None:
    acme = tenant("jira")
    aws.secretsmanager.delete_secret(
        SecretId=f"ticket-enhancer/jira/{acme.tenant_id}/webhook", ForceDeleteWithoutRecovery=True
    )
    assert_unauthorized(aws.handler("jira")(acme.event(), None))


@pytest.mark.parametrize(
    "secret_string", ["not json", '{"webhook_secrets": "one"}', "{}", '{"webhook_secrets": []}']
)
def test_malformed_tenant_secret_is_401(aws: Stack, tenant: TenantFactory, secret_string: str) -> None:
    acme = tenant("jira")
    aws.secretsmanager.put_secret_value(
        SecretId=f"ticket-enhancer/jira/{acme.tenant_id}/webhook", SecretString=secret_string
    )
    assert_unauthorized(aws.handler("jira")(acme.event(), None))


# -- AWS calls per request -------------------------------------------------------------------


def _count_calls(aws: Stack) -> list[str]:
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    for client in (aws.dynamodb, aws.sqs, aws.secretsmanager):
        aws.hook(client, "before-call", record)
    return calls


@pytest.mark.parametrize("tool", TOOLS)
def test_a_warm_request_makes_two_aws_calls(aws: Stack, tenant: TenantFactory, tool: str) -> None:
    acme = tenant(tool)
    handler = aws.handler(tool)
    calls = _count_calls(aws)
    first = acme.event(json.dumps(BODY_FOR_ROTATION[tool]("1")).encode())
    assert invoke(handler, first)[0] == 202
    assert sorted(calls) == ["GetItem", "GetSecretValue", "PutItem", "SendMessage"]  # cold: tenant loaded
    for ticket in ("2", "3"):
        calls.clear()
        assert invoke(handler, acme.event(json.dumps(BODY_FOR_ROTATION[tool](ticket)).encode()))[0] == 202
        assert calls == ["PutItem", "SendMessage"]
    calls.clear()
    assert invoke(handler, first)[0] == 200  # a warm duplicate: the same two calls, nothing more
    assert calls == ["PutItem", "SendMessage"]
    calls.clear()
    assert_unauthorized(handler(_event(acme, default_body(tool), {}), None))
    assert calls == []  # a rejected warm request: none


def test_unknown_tenants_are_cached_briefly(aws: Stack) -> None:
    handler = aws.handler("jira")
    calls = _count_calls(aws)
    ghost = Tenant("jira", "ghost", schemes.JIRA_HMAC, ("s",))
    for _ in range(3):
        assert_unauthorized(handler(ghost.event(), None))
    assert calls == ["GetItem"]


# -- logs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", TOOLS)
def test_logs_never_carry_secrets_signatures_or_ticket_text(
    aws: Stack,
    tenant: TenantFactory,
    tool: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO")  # Lambda's level; botocore's DEBUG output echoes request bodies
    acme = tenant(tool)
    handler = aws.handler(tool)
    body = default_body(tool)
    event = acme.event(body)
    secret_headers = (
        "x-hub-signature",
        "x-zendesk-webhook-signature",
        "webhook-signature",
        "x-webhook-token",
    )
    sent_values = [v for k, v in event["headers"].items() if k in secret_headers]
    assert sent_values
    invoke(handler, event)  # 202
    invoke(handler, event)  # 200
    handler(_event(acme, body, _swap_signature(acme.headers(body))), None)  # 401
    invoke(handler, acme.event(b'{"nothing": "' + SECRET_DESCRIPTION.encode() + b'"}'))  # 400
    hook = fail_with(throttled("SendMessage"))
    aws.hook(aws.sqs, "before-call.sqs.SendMessage", hook)
    invoke(handler, acme.event(json.dumps(BODY_FOR_ROTATION[tool]("5")).encode()))  # 503
    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "webhook queued" in logs  # the capture works
    assert "webhook duplicate" in logs
    forbidden = [acme.secret, API_TOKEN, SECRET_DESCRIPTION, "hunter2", *sent_values]
    if acme.mode == schemes.STANDARD_WEBHOOKS:
        forbidden.append(acme.secret.removeprefix("whsec_"))
    for value in forbidden:
        assert value not in logs, value


def test_webhook_event_fixture_builds_http_api_events(webhook_event: EventBuilder) -> None:
    event = webhook_event("jira", "acme", b'{"a": "\xc3\xbc"}', {"X-Hub-Signature": "sha256=00"}, base64=True)
    assert event["version"] == "2.0"
    assert event["headers"]["x-hub-signature"] == "sha256=00"
    assert all(name == name.lower() for name in event["headers"])
    assert event["pathParameters"] == {"tool": "jira", "tenant_id": "acme"}
    assert event["requestContext"]["requestId"]
    assert event["isBase64Encoded"] is True
    assert b64.b64decode(event["body"]) == b'{"a": "\xc3\xbc"}'
