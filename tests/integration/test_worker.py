"""The worker end to end (issue 4): SQS batches in the Lambda shape, tenants, JobsTable and
ContextTable in moto, and each tool's REST API imitated by the vendor sandbox behind the tenant's
real-looking base URL (an ``httpx.MockTransport`` that records every request).

What is proven: each tool gets the documented calls (method, path, auth, body shape) and exactly
one internal note per ticket event whatever happens (429, redelivery, racing deliveries, a timeout
after the vendor stored the note); failures are reported per record, final vendor errors end the
job as ``failed`` without DLQ churn; a failing pipeline step still yields a note; the job history
is recorded; ticket text never becomes live markup in a note.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape as html_escape
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from moto.dynamodb.models import DynamoDBBackend
from ticket_enhancer.enhance.errors import ContextStoreError
from ticket_enhancer.enhance.pipeline import Pipeline, PipelineStep, build_default_pipeline
from ticket_enhancer.enhance.records import Article, Asset, IndexedTicket
from ticket_enhancer.enhance.steps import TicketContextStep
from ticket_enhancer.enhance.store import ContextStore
from ticket_enhancer.jobs import LEASE_SECONDS, JobInProgressError, JobStore
from ticket_enhancer.models import NOTE_FOOTER_PREFIX, EnhancementJob, JobTicket, TicketMetadata, new_job_id
from ticket_enhancer.plugins.base import TicketingToolPlugin
from ticket_enhancer.plugins.jira.plugin import JiraPlugin
from ticket_enhancer.plugins.servicedesk_plus.datacentres import SDP_CLOUD_DATA_CENTRES
from ticket_enhancer.plugins.servicedesk_plus.plugin import ACCEPT as SDP_ACCEPT
from ticket_enhancer.tenants import deserialize_item, secret_name
from ticket_enhancer.worker.handler import WorkerHandler, make_worker_handler
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id
from ticket_enhancer_dev.sandbox.tools.freshservice import SEED_TICKET as FRESHSERVICE_SEED
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

from tests.support import TOOLS, Stack, create_table, public_resolver, unique

API_USER = "agent@example.com"
API_TOKEN = "api-token-5b1f"
BASE_URLS: dict[str, str] = {
    "jira": "https://acme.atlassian.net",
    "zendesk": "https://acme.zendesk.com",
    "servicenow": "https://acme.service-now.com",
    "freshservice": "https://acme.freshservice.com",
    # On-prem ServiceDesk Plus: a custom host, allowed by the tenant's allow_custom_host option.
    "servicedesk_plus": "https://helpdesk.acme-corp.example",
    "zammad": "https://acme.zammad.com",
}
SDP_CLOUD_BASE = "https://sdpondemand.manageengine.com/app/itdesk"
ZOHO_TOKEN_URL = "https://accounts.zoho.com/oauth/v2/token"
ZOHO_TOKEN_URLS = frozenset(dc.token_url for dc in SDP_CLOUD_DATA_CENTRES.values())  # Zoho: the sandbox's
ZOHO_ACCESS_TOKEN = "zoho-access-token-1"
SANDBOX_BASE = "http://127.0.0.1:9/_sandbox/{tool}"
PUBLIC_ADDRESSES = {public_resolver("any", 443)[0]}  # where a pinned on-prem host "is"
HOSTILE = (
    "Printer <script>alert(1)</script> <img src=x onerror=alert(1)> "
    "[code]<b onmouseover=alert(1)>x</b>[/code] [click](javascript:alert(1))"
)

_messages = itertools.count(1)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- the vendor: the sandbox behind the tenant's base URL ---------------------------------------


@dataclass(frozen=True)
class Seen:
    """One request the worker sent, with ``path`` relative to the tenant's base URL."""

    method: str
    url: httpx.URL
    path: str
    headers: httpx.Headers
    body: bytes
    extensions: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


@dataclass
class Fault:
    method: str
    path: str  # a regex the relative path must match in full
    remaining: int
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    error: type[httpx.TransportError] | None = None
    store_first: bool = False  # pass the request to the sandbox, then lose its answer


class Vendor:
    """The tool's REST API (``VendorSandbox``) at ``base_url``, plus Zoho's token endpoint."""

    def __init__(self, tool: str, base_url: str, *, delay: float = 0.0) -> None:
        self.tool = tool
        self.base_url = base_url
        self.sandbox = VendorSandbox()
        self.seen: list[Seen] = []
        self.token_requests: list[dict[str, list[str]]] = []
        self.unexpected: list[str] = []
        self.faults: list[Fault] = []
        self.delay = delay
        parts = urlsplit(base_url)
        self._host = parts.hostname
        self._base_path = parts.path.rstrip("/")

    def fail(
        self,
        method: str,
        path: str,
        *,
        status: int = 503,
        count: int = 1,
        retry_after: int | None = None,
        error: type[httpx.TransportError] | None = None,
        store_first: bool = False,
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.faults.append(Fault(method, path, count, status, headers, error, store_first))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        body = await request.aread()
        if str(request.url.copy_with(query=None)) in ZOHO_TOKEN_URLS and request.method == "POST":
            form = parse_qs(body.decode())
            self.token_requests.append(form)
            answer = self.sandbox.zoho.token(request.url.host, {k: v[0] for k, v in form.items()})
            return httpx.Response(answer.status, json=answer.body)
        path = request.url.path
        # A pinned request goes to the address the worker checked, naming the host in Host (and SNI).
        named = request.headers.get("host", "").split(":")[0] == self._host
        at_host = request.url.host == self._host or (named and request.url.host in PUBLIC_ADDRESSES)
        if not at_host or not path.startswith(self._base_path + "/"):
            self.unexpected.append(str(request.url))
            return httpx.Response(404, json={"error": "unexpected host"})
        relative = path[len(self._base_path) :]
        self.seen.append(
            Seen(request.method, request.url, relative, request.headers, body, request.extensions)
        )
        for fault in self.faults:
            if fault.remaining and fault.method == request.method and re.fullmatch(fault.path, relative):
                fault.remaining -= 1
                if fault.store_first:
                    self._sandbox(request, relative, body)
                if fault.error is not None:
                    raise fault.error("vendor answer lost", request=request)
                return httpx.Response(fault.status, json={"error": "fault"}, headers=fault.headers)
        return self._sandbox(request, relative, body)

    def _sandbox(self, request: httpx.Request, relative: str, body: bytes) -> httpx.Response:
        answer = self.sandbox.handle(
            request.method,
            f"/_sandbox/{self.tool}{relative}",
            request.url.query.decode(),
            dict(request.headers),
            body,
        )
        return httpx.Response(answer.status, json=answer.body, headers=answer.headers)

    def calls(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and re.fullmatch(path, s.path)]

    def notes(self, ticket_id: str) -> list[dict[str, Any]]:
        return self.sandbox.notes(self.tool, ticket_id)


# -- per-tool facts (vendor-facts.md) -----------------------------------------------------------


def _jira_note(seen: Seen) -> str:
    body = seen.json()
    assert set(body) == {"body", "properties"}
    assert body["properties"] == [{"key": "sd.public.comment", "value": {"internal": True}}]
    doc = body["body"]
    assert doc["type"] == "doc"
    assert doc["version"] == 1
    assert doc["content"][-2] == {"type": "rule"}
    texts = [n["text"] for block in doc["content"] for n in block.get("content", []) if "text" in n]
    return "\n".join(texts)


def _zendesk_note(seen: Seen) -> str:
    body = seen.json()
    assert set(body) == {"ticket"}
    assert set(body["ticket"]) == {"comment"}
    comment = body["ticket"]["comment"]
    assert set(comment) == {"html_body", "public"}
    assert comment["public"] is False  # an internal note
    html: str = comment["html_body"]
    return html


def _servicenow_note(seen: Seen) -> str:
    body = seen.json()
    assert set(body) == {"work_notes"}
    text: str = body["work_notes"]
    assert "<p>" not in text
    assert "<hr>" not in text  # plain text, not HTML
    return text


def _freshservice_note(seen: Seen) -> str:
    body = seen.json()
    assert set(body) == {"body", "private"}
    assert body["private"] is True
    html: str = body["body"]
    return html


def _sdp_note(seen: Seen) -> str:
    """Cloud (sdpod-v3-api, Zoho OAuth): ``request_note``; on-prem (sdpop-v3-api, authtoken): ``note``."""
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    form = seen.form()
    assert set(form) == {"input_data"}
    data = json.loads(form["input_data"][0])
    cloud = "authtoken" not in seen.headers
    assert set(data) == {"request_note" if cloud else "note"}
    note = data["request_note" if cloud else "note"]
    assert note["show_to_requester"] is False
    assert note["mark_first_response"] is False
    assert note["add_to_linked_requests"] is False
    expected = {"description", "show_to_requester", "mark_first_response", "add_to_linked_requests"}
    assert set(note) == (expected | {"notify_technician"} if cloud else expected)
    html: str = note["description"]
    return html


def _zammad_note(seen: Seen) -> str:
    """An internal HTML article: ``POST /api/v1/ticket_articles``."""
    body = seen.json()
    assert set(body) == {"ticket_id", "body", "content_type", "type", "internal"}
    assert isinstance(body["ticket_id"], int)
    assert body["content_type"] == "text/html"
    assert body["type"] == "note"
    assert body["internal"] is True
    html: str = body["body"]
    return html


NOTE_READERS: dict[str, Callable[[Seen], str]] = {
    "jira": _jira_note,
    "zendesk": _zendesk_note,
    "servicenow": _servicenow_note,
    "freshservice": _freshservice_note,
    "servicedesk_plus": _sdp_note,
    "zammad": _zammad_note,
}


class Facts(NamedTuple):
    fetch: str  # GET: the ticket
    note_method: str
    note_path: str
    list_path: str  # GET: the ticket's notes (the footer check)
    auth: dict[str, str]  # headers every call carries


def facts(tool: str) -> Facts:
    tid = seed_ticket_id(tool)
    accept = {"accept": "application/json"}
    if tool == "jira":
        path = f"/rest/api/3/issue/{tid}"
        auth = {"authorization": basic(API_USER, API_TOKEN), **accept}
        return Facts(path, "POST", f"{path}/comment", f"{path}/comment", auth)
    if tool == "zendesk":
        path = f"/api/v2/tickets/{tid}"
        auth = {"authorization": basic(f"{API_USER}/token", API_TOKEN), **accept}
        return Facts(path, "PUT", path, f"{path}/comments", auth)
    if tool == "servicenow":
        path = f"/api/now/table/incident/{tid}"
        auth = {"authorization": basic(API_USER, API_TOKEN), **accept}
        return Facts(path, "PATCH", path, path, auth)  # work notes: the record's own field
    if tool == "freshservice":
        path = f"/api/v2/tickets/{tid}"
        auth = {"authorization": basic(API_TOKEN, "X"), **accept}
        return Facts(path, "POST", f"{path}/notes", f"{path}/conversations", auth)
    if tool == "zammad":
        auth = {"authorization": f"Token token={API_TOKEN}", **accept}
        articles = f"/api/v1/ticket_articles/by_ticket/{tid}"
        return Facts(f"/api/v1/tickets/{tid}", "POST", "/api/v1/ticket_articles", articles, auth)
    path = f"/api/v3/requests/{tid}"  # ServiceDesk Plus on-prem
    auth = {"authtoken": API_TOKEN, "accept": SDP_ACCEPT}
    return Facts(path, "POST", f"{path}/notes", f"{path}/notes", auth)


def reads(tool: str) -> list[tuple[str, str]]:
    """The calls that fetch a ticket: Zammad's text is its first article, read after the ticket;
    Freshservice's group is named by reading the group (its ticket carries only ``group_id``)."""
    fetch, _, _, list_path, _ = facts(tool)
    if tool == "freshservice":
        return [("GET", fetch), ("GET", f"/api/v2/groups/{FRESHSERVICE_SEED['group_id']}")]
    return [("GET", fetch), ("GET", list_path)] if tool == "zammad" else [("GET", fetch)]


# -- the stack and the worker -----------------------------------------------------------------


def sqs_record(body: str, *, receive_count: int = 1, message_id: str | None = None) -> dict[str, Any]:
    """One record of an SQS event as Lambda delivers it."""
    n = next(_messages)
    return {
        "messageId": message_id or f"msg-{n}",
        "receiptHandle": f"rh-{n}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1700000000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1700000000000",
            "MessageGroupId": "g",
            "MessageDeduplicationId": "d",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:te-worker.fifo",
        "awsRegion": "us-east-1",
    }


@dataclass
class Harness:
    tool: str
    tenant_id: str
    stack: Stack
    jobs_table: str
    worker: WorkerHandler
    vendor: Vendor

    def job(
        self,
        ticket_id: str | None = None,
        *,
        event: str = "created",
        delivery: str | None = None,
        job_id: str | None = None,
        tool: str | None = None,
        tenant_id: str | None = None,
    ) -> EnhancementJob:
        ticket = ticket_id or seed_ticket_id(self.tool)
        meta = TicketMetadata(
            tool_type=tool or self.tool,
            tenant_id=tenant_id or self.tenant_id,
            ticket_id=ticket,
            event_type=event,
            delivery_id=delivery or unique("delivery"),
        )
        return EnhancementJob(
            job_id=job_id or new_job_id(), metadata=JobTicket.of(meta), queued_at=datetime.now(UTC)
        )

    def run(self, *records: dict[str, Any]) -> list[str]:
        """Invoke the worker with one SQS event; the ids reported in ``batchItemFailures``."""
        answer = self.worker({"Records": list(records)}, None)
        assert set(answer) == {"batchItemFailures"}
        return [f["itemIdentifier"] for f in answer["batchItemFailures"]]

    def run_jobs(self, *jobs: EnhancementJob, receive_count: int = 1) -> list[str]:
        return self.run(*(sqs_record(j.model_dump_json(), receive_count=receive_count) for j in jobs))

    def record(self, job: EnhancementJob) -> dict[str, Any]:
        item = self.stack.dynamodb.get_item(
            TableName=self.jobs_table, Key={"job_key": {"S": job.metadata.event_key}}
        ).get("Item")
        assert item is not None, "no job record"
        return deserialize_item(dict(item))

    def has_record(self, job: EnhancementJob) -> bool:
        found = self.stack.dynamodb.get_item(
            TableName=self.jobs_table, Key={"job_key": {"S": job.metadata.event_key}}
        )
        return "Item" in found

    def footer(self, job_id: str) -> str:
        return f"{NOTE_FOOTER_PREFIX}{job_id}"


class WorkerFactory:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.workers: list[WorkerHandler] = []
        prefix = stack.prefix
        self.jobs_table, self.context_table = f"{prefix}-JobsTable", f"{prefix}-ContextTable"
        db = stack.dynamodb
        create_table(db, self.jobs_table, "job_key")
        create_table(db, self.context_table, "pk", "sk")

    def add_tenant(
        self,
        tool: str,
        base_url: str,
        *,
        tenant_id: str | None = None,
        enabled: bool = True,
        row_tool: str | None = None,
        options: dict[str, str] | None = None,
        secret: dict[str, Any] | None = None,
    ) -> str:
        tenant_id = tenant_id or unique(f"acme-{tool.replace('_', '-')}")
        sid = secret_name(row_tool or tool, tenant_id)
        opts = {"synthesis_provider": "offline", **(options or {})}
        self.stack.dynamodb.put_item(
            TableName=self.stack.tenants_table,
            Item={
                "tenant_id": {"S": tenant_id},
                "tool_type": {"S": row_tool or tool},
                "base_url": {"S": base_url},
                "enabled": {"BOOL": enabled},
                "secret_id": {"S": sid},
                "options": {"M": {k: {"S": v} for k, v in opts.items()}},
            },
        )
        document = {"webhook_secrets": ["w" * 24], "api_user": API_USER, "api_token": API_TOKEN}
        self.stack.secretsmanager.create_secret(Name=sid, SecretString=json.dumps(document | (secret or {})))
        return tenant_id

    def __call__(
        self,
        tool: str,
        *,
        base_url: str | None = None,
        plugin: TicketingToolPlugin | None = None,
        pipeline: Pipeline | None = None,
        options: dict[str, str] | None = None,
        secret: dict[str, Any] | None = None,
        local: bool = False,
        delay: float = 0.0,
        resolve: Callable[[str, int], list[str]] = public_resolver,
    ) -> Harness:
        url = base_url or BASE_URLS[tool]
        if tool == "servicedesk_plus" and url == BASE_URLS[tool]:
            options = {"allow_custom_host": "true", **(options or {})}
        tenant_id = self.add_tenant(tool, url, options=options, secret=secret)
        vendor = Vendor(tool, url, delay=delay)
        env = {
            "TENANTS_TABLE": self.stack.tenants_table,
            "DELIVERIES_TABLE": self.stack.deliveries_table,
            "JOBS_TABLE": self.jobs_table,
            "CONTEXT_TABLE": self.context_table,
            "POWERTOOLS_SERVICE_NAME": unique("ticket-enhancer-worker-test"),
            "POWERTOOLS_METRICS_NAMESPACE": "TicketEnhancerTest",
        }
        if local:
            env["TICKET_ENHANCER_LOCAL"] = "1"

        def no_bedrock() -> Any:
            raise AssertionError("the offline tenants never call Bedrock")

        worker = make_worker_handler(
            tool,
            dynamodb=self.stack.dynamodb,
            secrets=self.stack.secretsmanager,
            plugin=plugin,
            pipeline=pipeline,
            transport=vendor.transport(),
            env=env,
            bedrock_client_factory=no_bedrock,
            resolve=resolve,
        )
        self.workers.append(worker)
        return Harness(tool, tenant_id, self.stack, self.jobs_table, worker, vendor)

    def close(self) -> None:
        for worker in self.workers:
            worker.close()


@pytest.fixture(autouse=True)
def atomic_conditional_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies a conditional write atomically; moto checks and writes without a lock, so
    two threads (records of one batch) could both pass one condition. Give moto DynamoDB's rule."""
    lock = threading.Lock()
    original = DynamoDBBackend.update_item

    def update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", update_item)


@pytest.fixture
def make_worker(aws: Stack) -> Iterator[WorkerFactory]:
    """``make_worker(tool, plugin=..., pipeline=...)``: a tenant, its vendor and the tool's worker."""
    factory = WorkerFactory(aws)
    yield factory
    factory.close()


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


# -- each tool's calls ----------------------------------------------------------------------------


@pytest.mark.parametrize("tool", TOOLS)
def test_fetch_and_note_match_the_tools_api(make_worker: WorkerFactory, tool: str) -> None:
    h = make_worker(tool)
    _, note_method, note_path, _, auth = facts(tool)
    job = h.job()

    assert h.run_jobs(job) == []

    assert [(s.method, s.path) for s in h.vendor.seen] == [*reads(tool), (note_method, note_path)]
    for seen in h.vendor.seen:
        assert seen.url.scheme == "https"
        for name, value in auth.items():
            assert seen.headers.get(name) == value, (name, seen.path)
        if tool == "servicedesk_plus":
            assert "authorization" not in seen.headers
    text = NOTE_READERS[tool](h.vendor.calls(note_method, re.escape(note_path))[0])
    assert re.sub(r"</p>$", "", text.rstrip()).endswith(h.footer(job.job_id))  # the last line
    assert "VPN drops every few minutes" in text  # the fetched ticket's subject
    assert len(h.vendor.notes(seed_ticket_id(tool))) == 1
    assert h.vendor.unexpected == []
    assert h.vendor.token_requests == []


@pytest.mark.parametrize("tool", TOOLS)
def test_timeout_after_the_vendor_stored_the_note_is_resolved_by_listing_notes(
    make_worker: WorkerFactory, tool: str
) -> None:
    h = make_worker(tool)
    _, note_method, note_path, list_path, auth = facts(tool)
    h.vendor.fail(note_method, re.escape(note_path), error=httpx.ReadTimeout, store_first=True)
    job = h.job()

    assert h.run_jobs(job) == []

    # The POST is not repeated blindly: the worker lists the notes and finds its footer.
    assert [(s.method, s.path) for s in h.vendor.seen] == [
        *reads(tool),
        (note_method, note_path),
        ("GET", list_path),
    ]
    listing = h.vendor.seen[-1]
    for name, value in auth.items():
        assert listing.headers.get(name) == value
    if tool == "servicenow":  # the incident's work_notes, not sys_journal_field
        assert listing.url.params["sysparm_fields"] == "work_notes"
        assert listing.url.params["sysparm_display_value"] == "true"
    notes = h.vendor.notes(seed_ticket_id(tool))
    assert len(notes) == 1
    assert h.footer(job.job_id) in json.dumps(notes[0], ensure_ascii=False)
    assert h.record(job)["state"] == "done"


def test_sdp_cloud_refreshes_a_zoho_token_and_sends_it(make_worker: WorkerFactory) -> None:
    h = make_worker(
        "servicedesk_plus",
        base_url=SDP_CLOUD_BASE,
        secret={
            "zoho_client_id": "1000.CLIENT",
            "zoho_client_secret": "zoho-client-secret",
            "zoho_refresh_token": "1000.refresh",
        },
    )
    tid = seed_ticket_id("servicedesk_plus")
    first, second = h.job(), h.job(event="updated")

    assert h.run_jobs(first) == []
    assert h.run_jobs(second) == []

    assert h.vendor.token_requests == [  # one refresh, then the cached token
        {
            "grant_type": ["refresh_token"],
            "client_id": ["1000.CLIENT"],
            "client_secret": ["zoho-client-secret"],
            "refresh_token": ["1000.refresh"],
        }
    ]
    assert [(s.method, s.url.path) for s in h.vendor.seen] == [
        ("GET", f"/app/itdesk/api/v3/requests/{tid}"),
        ("POST", f"/app/itdesk/api/v3/requests/{tid}/notes"),
    ] * 2
    for seen in h.vendor.seen:
        assert seen.url.host == "sdpondemand.manageengine.com"
        assert seen.headers["authorization"] == f"Zoho-oauthtoken {ZOHO_ACCESS_TOKEN}"
        assert seen.headers["accept"] == SDP_ACCEPT
        assert "authtoken" not in seen.headers
    assert _sdp_note(h.vendor.seen[1]).endswith(h.footer(first.job_id) + "</p>")
    assert len(h.vendor.notes(tid)) == 2
    assert h.vendor.unexpected == []


def test_local_stack_reaches_the_sandbox_over_loopback_http(make_worker: WorkerFactory) -> None:
    h = make_worker("jira", base_url=SANDBOX_BASE.format(tool="jira"), local=True)
    job = h.job()

    assert h.run_jobs(job) == []

    assert [(s.method, s.url.path) for s in h.vendor.seen] == [
        ("GET", "/_sandbox/jira/rest/api/3/issue/10001"),
        ("POST", "/_sandbox/jira/rest/api/3/issue/10001/comment"),
    ]
    assert len(h.vendor.notes("10001")) == 1


def test_on_prem_host_is_resolved_once_per_job_and_every_call_connects_to_the_checked_address(
    make_worker: WorkerFactory,
) -> None:
    """DNS rebinding: the host answers a public address to the check, then loopback. The worker
    asks once per job and connects to the checked address; TLS and Host keep the host name."""
    answers = iter([*PUBLIC_ADDRESSES] + ["127.0.0.1"] * 10)
    asked: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return [next(answers)]

    h = make_worker("servicedesk_plus", resolve=rebinding)
    assert h.run_jobs(h.job()) == []
    assert asked == ["helpdesk.acme-corp.example"]
    assert len(h.vendor.seen) == 2  # the fetch and the note
    for seen in h.vendor.seen:
        assert seen.url.host in PUBLIC_ADDRESSES
        assert seen.headers["host"] == "helpdesk.acme-corp.example"
        assert seen.extensions["sni_hostname"] == "helpdesk.acme-corp.example"
    assert h.vendor.unexpected == []


def test_vendor_domains_are_not_pinned(make_worker: WorkerFactory) -> None:
    def never(host: str, port: int) -> list[str]:
        raise AssertionError("the vendor's own domains are theirs to resolve")

    h = make_worker("zendesk", resolve=never)
    assert h.run_jobs(h.job()) == []
    assert {seen.url.host for seen in h.vendor.seen} == {"acme.zendesk.com"}
    assert all("sni_hostname" not in seen.extensions for seen in h.vendor.seen)


def test_loopback_base_url_is_refused_outside_the_local_stack(make_worker: WorkerFactory) -> None:
    h = make_worker("jira", base_url=SANDBOX_BASE.format(tool="jira"))
    job = h.job()

    assert h.run_jobs(job) == []  # final: acknowledged, not retried

    assert h.vendor.seen == []
    record = h.record(job)
    assert record["state"] == "failed"
    assert "base URL refused" in record["last_error"]


# -- exactly one note ---------------------------------------------------------------------------


def test_rate_limited_post_is_retried_after_retry_after_and_posts_one_note(
    make_worker: WorkerFactory,
) -> None:
    sleep = FakeSleep()
    h = make_worker("jira", plugin=JiraPlugin(sleep=sleep))
    h.vendor.fail("POST", r"/rest/api/3/issue/10001/comment", status=429, retry_after=7)
    job = h.job()

    assert h.run_jobs(job) == []

    assert len(h.vendor.calls("POST", r".*/comment")) == 2
    assert len(sleep.calls) == 1
    assert 7.0 <= sleep.calls[0] <= 7.7  # Retry-After honoured (plus at most 10% jitter)
    notes = h.vendor.notes("10001")
    assert len(notes) == 1
    assert h.record(job)["state"] == "done"


def test_retry_after_beyond_the_limit_reschedules_through_the_queue(make_worker: WorkerFactory) -> None:
    sleep = FakeSleep()
    h = make_worker("jira", plugin=JiraPlugin(sleep=sleep))
    h.vendor.fail("GET", r"/rest/api/3/issue/10001", status=429, retry_after=600)
    job = h.job()
    record = sqs_record(job.model_dump_json())

    assert h.run(record) == [record["messageId"]]  # retryable: back to the queue
    assert sleep.calls == []  # the worker does not sleep for 10 minutes
    state = h.record(job)
    assert state["state"] == "processing"
    assert "429" in state["last_error"]

    assert h.run_jobs(job, receive_count=2) == []
    assert len(h.vendor.notes("10001")) == 1
    assert h.record(job)["state"] == "done"


def test_redelivered_message_posts_no_second_note(make_worker: WorkerFactory) -> None:
    h = make_worker("zendesk")
    job = h.job()
    body = job.model_dump_json()

    assert h.run(sqs_record(body)) == []
    calls = len(h.vendor.seen)
    assert h.run(sqs_record(body, receive_count=2)) == []

    assert len(h.vendor.seen) == calls  # not even fetched again
    assert len(h.vendor.notes("35436")) == 1
    assert h.record(job)["attempts"] == 1


@pytest.mark.parametrize("same_batch", [True, False], ids=["same-batch", "one-after-the-other"])
def test_racing_deliveries_of_one_ticket_event_post_one_note(
    make_worker: WorkerFactory, same_batch: bool
) -> None:
    h = make_worker("freshservice", delay=0.01)
    first, second = h.job(), h.job()  # two deliveries, two job ids, one ticket event
    assert first.job_id != second.job_id
    assert first.metadata.event_key == second.metadata.event_key

    if same_batch:  # processed concurrently: the one that finds the job held is retried later
        records = [sqs_record(j.model_dump_json()) for j in (first, second)]
        failed = h.run(*records)
        assert len(failed) == 1
        assert len(h.vendor.notes("123")) == 1
        redelivered = next(r for r in records if r["messageId"] == failed[0])
        redelivered["attributes"]["ApproximateReceiveCount"] = "2"
        assert h.run(redelivered) == []  # the job is done by now: acknowledged
    else:
        assert h.run_jobs(first) == []
        assert h.run_jobs(second) == []

    notes = h.vendor.notes("123")
    assert len(notes) == 1
    record = h.record(first)
    assert record["state"] == "done"
    assert record["job_id"] in (first.job_id, second.job_id)
    assert notes[0]["body"].endswith(h.footer(record["job_id"]) + "</p>")


def test_lost_answer_then_retry_finds_the_note_and_ends_done(make_worker: WorkerFactory) -> None:
    sleep = FakeSleep()
    h = make_worker("jira", plugin=JiraPlugin(sleep=sleep))
    # The note is stored but the answer is lost, and the notes cannot be listed in this attempt.
    h.vendor.fail("POST", r"/rest/api/3/issue/10001/comment", error=httpx.ReadTimeout, store_first=True)
    h.vendor.fail("GET", r"/rest/api/3/issue/10001/comment", status=503, count=4)
    job = h.job()
    record = sqs_record(job.model_dump_json())

    assert h.run(record) == [record["messageId"]]
    assert h.record(job)["state"] == "posting"  # outcome unknown: not done, not failed
    assert len(h.vendor.notes("10001")) == 1
    seen_before = len(h.vendor.seen)

    retry = sqs_record(job.model_dump_json(), receive_count=2, message_id=record["messageId"])
    assert h.run(retry) == []

    retried = h.vendor.seen[seen_before:]
    assert [(s.method, s.path) for s in retried] == [("GET", "/rest/api/3/issue/10001/comment")]
    assert len(h.vendor.notes("10001")) == 1
    state = h.record(job)
    assert state["state"] == "done"
    assert state["attempts"] == 2


def test_one_failing_record_does_not_fail_the_other_nine(make_worker: WorkerFactory) -> None:
    sleep = FakeSleep()
    h = make_worker("jira", plugin=JiraPlugin(sleep=sleep))
    ids = [str(30_000 + i) for i in range(10)]
    for ticket_id in ids:
        h.vendor.sandbox.add_ticket("jira", ticket_id)
    h.vendor.fail("GET", r"/rest/api/3/issue/30004", status=503, count=100)
    jobs = [h.job(ticket_id) for ticket_id in ids]
    records = [sqs_record(j.model_dump_json()) for j in jobs]

    assert h.run(*records) == [records[4]["messageId"]]

    for index, (ticket_id, job) in enumerate(zip(ids, jobs, strict=True)):
        if index == 4:
            assert h.vendor.notes(ticket_id) == []
            state = h.record(job)
            assert state["state"] == "processing"
            assert "503" in state["last_error"]
        else:
            assert len(h.vendor.notes(ticket_id)) == 1
            assert h.record(job)["state"] == "done"


def test_a_batchs_jobs_share_one_read_of_the_newest_tickets_and_their_index_writes(
    make_worker: WorkerFactory,
) -> None:
    """The AWS calls of a batch of 10 jobs of one tenant: the newest processed tickets are read once
    (one ``Query`` of the pointers, one ``BatchGetItem``) and every job sees them (the ticket indexed
    by the invocation before, in each note); each job writes its job record three times (claim,
    posting, done) and its delivery once; each job's ticket is an ``UpdateItem`` (a ticket the history
    sync imported keeps its resolution) and the jobs' pointers go in shared ``BatchWriteItem`` calls
    (a job's put made while another's is in flight joins the next call), every one of them indexed.
    The next invocation reads again: nothing is kept across invocations."""
    h = make_worker("jira")
    assert h.run_jobs(h.job()) == []  # indexes the seed ticket (IT-101): the batch's similar ticket
    calls: list[tuple[str, str]] = []

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, str(params.get("TableName") or ",".join(params.get("RequestItems", {})))))

    h.stack.hook(h.stack.dynamodb, "before-parameter-build.dynamodb", count)
    ids = [str(31_000 + i) for i in range(10)]
    for ticket_id in ids:
        h.vendor.sandbox.add_ticket("jira", ticket_id)

    assert h.run_jobs(*(h.job(ticket_id) for ticket_id in ids)) == []

    context, jobs, deliveries = make_worker.context_table, h.jobs_table, h.stack.deliveries_table
    counted = Counter(calls)
    assert 1 <= counted.pop(("BatchWriteItem", context)) <= 10  # how many overlapped: timing's
    assert counted == {
        ("Query", context): 1,
        ("BatchGetItem", context): 1,
        ("UpdateItem", jobs): 30,
        ("UpdateItem", deliveries): 10,
        ("UpdateItem", context): 10,
    }
    for ticket_id in ids:
        [note] = h.vendor.notes(ticket_id)
        similar = '"IT-101: VPN drops every few minutes for the finance team"'  # the seed ticket
        assert similar in json.dumps(note), ticket_id  # from the read the batch shared
    calls.clear()
    h.vendor.sandbox.add_ticket("jira", "31100")
    assert h.run_jobs(h.job("31100")) == []
    assert Counter(name for name, _ in calls)["BatchGetItem"] == 1
    indexed = {t.ticket_id for t in ContextStore(h.stack.dynamodb, context).recent_tickets(h.tenant_id)}
    assert set(ids) <= indexed  # every job's ticket and pointer were written


def test_unknown_ticket_is_final_and_not_a_batch_failure(make_worker: WorkerFactory) -> None:
    h = make_worker("servicenow")
    missing, present = h.job("0" * 32), h.job()

    assert h.run_jobs(missing, present) == []

    assert h.record(missing)["state"] == "failed"
    assert "404" in h.record(missing)["last_error"]
    assert len(h.vendor.notes(seed_ticket_id("servicenow"))) == 1


# -- the pipeline ------------------------------------------------------------------------------


class BrokenStore(ContextStore):
    def list_indexed_tickets(self, tenant_id: str, limit: int = 500) -> list[IndexedTicket]:
        raise ContextStoreError("context table unavailable")

    def recent_tickets(self, tenant_id: str, limit: int = 100) -> list[IndexedTicket]:
        raise ContextStoreError("context table unavailable")

    def list_articles(self, tenant_id: str, limit: int = 500) -> list[Article]:
        raise ContextStoreError("context table unavailable")

    def list_assets(self, tenant_id: str, limit: int = 2000) -> list[Asset]:
        raise ContextStoreError("context table unavailable")


def test_unavailable_context_store_still_yields_a_note_saying_so(
    make_worker: WorkerFactory, aws: Stack
) -> None:
    pipeline = build_default_pipeline(BrokenStore(aws.dynamodb, "unused"))
    h = make_worker("zendesk", pipeline=pipeline)
    job = h.job()

    assert h.run_jobs(job) == []

    notes = h.vendor.notes("35436")
    assert len(notes) == 1
    assert (
        "Unavailable for this note: ticket history (error), similar tickets (error), "
        "knowledge articles (error), network/asset matches (error), "
        "triage suggestion (needs ticket history), duplicate check (needs indexed tickets)"
    ) in notes[0]["html_body"]
    record = h.record(job)
    assert record["state"] == "done"
    assert set(record["unavailable"]) == {
        "indexed_tickets",
        "similar_tickets",
        "knowledge",
        "network_assets",
        "triage",
        "duplicates",
    }


class ExplodingStep:
    name = "runbook_lookup"
    requires: tuple[str, ...] = ("ticket_context",)

    async def run(self, ctx: Any) -> None:
        raise RuntimeError("runbook service down")


class SlowStep:
    name = "cmdb_lookup"
    requires: tuple[str, ...] = ()
    timeout = 0.05

    async def run(self, ctx: Any) -> None:
        await asyncio.sleep(5)


def test_failing_and_slow_steps_still_yield_a_note(make_worker: WorkerFactory) -> None:
    steps: list[PipelineStep] = [TicketContextStep(), ExplodingStep(), SlowStep()]
    h = make_worker("servicenow", pipeline=Pipeline(steps))
    job = h.job()

    assert h.run_jobs(job) == []

    notes = h.vendor.notes(seed_ticket_id("servicenow"))
    assert len(notes) == 1
    text = notes[0]["value"]
    assert "Unavailable for this note:" in text
    assert "runbook lookup (error)" in text
    assert "cmdb lookup (timeout)" in text
    assert text.endswith(h.footer(job.job_id))


# -- final failures and acknowledgements ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", r"/api/v2/tickets/123/notes", 400),
        ("POST", r"/api/v2/tickets/123/notes", 401),
        ("GET", r"/api/v2/tickets/123", 401),
        ("GET", r"/api/v2/tickets/123", 403),
    ],
    ids=["post-400", "post-401", "fetch-401", "fetch-403"],
)
def test_final_vendor_error_fails_the_job_without_batch_failure(
    make_worker: WorkerFactory, method: str, path: str, status: int
) -> None:
    h = make_worker("freshservice")
    h.vendor.fail(method, path, status=status, count=10)
    job = h.job()

    assert h.run_jobs(job) == []  # acknowledged: no DLQ churn

    assert len(h.vendor.calls(method, path)) == 1  # not retried either
    assert h.vendor.notes("123") == []
    record = h.record(job)
    assert record["state"] == "failed"
    assert f"HTTP {status}" in record["last_error"]
    # A redelivery of the failed job does nothing.
    seen = len(h.vendor.seen)
    assert h.run_jobs(job, receive_count=2) == []
    assert len(h.vendor.seen) == seen


def test_poison_messages_are_reported_and_do_not_affect_the_others(make_worker: WorkerFactory) -> None:
    h = make_worker("jira")
    good = h.job()
    bad_json = sqs_record("{not json")
    wrong_shape = sqs_record(json.dumps({"job_id": "x", "metadata": {}}))
    ok = sqs_record(good.model_dump_json())

    failures = h.run(bad_json, ok, wrong_shape)

    assert failures == [bad_json["messageId"], wrong_shape["messageId"]]
    assert len(h.vendor.notes("10001")) == 1
    assert h.record(good)["state"] == "done"


def test_job_for_another_tool_is_acknowledged_without_posting(make_worker: WorkerFactory) -> None:
    h = make_worker("jira")
    job = h.job(tool="zendesk")

    assert h.run_jobs(job) == []

    assert h.vendor.seen == []
    assert not h.has_record(job)


@pytest.mark.parametrize("case", ["unknown", "disabled", "other-tool"])
def test_unusable_tenant_fails_the_job_and_is_acknowledged(make_worker: WorkerFactory, case: str) -> None:
    h = make_worker("jira")
    if case == "unknown":
        tenant_id = "nobody"
    elif case == "disabled":
        tenant_id = make_worker.add_tenant("jira", BASE_URLS["jira"], enabled=False)
    else:  # a zendesk tenant's id sent to the jira worker
        tenant_id = make_worker.add_tenant("zendesk", BASE_URLS["zendesk"])
    job = h.job(tenant_id=tenant_id)

    assert h.run_jobs(job) == []

    assert h.vendor.seen == []
    record = h.record(job)
    assert record["state"] == "failed"
    assert "tenant is unknown, disabled or of another tool" in record["last_error"]


# -- job history -----------------------------------------------------------------------------------


def test_success_is_recorded_in_the_job_history(make_worker: WorkerFactory) -> None:
    h = make_worker("servicedesk_plus")
    job = h.job()
    # The delivery record the webhook function wrote when it queued the job.
    h.stack.dynamodb.put_item(
        TableName=h.stack.deliveries_table,
        Item={"dedupe_key": {"S": job.metadata.dedupe_key}, "state": {"S": "queued"}},
    )

    assert h.run_jobs(job) == []

    record = h.record(job)
    assert record["state"] == "done"
    assert record["attempts"] == 1
    assert record["job_id"] == job.job_id
    assert record["tenant_id"] == h.tenant_id
    assert record["tool_type"] == "servicedesk_plus"
    assert record["ticket_id"] == seed_ticket_id("servicedesk_plus")
    assert record["event_type"] == "created"
    assert record["provider"] == "offline"
    assert {"fetch", "post"} <= set(record["stage_ms"])
    assert all(float(v) >= 0 for v in record["stage_ms"].values())
    assert record["completed_at"] >= record["created_at"]
    assert record["expires_at"] > record["completed_at"]
    delivery = h.stack.dynamodb.get_item(
        TableName=h.stack.deliveries_table, Key={"dedupe_key": {"S": job.metadata.dedupe_key}}
    )["Item"]
    assert delivery["state"] == {"S": "done"}  # later repeats of the delivery send nothing


# -- hostile ticket text ---------------------------------------------------------------------------


def _make_hostile(vendor: Vendor, tool: str) -> None:
    ticket = vendor.sandbox.state.tickets[tool][seed_ticket_id(tool)]
    if tool == "servicenow":
        ticket["short_description"] = HOSTILE
        ticket["description"] = HOSTILE
    elif tool == "jira":
        ticket["fields"]["summary"] = HOSTILE
    elif tool == "zammad":  # the text is the first article's HTML body, as Zammad stores typed text
        ticket["title"] = HOSTILE
        ticket["article"]["body"] = f"<div>{html_escape(HOSTILE)}</div>"
    else:
        ticket["subject"] = HOSTILE
        ticket["description"] = HOSTILE
        if tool == "freshservice":
            ticket["description_text"] = HOSTILE


@pytest.mark.parametrize("tool", ["zendesk", "freshservice", "servicedesk_plus", "zammad"])
def test_html_notes_carry_no_live_markup_from_ticket_text(make_worker: WorkerFactory, tool: str) -> None:
    h = make_worker(tool)
    _make_hostile(h.vendor, tool)

    assert h.run_jobs(h.job()) == []

    _, note_method, note_path, _, _ = facts(tool)
    posted = h.vendor.calls(note_method, re.escape(note_path))
    assert len(posted) == 1
    html = NOTE_READERS[tool](posted[0]).lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the text is there, as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script" not in html
    assert "<img" not in html
    assert "<b " not in html
    assert not re.search(r"<[^>]*\son\w+\s*=", html)  # no tag carries an event handler
    assert "javascript:" not in html
    tags = set(re.findall(r"</?([a-z0-9]+)", html))
    assert tags <= {"h3", "p", "strong", "br", "ul", "ol", "li", "hr", "code", "pre"}


def test_servicenow_note_carries_no_code_tags_from_ticket_text(make_worker: WorkerFactory) -> None:
    h = make_worker("servicenow")
    _make_hostile(h.vendor, "servicenow")

    assert h.run_jobs(h.job()) == []

    notes = h.vendor.notes(seed_ticket_id("servicenow"))
    assert len(notes) == 1
    text = notes[0]["value"]
    assert "[code]" not in text.lower()
    assert "[/code]" not in text.lower()
    assert "\uff3bcode\uff3d" in text  # shown as text, with fullwidth brackets


def test_jira_note_is_data_not_markup(make_worker: WorkerFactory) -> None:
    h = make_worker("jira")
    _make_hostile(h.vendor, "jira")

    assert h.run_jobs(h.job()) == []

    posted = h.vendor.calls("POST", r".*/comment")
    doc = posted[0].json()["body"]
    raw = json.dumps(doc)
    assert "<script>alert(1)</script>" in raw  # only inside text nodes
    assert "javascript:" not in "".join(
        m.get("attrs", {}).get("href", "")
        for block in doc["content"]
        for node in block.get("content", [])
        for m in node.get("marks", [])
    )
    node_types = {node["type"] for block in doc["content"] for node in block.get("content", [])}
    assert node_types <= {"text", "hardBreak", "listItem"}


# -- the job lease -------------------------------------------------------------------------------


def test_job_lease_keeps_a_second_attempt_out_until_released_or_expired(make_worker: WorkerFactory) -> None:
    h = make_worker("jira")
    store = JobStore(h.stack.dynamodb, h.jobs_table)
    job, racer = h.job(), h.job()
    t = 1_800_000_000.0

    first = store.claim(job, now=t)
    assert first is not None
    assert first.job_id == job.job_id
    with pytest.raises(JobInProgressError):
        store.claim(racer, now=t + 10)  # the first attempt is still running

    store.record_error(first, "HTTP 503")  # a retryable failure releases the lease
    again = store.claim(racer, now=t + 20)
    assert again is not None
    assert again.job_id == job.job_id  # the note's footer keeps the first job id
    assert again.attempts == 2

    # An attempt that crashed without releasing: taken over once the lease has expired.
    with pytest.raises(JobInProgressError):
        store.claim(job, now=t + 20 + LEASE_SECONDS - 1)
    taken = store.claim(job, now=t + 20 + LEASE_SECONDS + 1)
    assert taken is not None
    assert taken.attempts == 3

    store.finish(taken, state="done")
    assert store.claim(racer, now=t + 10_000) is None  # finished: nothing more to do


@pytest.mark.parametrize("tool", TOOLS)
def test_a_message_queued_in_the_old_format_is_still_processed(make_worker: WorkerFactory, tool: str) -> None:
    """Before jobs carried ids only, the whole ticket metadata (subject, description, requester)
    was queued; such messages still in a queue or DLQ after a deploy post their note once."""
    h = make_worker(tool)
    ticket = seed_ticket_id(tool)
    old = {
        "job_id": new_job_id(),
        "queued_at": datetime.now(UTC).isoformat(),
        "metadata": TicketMetadata(
            tool_type=tool,
            tenant_id=h.tenant_id,
            ticket_id=ticket,
            subject="VPN down",
            description="Cannot reach 10.0.0.1",
            requester="someone@example.com",
            delivery_id=unique("delivery"),
        ).model_dump(mode="json"),
    }
    assert h.run(sqs_record(json.dumps(old))) == []
    assert len(h.vendor.notes(ticket)) == 1
