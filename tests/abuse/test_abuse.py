"""Abuse (issue 7): hostile input at every door, fuzzed at the handler and worker level.

Extends tests/unit/test_webhook_parsing.py (arbitrary JSON and bytes through ``extract_metadata``,
unsigned and forged deliveries through the handler) with: correctly signed hostile bodies (deep
nesting up to 10,000 levels, non-UTF-8, byte-order marks, huge numbers, JSON constants), header
injection (CR/LF in values, duplicated and case-twin headers, oversized and numerous headers),
tenant ids with path tricks (``..%2F``, ``%00``, homoglyphs, 1,000 characters), and base URLs
aimed at loopback, the instance metadata service, private ranges and IPv6 literals in deployed
mode (the worker fails the job and makes no HTTP request).

atheris (coverage-guided, libFuzzer) installs cleanly on Python 3.11 here and is pinned in
requirements/dev.txt: ``test_atheris_finds_no_crash_in_webhook_parsing`` runs the target in
``atheris_target.py`` for a bounded number of inputs from a corpus seeded with each tool's webhook.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ticket_enhancer.ingest.handler import WebhookHandler
from ticket_enhancer.models import EnhancementJob, JobTicket, TicketMetadata, new_job_id
from ticket_enhancer.plugins.base import TICKET_ID_RE
from ticket_enhancer.tenants import deserialize_item, secret_name, valid_tenant_id
from ticket_enhancer.urls import BaseUrlError, Resolver
from ticket_enhancer.worker.handler import make_worker_handler
from ticket_enhancer_dev.sandbox.tickets import webhook_body

from tests.support import TOOLS, Stack, Tenant, World, check_base_url, public_resolver, unique, webhook_event

pytestmark = [
    pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

HERE = Path(__file__).resolve().parent
UNAUTHORIZED = {
    "statusCode": 401,
    "headers": {"content-type": "application/json"},
    "body": '{"error": "unauthorized"}',
}
FUZZ_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Doors:
    """One moto stack, a tenant and a warm webhook handler per tool, and every AWS call counted."""

    stack: Stack
    tenants: dict[str, Tenant]
    handlers: dict[str, WebhookHandler]
    aws_calls: list[str] = field(default_factory=list)

    def call(self, tool: str, event: dict[str, Any]) -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        answer = self.handlers[tool](event, None)
        return answer, time.perf_counter() - started

    def signed(self, tool: str, body: bytes, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """``body`` signed with the tenant's secret, carried base64 (raw bytes, as Lambda gets them)."""
        tenant = self.tenants[tool]
        return webhook_event(tool, tenant.tenant_id, body, headers or tenant.headers(body), base64=True)

    def queued_ticket_ids(self) -> list[str]:
        return [m.job.metadata.ticket_id for tool in TOOLS for m in self.stack.drain(tool)]


@pytest.fixture(scope="module")
def doors(world: World) -> Iterator[Doors]:
    stack = world.stack()
    tenants = {tool: stack.add_tenant(tool, f"abuse-{tool.replace('_', '-')}") for tool in TOOLS}
    found = Doors(stack, tenants, {tool: stack.handler(tool) for tool in TOOLS})
    for tool in TOOLS:  # warm: tenants cached, queues created
        found.call(tool, found.signed(tool, json.dumps(webhook_body(tool, "warm")).encode()))
    found.queued_ticket_ids()
    for client in (stack.dynamodb, stack.sqs, stack.secretsmanager):
        stack.hook(client, "before-call", lambda model, **_: found.aws_calls.append(model.name))
    yield found
    stack.unhook()


def status(answer: dict[str, Any]) -> int:
    return int(answer["statusCode"])


# -- hostile bodies, correctly signed -------------------------------------------------------------

NESTED = {
    "arrays-10000": b'{"ticket_id": "1", "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    "objects-10000": b'{"ticket_id": "1", "x": ' + b'{"a": ' * 10_000 + b"1" + b"}" * 10_000 + b"}",
    "arrays-100000": b"[" * 100_000 + b"]" * 100_000,
    "just-past-the-limit": b'{"ticket_id": "1", "x": ' + b"[" * 64 + b"]" * 64 + b"}",
    "unclosed-10000": b'{"ticket_id": "1", "x": ' + b"[" * 10_000,
}


@pytest.mark.parametrize("kind", NESTED)
@pytest.mark.parametrize("tool", TOOLS)
def test_deeply_nested_json_is_400_in_bounded_time(doors: Doors, tool: str, kind: str) -> None:
    answer, seconds = doors.call(tool, doors.signed(tool, NESTED[kind]))

    assert status(answer) == 400
    assert seconds < 1.0
    assert doors.queued_ticket_ids() == []


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("tool", TOOLS)
def test_json_constants_that_are_not_json_are_400(doors: Doors, tool: str, literal: str) -> None:
    """Python's json accepts NaN and Infinity; JSON does not (RFC 8259), nor does the webhook."""
    body = json.dumps(webhook_body(tool, "t")).encode()
    answer, _ = doors.call(tool, doors.signed(tool, body[:-1] + b', "x": ' + literal.encode() + b"}"))

    assert status(answer) == 400
    assert json.loads(answer["body"]) == {"error": "body is not valid JSON"}
    assert doors.queued_ticket_ids() == []


# Where each tool's body carries the ticket id, as a JSON fragment to splice a literal into.
TICKET_ID_SLOTS: dict[str, Callable[[str], bytes]] = {
    "jira": lambda v: b'{"webhookEvent": "jira:issue_created", "issue": {"id": ' + v.encode() + b"}}",
    "zendesk": lambda v: b'{"ticket_id": ' + v.encode() + b', "event": "created"}',
    "servicenow": lambda v: b'{"sys_id": ' + v.encode() + b', "number": "INC1"}',
    "freshservice": lambda v: b'{"freshservice_webhook": {"ticket_id": ' + v.encode() + b"}}",
    "servicedesk_plus": lambda v: b'{"request": {"id": ' + v.encode() + b"}}",
    "zammad": lambda v: b'{"ticket": {"id": ' + v.encode() + b'}, "article": {}}',
}
number_literals = (
    st.integers().map(str)
    | st.integers(min_value=10**18, max_value=10**400).map(str)
    | st.floats(allow_nan=False, allow_infinity=False).map(repr)
    | st.sampled_from(
        [
            "1e999",
            "-1e999",
            "1E+400",
            "1e-999",
            "-0",
            "0.0",
            "9" * 4300,
            "9" * 4301,
            "9" * 50_000,
            "1" + "0" * 300,
        ]
    )
)
INVALID_UTF8 = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80", b"\xfe\xff"]


def _hostile_body(data: st.DataObject, tool: str) -> bytes:
    kind = data.draw(st.sampled_from(["number", "invalid-utf8", "bom", "nested", "bytes"]), label="kind")
    if kind == "number":
        return TICKET_ID_SLOTS[tool](data.draw(number_literals, label="number"))
    genuine = json.dumps(webhook_body(tool, "t")).encode()
    if kind == "invalid-utf8":
        at = data.draw(st.integers(0, len(genuine)), label="at")
        return genuine[:at] + data.draw(st.sampled_from(INVALID_UTF8), label="bad") + genuine[at:]
    if kind == "bom":
        return data.draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]), label="bom") + genuine
    if kind == "nested":
        depth = data.draw(st.integers(1, 3000), label="depth")
        return genuine[:-1] + b', "x": ' + b"[" * depth + b"]" * depth + b"}"
    return data.draw(st.binary(max_size=2000), label="bytes")


@FUZZ_SETTINGS
@given(tool=st.sampled_from(TOOLS), data=st.data())
def test_signed_hostile_bodies_are_answered_never_raised(
    doors: Doors, tool: str, data: st.DataObject
) -> None:
    """Authenticated garbage is a 400 (or, if it names a ticket, 202): never a 5xx or an exception,
    and whatever is queued has a ticket id the REST paths accept."""
    answer, seconds = doors.call(tool, doors.signed(tool, _hostile_body(data, tool)))

    assert status(answer) in (200, 202, 400), answer
    assert seconds < 2.0
    for ticket_id in doors.queued_ticket_ids():
        assert TICKET_ID_RE.fullmatch(ticket_id), ticket_id


# -- header injection ---------------------------------------------------------------------------


def _inject(data: st.DataObject, headers: dict[str, str], forged: dict[str, str]) -> dict[str, Any]:
    """The genuine headers of another body, mutated the ways a proxy or an attacker might."""
    out: dict[str, Any] = dict(headers)
    name = data.draw(st.sampled_from(sorted(headers)), label="header")
    how = data.draw(
        st.sampled_from(
            ["crlf", "crlf-forged", "duplicate", "duplicate-forged", "case-twin", "oversized", "nul"]
        ),
        label="how",
    )
    value = headers[name]
    if how == "crlf":
        out[name] = value + "\r\n" + data.draw(st.text(max_size=50), label="tail")
    elif how == "crlf-forged":  # try to smuggle in a second, "valid" header line
        other = next(iter(forged))
        out[name] = f"{value}\r\n{other}: {forged[other]}"
    elif how == "duplicate":  # API Gateway joins repeated headers with commas
        out[name] = f"{value},{value}"
    elif how == "duplicate-forged":
        out[name] = f"{value},{forged.get(name, value)}"
    elif how == "case-twin":  # the same header twice under different case, as a REST API passes it
        out[name.upper()] = forged.get(name, value)
    elif how == "oversized":
        out[name] = value + " " + "A" * data.draw(st.integers(1, 1 << 20), label="size")
    else:
        out[name] = value + "\x00" + value
    return out


@FUZZ_SETTINGS
@given(tool=st.sampled_from(TOOLS), data=st.data())
def test_header_injection_never_authenticates_another_body(
    doors: Doors, tool: str, data: st.DataObject
) -> None:
    """Headers signed for one body, injected with CR/LF, duplicated, case twins, NULs or megabytes of
    padding, never authenticate a different body: 401, nothing written, nothing queued."""
    tenant = doors.tenants[tool]
    signed_body = json.dumps(webhook_body(tool, "signed")).encode()
    other_body = signed_body[:-1] + b', "tampered": true}'
    assert other_body != signed_body
    if tenant.mode == "shared-token":  # a static token does not cover the body: guesses of the token
        headers = {"X-Webhook-Token": tenant.secret[:-1] + "x"}
        forged = {"X-Webhook-Token": tenant.secret[:-2]}
    else:
        headers = tenant.headers(signed_body)
        forged = tenant.headers(
            signed_body, secret="not-the-secret" if tenant.mode != "standard-webhooks" else None
        )
    event = webhook_event(tool, tenant.tenant_id, other_body, _inject(data, headers, forged), lowercase=False)
    before = len(doors.stack.delivery_records())

    answer, seconds = doors.call(tool, event)

    assert answer == UNAUTHORIZED
    assert seconds < 1.0
    assert len(doors.stack.delivery_records()) == before
    assert doors.queued_ticket_ids() == []


def test_numerous_and_huge_headers_are_401_quickly(doors: Doors) -> None:
    body = json.dumps(webhook_body("jira", "t")).encode()
    many = {f"x-h-{n}": "v" * 100 for n in range(10_000)}
    huge = {"x-hub-signature": "sha256=" + "0" * (8 << 20), "x-atlassian-webhook-identifier": "i" * (1 << 20)}
    for headers in (many, huge, {**many, **huge}):
        answer, seconds = doors.call(
            "jira", webhook_event("jira", doors.tenants["jira"].tenant_id, body, headers)
        )
        assert answer == UNAUTHORIZED
        assert seconds < 2.0


# -- tenant ids ---------------------------------------------------------------------------------

PATH_TRICKS = [
    "..%2FTENANT",
    "TENANT%2F..",
    "..%2F..%2Fjira%2FTENANT",
    "%2e%2e",
    "TENANT%00",
    "TENANT\x00",
    "TENANT\x00.json",
    "../TENANT",
    "TENANT/../TENANT",
    "TENANT%252F",
    "\u0430buse-jira",  # Cyrillic a: a homoglyph of the real tenant id
    "abuse\u2010jira",  # a Unicode hyphen
    "\uff41\uff42\uff55\uff53\uff45-jira",  # fullwidth letters
    "abuse-jira\u200b",  # a zero-width space
    "abuse-jira\r\nX-Injected: 1",
    " abuse-jira",
    "abuse-jira ",
    "a" * 1000,
    "TENANT" + "-" * 994,
    "",
    ".",
    "*",
    "TENANT;DROP TABLE",
    "${TENANT}",
]


@pytest.mark.parametrize("trick", PATH_TRICKS)
def test_tenant_ids_with_path_tricks_are_401_without_any_aws_call(doors: Doors, trick: str) -> None:
    real = doors.tenants["jira"]
    tenant_id = trick.replace("TENANT", real.tenant_id)
    body = json.dumps(webhook_body("jira", "t")).encode()
    event = webhook_event("jira", tenant_id, body, real.headers(body))  # signed with the real secret
    doors.aws_calls.clear()

    answer, _ = doors.call("jira", event)

    assert answer == UNAUTHORIZED
    assert doors.aws_calls == []  # refused before any lookup: no table read, no secret name built
    assert not valid_tenant_id(tenant_id)


@FUZZ_SETTINGS
@given(tenant_id=st.text(max_size=1000))
def test_arbitrary_tenant_ids_never_reach_another_tenant(doors: Doors, tenant_id: str) -> None:
    """Any id but a tenant's own is 401; ids outside ``[A-Za-z0-9][A-Za-z0-9_-]{0,63}`` cost no AWS call,
    and a secret name is only ever ``ticket-enhancer/<tool>/<valid id>``."""
    real = doors.tenants["zendesk"]
    body = json.dumps(webhook_body("zendesk", "t")).encode()
    doors.aws_calls.clear()

    answer, _ = doors.call("zendesk", webhook_event("zendesk", tenant_id, body, real.headers(body)))

    if tenant_id == real.tenant_id:
        assert status(answer) in (200, 202)
        doors.queued_ticket_ids()
        return
    assert answer == UNAUTHORIZED
    if not valid_tenant_id(tenant_id):
        assert doors.aws_calls == []
    else:
        assert "/" not in secret_name("zendesk", tenant_id).removeprefix("ticket-enhancer/zendesk/")


# -- base URLs the worker must not call -------------------------------------------------------------

INTERNAL_BASE_URLS = [
    "https://127.0.0.1",
    "http://127.0.0.1:3000/_sandbox/jira",  # the local stack's sandbox, outside the local stack
    "https://localhost",
    "https://localhost.",
    "https://api.localhost",
    "https://169.254.169.254/latest/meta-data",
    "http://169.254.169.254",
    "https://169.254.170.2/v2/credentials",  # the ECS/Lambda container credentials endpoint
    "https://10.0.0.5",
    "https://172.16.0.1",
    "https://192.168.1.10:8443",
    "https://100.64.0.1",
    "https://0.0.0.0",
    "https://[::1]",
    "https://[fd00::1]",
    "https://[fe80::1%25eth0]",
    "https://[::ffff:169.254.169.254]",
    "https://[fd00:ec2::254]",  # the metadata service over IPv6
    "https://2130706433",  # 127.0.0.1 in the forms resolvers still accept
    "https://0x7f000001",
    "https://127.1",
    "https://0177.0.0.1",
    "https://169.254.43518",
    "https://metadata.google.internal",
    "https://printer.local",
    "https://acme.atlassian.net@169.254.169.254",
    "https://169.254.169.254#.atlassian.net",
    "https://169.254.169.254?.atlassian.net",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
]


@dataclass
class Worker:
    stack: Stack
    jobs_table: str
    requests: list[str] = field(default_factory=list)
    sent: list[httpx.Request] = field(default_factory=list)

    def run(
        self,
        tool: str,
        base_url: str,
        *,
        custom_host: bool,
        resolve: Resolver = public_resolver,
        options: dict[str, str] | None = None,
        secret: dict[str, str] | None = None,
    ) -> tuple[list[str], dict[str, Any]]:
        """One job for a tenant whose row (written past the CLI's checks) names ``base_url``."""
        tenant_id = unique("ssrf")
        options = {"synthesis_provider": "offline", **(options or {})}
        if custom_host:
            options["allow_custom_host"] = "true"
        self.stack.dynamodb.put_item(
            TableName=self.stack.tenants_table,
            Item={
                "tenant_id": {"S": tenant_id},
                "tool_type": {"S": tool},
                "base_url": {"S": base_url},
                "enabled": {"BOOL": True},
                "secret_id": {"S": secret_name(tool, tenant_id)},
                "options": {"M": {k: {"S": v} for k, v in options.items()}},
            },
        )
        document = {"webhook_secrets": ["w" * 24], "api_user": "u", "api_token": "t", **(secret or {})}
        self.stack.secretsmanager.create_secret(
            Name=secret_name(tool, tenant_id), SecretString=json.dumps(document)
        )

        def record(request: httpx.Request) -> httpx.Response:
            self.requests.append(str(request.url))
            self.sent.append(request)
            if request.url.path == "/oauth/v2/token":
                return httpx.Response(200, json={"access_token": "zoho-access", "expires_in": 3600})
            return httpx.Response(200, json={})

        worker = make_worker_handler(
            tool,
            dynamodb=self.stack.dynamodb,
            secrets=self.stack.secretsmanager,
            transport=httpx.MockTransport(record),
            env={
                "TENANTS_TABLE": self.stack.tenants_table,
                "DELIVERIES_TABLE": self.stack.deliveries_table,
                "JOBS_TABLE": self.jobs_table,
                "CONTEXT_TABLE": "unused",
                "POWERTOOLS_SERVICE_NAME": unique("ticket-enhancer-abuse"),
            },  # deployed mode: no TICKET_ENHANCER_LOCAL
            resolve=resolve,
        )
        meta = TicketMetadata(tool_type=tool, tenant_id=tenant_id, ticket_id="10001", delivery_id=unique("d"))
        job = EnhancementJob(job_id=new_job_id(), metadata=JobTicket.of(meta), queued_at=datetime.now(UTC))
        record_event = {
            "messageId": unique("m"),
            "body": job.model_dump_json(),
            "attributes": {"ApproximateReceiveCount": "1"},
        }
        try:
            answer = worker({"Records": [record_event]}, None)
        finally:
            worker.close()
        item = self.stack.dynamodb.get_item(TableName=self.jobs_table, Key={"job_key": {"S": meta.event_key}})
        return [f["itemIdentifier"] for f in answer["batchItemFailures"]], deserialize_item(
            dict(item["Item"])
        )


@pytest.fixture(scope="module")
def ssrf_worker(doors: Doors) -> Worker:
    jobs_table = f"{doors.stack.prefix}-JobsTable"
    doors.stack.dynamodb.create_table(
        TableName=jobs_table,
        KeySchema=[{"AttributeName": "job_key", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "job_key", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return Worker(doors.stack, jobs_table)


@pytest.mark.parametrize("base_url", INTERNAL_BASE_URLS)
@pytest.mark.parametrize(
    ("tool", "custom_host"), [("jira", False), ("servicedesk_plus", True)], ids=["jira", "sdp-on-prem"]
)
def test_worker_refuses_internal_base_urls_without_a_request(
    ssrf_worker: Worker, tool: str, custom_host: bool, base_url: str
) -> None:
    """Deployed mode, base URL checked again before every call: even a tenant row that names
    loopback, the metadata service, a private range or an IPv6 literal (written past the CLI, or
    on-prem ServiceDesk Plus with ``allow_custom_host``) ends the job ``failed`` (acknowledged, no
    DLQ churn) before any HTTP request."""
    ssrf_worker.requests.clear()

    failures, job = ssrf_worker.run(tool, base_url, custom_host=custom_host)

    assert failures == []
    assert job["state"] == "failed"
    assert "base URL refused" in job["last_error"]
    assert ssrf_worker.requests == []


def test_worker_refuses_a_host_outside_the_tools_domain(ssrf_worker: Worker) -> None:
    ssrf_worker.requests.clear()
    failures, job = ssrf_worker.run("jira", "https://acme.atlassian.net.evil.example", custom_host=False)
    assert (failures, job["state"], ssrf_worker.requests) == ([], "failed", [])


SDP_LOOKALIKES = (
    "https://sdpondemand.manageengine.evil.example/app/x",
    "https://sdpondemand.manageengine.127.0.0.1.nip.io",
)
ZOHO_SECRET = {
    "zoho_client_id": "1000.CLIENT",
    "zoho_client_secret": "zoho-client-secret",
    "zoho_refresh_token": "1000.refresh",
}


@pytest.mark.parametrize("base_url", SDP_LOOKALIKES)
def test_worker_refuses_a_host_that_only_starts_like_servicedesk_plus_cloud(
    ssrf_worker: Worker, base_url: str
) -> None:
    ssrf_worker.requests.clear()
    failures, job = ssrf_worker.run("servicedesk_plus", base_url, custom_host=False, secret=ZOHO_SECRET)
    assert (failures, job["state"], ssrf_worker.requests) == ([], "failed", [])
    assert "not a servicedesk_plus host" in job["last_error"]


@pytest.mark.parametrize("address", ["169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "::10.0.0.5"])
@pytest.mark.parametrize("base_url", SDP_LOOKALIKES)
def test_worker_resolves_a_custom_lookalike_host_like_any_on_prem_host(
    ssrf_worker: Worker, base_url: str, address: str
) -> None:
    """With ``allow_custom_host`` a lookalike is a custom host: DNS-checked (embedded IPv4
    included) before any request, Zoho's accounts server included."""
    ssrf_worker.requests.clear()
    failures, job = ssrf_worker.run(
        "servicedesk_plus",
        base_url,
        custom_host=True,
        resolve=lambda host, port: [address],
        secret=ZOHO_SECRET,
        options={"zoho_data_centre": "eu"},
    )
    assert (failures, job["state"], ssrf_worker.requests) == ([], "failed", [])
    assert "resolves to a non-public address" in job["last_error"]


def test_worker_pins_a_custom_lookalike_host_and_sends_it_no_zoho_credentials(ssrf_worker: Worker) -> None:
    ssrf_worker.requests.clear()
    ssrf_worker.sent.clear()
    ssrf_worker.run("servicedesk_plus", SDP_LOOKALIKES[0], custom_host=True, secret=ZOHO_SECRET)
    address = public_resolver("any", 443)[0]
    assert ssrf_worker.requests
    assert all(url.startswith(f"https://{address}/app/x/api/v3/") for url in ssrf_worker.requests)
    for request in ssrf_worker.sent:
        assert request.headers["host"] == "sdpondemand.manageengine.evil.example"
        assert request.headers["authtoken"] == "t"
        assert "authorization" not in request.headers
        assert b"zoho-client-secret" not in request.content


def test_worker_sends_a_custom_domain_cloud_tenants_zoho_refresh_to_the_tables_accounts_host(
    ssrf_worker: Worker,
) -> None:
    ssrf_worker.requests.clear()
    ssrf_worker.run(
        "servicedesk_plus",
        SDP_LOOKALIKES[0],
        custom_host=True,
        secret=ZOHO_SECRET,
        options={"zoho_data_centre": "eu"},
    )
    address = public_resolver("any", 443)[0]
    assert ssrf_worker.requests[0] == "https://accounts.zoho.eu/oauth/v2/token"
    assert all(url.startswith(f"https://{address}/app/x/api/v3/") for url in ssrf_worker.requests[1:])
    assert len(ssrf_worker.requests) > 1


def test_worker_fails_a_tenant_with_an_unknown_zoho_data_centre(ssrf_worker: Worker) -> None:
    ssrf_worker.requests.clear()
    failures, job = ssrf_worker.run(
        "servicedesk_plus",
        "https://helpdesk.acme-corp.example/app/x",
        custom_host=True,
        secret=ZOHO_SECRET,
        options={"zoho_data_centre": "evil.example"},
    )
    assert (failures, job["state"], ssrf_worker.requests) == ([], "failed", [])
    assert "unknown zoho_data_centre 'evil.example'; one of: us, eu," in job["last_error"]


hosts = st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip))


@settings(max_examples=300, deadline=None)
@given(
    host=hosts,
    port=st.none() | st.integers(1, 65535),
    scheme=st.sampled_from(["https", "http"]),
    tool=st.sampled_from(TOOLS),
    custom=st.booleans(),
)
def test_no_ip_literal_is_ever_a_deployed_base_url(
    host: str, port: int | None, scheme: str, tool: str, custom: bool
) -> None:
    url = f"{scheme}://{host}" + (f":{port}" if port is not None else "")
    with pytest.raises(BaseUrlError):
        check_base_url(tool, url, allow_custom_host=custom)


# -- atheris ----------------------------------------------------------------------------------------


def test_atheris_finds_no_crash_in_webhook_parsing(tmp_path: Path) -> None:
    """Coverage-guided fuzzing of every plugin's ``extract_metadata`` (bounded: 100,000 inputs)."""
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index, tool in enumerate(TOOLS):
        (corpus / f"seed-{tool}").write_bytes(
            bytes([index]) + json.dumps(webhook_body(tool, "acme")).encode()
        )
    command = [sys.executable, str(HERE / "atheris_target.py"), "-runs=100000", "-max_len=4096", str(corpus)]
    result = subprocess.run(  # noqa: S603 (our own interpreter and fuzz target)
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done 100000 runs" in result.stderr


@pytest.mark.parametrize(
    "address", ["10.0.0.5", "127.0.0.1", "169.254.169.254", "fd00::1", "::ffff:10.1.2.3"]
)
def test_worker_refuses_a_custom_host_resolving_to_an_internal_address(
    ssrf_worker: Worker, address: str
) -> None:
    """On-prem ServiceDesk Plus names its own host: one that resolves to a private, loopback,
    link-local or mapped address ends the job ``failed`` before any HTTP request."""
    ssrf_worker.requests.clear()
    failures, job = ssrf_worker.run(
        "servicedesk_plus",
        "https://sdp.acme-corp.example",
        custom_host=True,
        resolve=lambda host, port: [address],
    )
    assert (failures, job["state"], ssrf_worker.requests) == ([], "failed", [])
    assert "resolves to a non-public address" in job["last_error"]


def test_worker_retries_a_custom_host_that_does_not_resolve(ssrf_worker: Worker) -> None:
    """A resolver failure may pass: the record goes back to the queue, nothing is called."""

    def unresolvable(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    ssrf_worker.requests.clear()
    failures, job = ssrf_worker.run(
        "servicedesk_plus", "https://sdp.acme-corp.example", custom_host=True, resolve=unresolvable
    )
    assert len(failures) == 1
    assert job["state"] != "failed"
    assert ssrf_worker.requests == []
