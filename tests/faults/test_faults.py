"""Faults (issue 7): each failure the system must survive, end to end and in process.

A tool's whole path runs here: its webhook function (``make_webhook_handler``) in front of a FIFO
queue with a DLQ (maxReceiveCount 50) in moto, and its worker (``make_worker_handler``) fed from that
queue the way Lambda's event source mapping does it (``System.pump``: batches of up to 10,
``batchItemFailures``, a failed or crashed invocation keeps its records, which come back after the
visibility timeout, and after the 50th receive go to the DLQ; a record the worker deferred keeps the
visibility it set until ``System.elapse`` lets that time pass). The vendor is the sandbox behind the
tenant's real base URL (an httpx transport). Faults are injected at named points: botocore event
hooks on the clients the functions were given, the sandbox's ``fail_next``, and the transport
(``Vendor.lose_next_write``). Each test says what the system does and proves that every accepted
delivery ends as exactly one note: nothing lost, nothing doubled. Sleeps are recorded, not slept;
the job lease's clock jumps by the visibility timeout whenever records are redelivered.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models import DynamoDBBackend
from ticket_enhancer import jobs as jobs_module
from ticket_enhancer.models import NOTE_FOOTER_PREFIX
from ticket_enhancer.plugins import PluginManager
from ticket_enhancer.plugins.base import TicketingToolPlugin
from ticket_enhancer.plugins.requests import RetryPolicy
from ticket_enhancer.tenants import deserialize_item
from ticket_enhancer.worker.handler import WorkerHandler, make_worker_handler
from ticket_enhancer_dev.local.functions import Outcome
from ticket_enhancer_dev.local.poller import lambda_record, succeeded
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

from tests.support import (
    BASE_URLS,
    BODY_FACTORIES,
    Stack,
    Tenant,
    create_table,
    invoke,
    public_resolver,
    unique,
)

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# Every handler built in a process sets the shared EMF default dimension again.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

# ServiceDesk Plus cloud needs Zoho OAuth on top; its REST calls are covered in test_worker.py.
TOOLS = ("jira", "zendesk", "servicenow", "freshservice", "zammad")
VISIBILITY_TIMEOUT = 360  # the template's, in seconds
MAX_RECEIVE_COUNT = 50
MAX_ATTEMPTS = 5  # real attempts before a job gives up (ticket_enhancer.jobs)
UNAVAILABLE = {"error": "temporarily unavailable"}
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:tool-queue.fifo"


def aws_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected fault"}}, operation)


def throttled(operation: str) -> ClientError:
    return aws_error("ProvisionedThroughputExceededException", operation)


class Clock:
    """The job records' clock (``make_worker_handler(clock=...)``), advanced as the queue's timeouts pass."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset


class Sleeps:
    """Plugin backoff sleeps, recorded and skipped."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class Vendor:
    """The tool's REST API (``VendorSandbox``) at the tenant's base URL, plus an LLM endpoint."""

    LLM_HOST = "llm.example.com"

    def __init__(self, tool: str, base_url: str) -> None:
        self.tool = tool
        self.sandbox = VendorSandbox()
        self.requests: list[tuple[str, str]] = []
        self.llm_requests = 0
        self._host = httpx.URL(base_url).host
        self._base_path = httpx.URL(base_url).path.rstrip("/")
        self._lost_writes = 0
        self._down_after_loss = 0
        self.hostile: dict[str, str] = {}  # ticket id -> "silent", "trickle", "huge", "bomb", "limited"

    def lose_next_write(self, *, then_down: int = 0) -> None:
        """The next note is stored but its answer is lost (``httpx.ReadTimeout``); then the next
        ``then_down`` calls answer 503."""
        self._lost_writes += 1
        self._down_after_loss = then_down

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET"]

    def notes(self, ticket_id: str | None = None) -> list[dict[str, Any]]:
        return self.sandbox.notes(self.tool, ticket_id or seed_ticket_id(self.tool))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        if request.headers.get("host") == self.LLM_HOST:  # pinned: sent to the checked address
            self.llm_requests += 1
            return httpx.Response(503, json={"error": "model overloaded"})
        assert request.url.host == self._host, f"unexpected host {request.url.host}"
        relative = request.url.path[len(self._base_path) :]
        self.requests.append((request.method, relative))
        for ticket, behaviour in self.hostile.items():
            if f"/{ticket}" in relative:
                return await hostile_answer(behaviour)
        answer = self.sandbox.handle(
            request.method,
            f"/_sandbox/{self.tool}{relative}",
            request.url.query.decode(),
            dict(request.headers),
            body,
        )
        if request.method != "GET" and self._lost_writes and answer.status < 300:
            self._lost_writes -= 1
            if self._down_after_loss:
                self.sandbox.fail_next(self.tool, 503, count=self._down_after_loss)
            raise httpx.ReadTimeout("vendor answer lost", request=request)
        return httpx.Response(answer.status, json=answer.body, headers=answer.headers)


class RecordingSqs:
    """The worker's SQS client: deferrals (``ChangeMessageVisibility``) recorded, then made."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self.visibility: dict[str, int] = {}  # receipt handle -> seconds the worker asked for

    def change_message_visibility(self, **kwargs: Any) -> Any:
        self.visibility[kwargs["ReceiptHandle"]] = int(kwargs["VisibilityTimeout"])
        return self._sqs.change_message_visibility(**kwargs)


class LambdaContext:
    """What the worker reads of Lambda's context: the invocation's remaining time."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class _Stream(httpx.AsyncByteStream):
    def __init__(self, chunks: Callable[[], Any]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> Any:
        async for chunk in self._chunks():
            yield chunk


async def hostile_answer(behaviour: str) -> httpx.Response:
    """Never answering, a byte every 0.2 s, 64 MiB of body, a 64 MiB gzip bomb, or 429 for an hour."""

    async def trickle() -> Any:
        for _ in range(1000):
            yield b" "
            await asyncio.sleep(0.2)

    async def huge() -> Any:
        for _ in range(1024):
            yield b"x" * 65536

    async def bomb() -> Any:
        gzip = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        for _ in range(64):
            yield gzip.compress(bytes(1 << 20))
        yield gzip.flush()

    if behaviour == "silent":
        await asyncio.sleep(3600)
    if behaviour == "limited":
        return httpx.Response(429, headers={"retry-after": "3600"}, json={"error": "rate limited"})
    if behaviour == "bomb":
        return httpx.Response(200, headers={"content-encoding": "gzip"}, stream=_Stream(bomb))
    return httpx.Response(200, stream=_Stream(trickle if behaviour == "trickle" else huge))


class ProcessDied(BaseException):
    """The worker's execution environment dies here (timeout, out of memory): nothing after runs."""


@dataclass
class Pumped:
    invocations: int = 0
    crashed: int = 0
    failed_records: int = 0
    receive_counts: list[int] = field(default_factory=list)
    deferred: list[Any] = field(default_factory=list)  # messages the worker put back with a visibility


@dataclass
class System:
    """One tool deployed in moto: webhook -> FIFO queue (DLQ after 5 receives) -> worker -> vendor."""

    tool: str
    aws: Stack
    tenant: Tenant
    vendor: Vendor
    jobs_table: str
    context_table: str
    clock: Clock
    sleeps: Sleeps
    bedrock: Callable[[], Any] | None = None
    retry: RetryPolicy | None = None
    context: LambdaContext | None = None  # None: the worker's default deadline
    workers: list[WorkerHandler] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.webhook = self.aws.handler(self.tool)
        self.worker_sqs = RecordingSqs(self.aws.sqs)
        self.worker = self.new_worker()

    @property
    def queue_url(self) -> str:
        return self.aws.queue_url(self.tool)

    def new_worker(self) -> WorkerHandler:
        """A fresh execution environment (cold start) of the tool's worker."""
        plugin_class: type[TicketingToolPlugin] = type(PluginManager().get_plugin(self.tool))
        worker = make_worker_handler(
            self.tool,
            dynamodb=self.aws.dynamodb,
            secrets=self.aws.secretsmanager,
            plugin=plugin_class(sleep=self.sleeps, retry=self.retry),
            transport=self.vendor.transport(),
            sqs=cast("SQSClient", self.worker_sqs),
            env={
                "QUEUE_URL": self.queue_url,
                "TENANTS_TABLE": self.aws.tenants_table,
                "DELIVERIES_TABLE": self.aws.deliveries_table,
                "JOBS_TABLE": self.jobs_table,
                "CONTEXT_TABLE": self.context_table,
                "POWERTOOLS_SERVICE_NAME": unique("ticket-enhancer-faults"),
                "POWERTOOLS_METRICS_NAMESPACE": "TicketEnhancerTest",
            },
            bedrock_client_factory=self.bedrock or self._no_bedrock,
            resolve=public_resolver,
            clock=self.clock.time,
        )
        self.workers.append(worker)
        return worker

    @staticmethod
    def _no_bedrock() -> Any:
        raise AssertionError("offline tenants never call Bedrock")

    def webhook_event(self, ticket_id: str | None = None, tenant: Tenant | None = None) -> dict[str, Any]:
        """A signed delivery for the seed ticket (or a copy of it under ``ticket_id``)."""
        factory = cast(Callable[[str], dict[str, Any]], BODY_FACTORIES[self.tool])
        ticket = ticket_id or seed_ticket_id(self.tool)
        if ticket_id is not None:
            self.vendor.sandbox.add_ticket(self.tool, ticket_id)
        body = json.dumps(factory(ticket)).encode()
        return (tenant or self.tenant).event(body)

    def add_tenant(self) -> Tenant:
        """Another tenant of the tool (same vendor), offline synthesis."""
        return self.aws.add_tenant(self.tool, options={"synthesis_provider": "offline"})

    def send(self, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return invoke(self.webhook, event)

    def pump(self, max_receives: int = 20, *, leases_expire: bool = True, drain: bool = True) -> Pumped:
        """Lambda's event source mapping until the queue is empty (or ``max_receives`` receives).

        ``leases_expire=False``: the job lease's clock does not move (as in the local stack, whose
        scaled visibility timeout is shorter than the lease)."""
        stats = Pumped()
        for _ in range(max_receives):
            messages = self.aws.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return stats
            stats.receive_counts += [int(m["Attributes"]["ApproximateReceiveCount"]) for m in messages]
            event = {"Records": [lambda_record(m, QUEUE_ARN, "us-east-1") for m in messages]}
            stats.invocations += 1
            try:
                outcome = Outcome("ok", result=self.worker(event, self.context))
            except ProcessDied:
                stats.crashed += 1
                outcome = Outcome("crashed", error="the execution environment died")
                self.worker = self.new_worker()  # Lambda starts a new one for the next batch
            done = succeeded(messages, outcome, report_failures=True)
            if done:
                self.aws.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(done)],
                )
            kept = [m for m in messages if m["ReceiptHandle"] not in done]
            stats.failed_records += len(kept)
            stats.deferred += [m for m in kept if m["ReceiptHandle"] in self.worker_sqs.visibility]
            kept = [m for m in kept if m["ReceiptHandle"] not in self.worker_sqs.visibility]
            if kept:  # the visibility timeout passes, then they are received again
                self.clock.offset += VISIBILITY_TIMEOUT if leases_expire else 0
                self.aws.sqs.change_message_visibility_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                        for i, m in enumerate(kept)
                    ],
                )
        if not drain:
            return stats
        raise AssertionError(f"the queue did not drain in {max_receives} receives")

    def elapse(self, seconds: float) -> None:
        """``seconds`` pass: deferred records whose wait is over become visible, the clock moves."""
        self.clock.offset += seconds
        over = [h for h, wait in self.worker_sqs.visibility.items() if wait <= seconds]
        for handle in over:
            del self.worker_sqs.visibility[handle]
        if over:
            self.aws.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(over)
                ],
            )

    def queued(self) -> int:
        attrs = self.aws.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def dead_letters(self) -> list[str]:
        self.queue_url  # noqa: B018 (creates the queues on first use)
        bodies: list[str] = []
        while True:
            got = self.aws.sqs.receive_message(
                QueueUrl=self.aws.dlq_urls[self.tool], MaxNumberOfMessages=10, VisibilityTimeout=60
            ).get("Messages", [])
            if not got:
                return bodies
            bodies += [m["Body"] for m in got]

    def job(self, ticket_id: str | None = None, event: str = "created") -> dict[str, Any]:
        key = f"{self.tool}#{self.tenant.tenant_id}#{ticket_id or seed_ticket_id(self.tool)}#{event}"
        item = self.aws.dynamodb.get_item(TableName=self.jobs_table, Key={"job_key": {"S": key}}).get("Item")
        assert item is not None, f"no job record {key}"
        return deserialize_item(dict(item))

    def assert_one_note(self, ticket_id: str | None = None) -> dict[str, Any]:
        """Exactly one note on the ticket, carrying the footer of the job that is ``done``."""
        notes = self.vendor.notes(ticket_id)
        assert len(notes) == 1, notes
        record = self.job(ticket_id)
        assert record["state"] == "done", record
        assert f"{NOTE_FOOTER_PREFIX}{record['job_id']}" in json.dumps(notes[0], ensure_ascii=False)
        assert self.queued() == 0
        assert self.dead_letters() == []
        return notes[0]


@pytest.fixture(autouse=True)
def atomic_conditional_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies a conditional write atomically; moto does not lock: give it DynamoDB's rule."""
    lock = threading.Lock()
    original = DynamoDBBackend.update_item

    def update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", update_item)


@pytest.fixture
def clock() -> Clock:
    return Clock()


SystemFactory = Callable[..., System]


@pytest.fixture
def system(aws: Stack, clock: Clock) -> Iterator[SystemFactory]:
    """``system(tool, options=..., bedrock=...)``: one tool's deployment, a tenant and its vendor."""
    built: list[System] = []
    jobs_table, context_table = f"{aws.prefix}-JobsTable", f"{aws.prefix}-ContextTable"
    create_table(aws.dynamodb, jobs_table, "job_key")
    create_table(aws.dynamodb, context_table, "pk", "sk")

    def build(
        tool: str,
        *,
        options: dict[str, str] | None = None,
        bedrock: Callable[[], Any] | None = None,
        retry: RetryPolicy | None = None,
    ) -> System:
        tenant = aws.add_tenant(tool, options={"synthesis_provider": "offline", **(options or {})})
        result = System(
            tool=tool,
            aws=aws,
            tenant=tenant,
            vendor=Vendor(tool, BASE_URLS[tool]),
            jobs_table=jobs_table,
            context_table=context_table,
            clock=clock,
            sleeps=Sleeps(),
            bedrock=bedrock,
            retry=retry,
        )
        built.append(result)
        return result

    yield build
    for each in built:
        for worker in each.workers:
            worker.close()


def hook_nth(calls: list[str], n: int, error: BaseException, table: str | None = None) -> Callable[..., None]:
    """A botocore hook failing the ``n``-th call (1-based); with ``table``, of calls to that table only
    (register it on ``before-parameter-build``, where ``params`` are the call's own)."""

    def hook(params: dict[str, Any], **_: Any) -> None:
        if table is not None and params.get("TableName") != table:
            return
        calls.append(str(params.get("TableName")))
        if len(calls) == n:
            raise error

    return hook


# -- the vendor --------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", TOOLS)
def test_vendor_5xx_recovers_as_one_note(system: SystemFactory, tool: str) -> None:
    """Vendor 5xx: the worker retries idempotent calls with backoff (4 tries in one attempt); a longer
    outage fails the record, SQS redelivers it after the visibility timeout, and the next attempt
    posts. The ticket gets exactly one note."""
    s = system(tool)
    s.vendor.sandbox.fail_next(tool, 500, count=6)  # 4 in the first attempt, 2 in the second
    status, _ = s.send(s.webhook_event())
    assert status == 202

    pumped = s.pump()

    assert pumped.receive_counts == [1, 2]
    assert len(s.sleeps.calls) == 3 + 2  # backoff between tries
    assert len(s.vendor.writes()) == 1
    s.assert_one_note()
    assert s.job()["attempts"] == 2


@pytest.mark.parametrize("retry_after", [3, 600], ids=["short", "long"])
def test_rate_limited_429_honours_retry_after(system: SystemFactory, retry_after: int) -> None:
    """429 with Retry-After: a short one is waited out within the attempt (plus at most 10 % jitter);
    one beyond 30 s is a deferral: the worker sets the message's visibility to the wait (plus at most
    10 %, 60 s, of jitter), records the deferral (not an attempt) and the record stays queued; when
    the wait is over it is received again and posts. Either way: one note."""
    s = system("zendesk")
    s.vendor.sandbox.fail_next("zendesk", 429, count=1, retry_after=retry_after)
    assert s.send(s.webhook_event())[0] == 202

    pumped = s.pump()

    if retry_after <= 30:
        assert pumped.receive_counts == [1]
        assert len(s.sleeps.calls) == 1
        assert retry_after <= s.sleeps.calls[0] <= retry_after * 1.1
    else:
        assert s.sleeps.calls == []  # never sleeps for minutes inside a Lambda
        assert pumped.receive_counts == [1]
        [wait] = s.worker_sqs.visibility.values()
        assert retry_after <= wait <= retry_after + 60
        record = s.job()
        assert (record["attempts"], record["deferrals"], record["state"]) == (0, 1, "processing")
        assert "429" in record["deferral_reason"]
        assert s.queued() == 1
        s.elapse(wait)
        assert s.pump().receive_counts == [2]
        assert (s.job()["attempts"], s.job()["deferrals"]) == (1, 1)
    s.assert_one_note()


@pytest.mark.parametrize("tool", TOOLS)
def test_vendor_timeout_after_storing_the_note_posts_no_second(system: SystemFactory, tool: str) -> None:
    """Vendor timeout (``httpx.ReadTimeout``) after the note was stored: the outcome is unknown, so the
    worker lists the ticket's notes, finds its footer and ends the job ``done``. If the listing fails
    too, the job stays ``posting``; the redelivery lists again and posts nothing."""
    s = system(tool)
    s.vendor.lose_next_write()
    assert s.send(s.webhook_event())[0] == 202
    s.pump()
    s.assert_one_note()
    assert len(s.vendor.writes()) == 1

    # The same, but listing the notes fails for the rest of the attempt (its 4 tries).
    t = system(tool)
    t.vendor.lose_next_write(then_down=4)
    assert t.send(t.webhook_event())[0] == 202
    pumped = t.pump()
    assert pumped.receive_counts == [1, 2]
    t.assert_one_note()
    assert len(t.vendor.writes()) == 1
    assert t.job()["attempts"] == 2


# -- AWS -----------------------------------------------------------------------------------------


def test_dynamodb_throttling_on_the_webhook_is_503_and_the_retry_queues_once(system: SystemFactory) -> None:
    """DynamoDB throttling the delivery write (``ProvisionedThroughputExceededException`` after
    botocore's own retries): the webhook answers 503 and queues nothing; the tool's retry is queued
    once; a further retry is ``200 duplicate``. One note."""
    s = system("jira")
    event = s.webhook_event()
    calls: list[str] = []
    s.aws.hook(s.aws.dynamodb, "before-call.dynamodb.PutItem", hook_nth(calls, 1, throttled("PutItem")))

    assert s.send(event) == (503, UNAVAILABLE)
    assert s.queued() == 0
    assert s.aws.delivery_records() == []
    status, first = s.send(event)  # the tool retries
    assert status == 202
    assert s.send(event) == (200, {"status": "duplicate", "job_id": first["job_id"]})
    assert s.queued() == 1

    s.pump()
    s.assert_one_note()


def test_a_delivery_write_retried_by_botocore_after_it_landed_is_still_queued(system: SystemFactory) -> None:
    """The delivery record's PutItem lands but its answer is lost (a read timeout under load) and
    botocore sends it again: the retry fails the condition on our own record (the same job id), so the
    webhook answers 202 queued, not 200 duplicate; the job is queued once, the tool's real repeat is
    a duplicate. (Found by the load test with the machine at load 15.)"""
    s = system("jira")
    event = s.webhook_event()
    landed: list[str] = []
    other = boto3.client("dynamodb", region_name="us-east-1")  # the same moto account

    def first_write_lands_then_retried(params: dict[str, Any], **_: Any) -> None:
        if not landed and params.get("TableName") == s.aws.deliveries_table:
            landed.append(params["Item"]["job_id"]["S"])
            other.put_item(**params)  # the first attempt: it lands, its answer is lost

    s.aws.hook(s.aws.dynamodb, "before-parameter-build.dynamodb.PutItem", first_write_lands_then_retried)

    status, first = s.send(event)

    assert (status, first["status"]) == (202, "queued")
    assert first["job_id"] == landed[0]
    assert s.send(event) == (200, {"status": "duplicate", "job_id": first["job_id"]})
    assert s.queued() == 1
    s.pump()
    s.assert_one_note()


def test_a_job_claim_retried_by_botocore_after_it_landed_goes_on(system: SystemFactory) -> None:
    """The worker's claim (a conditional UpdateItem of the job record) lands but its answer is lost and
    botocore sends it again: the retry fails the condition on the attempt's own lease. The claim's
    token shows the lease is its own, so the attempt goes on and posts in the same receive, one attempt
    counted, instead of waiting out its own lease (locally 120 s; on AWS the 360 s visibility timeout).
    A cause that fits the one note 124 s late in the 10,000-webhook load run."""
    s = system("servicenow")
    assert s.send(s.webhook_event())[0] == 202
    landed: list[str] = []
    other = boto3.client("dynamodb", region_name="us-east-1")  # the same moto account

    def first_claim_lands_then_retried(params: dict[str, Any], **_: Any) -> None:
        claiming = "lease_until = :lease" in params.get("UpdateExpression", "")
        if not landed and params.get("TableName") == s.jobs_table and claiming:
            landed.append(params["Key"]["job_key"]["S"])
            other.update_item(**params)  # the first attempt: it lands, its answer is lost

    s.aws.hook(s.aws.dynamodb, "before-parameter-build.dynamodb.UpdateItem", first_claim_lands_then_retried)

    pumped = s.pump(leases_expire=False)

    assert landed
    assert pumped.receive_counts == [1]  # no redelivery, no wait for a lease
    assert s.job()["attempts"] == 1
    s.assert_one_note()


@pytest.mark.parametrize(
    ("nth", "what"),
    [(1, "claim"), (2, "mark_posting"), (3, "finish")],
    ids=["claiming", "before-posting", "after-posting"],
)
def test_dynamodb_throttling_in_the_worker_redelivers_the_record(
    system: SystemFactory, nth: int, what: str
) -> None:
    """DynamoDB throttling the job table in the worker (claiming the job, marking it ``posting``, or
    recording it ``done`` after the note was posted): the record is reported failed and redelivered,
    the attempt's lease released, so the redelivery claims the job at once (no wait for the lease,
    whatever the visibility timeout); it finishes the job, finding the footer when the note was
    already posted. One note."""
    s = system("servicenow")
    assert s.send(s.webhook_event())[0] == 202
    calls: list[str] = []
    hook = hook_nth(calls, nth, throttled("UpdateItem"), table=s.jobs_table)
    s.aws.hook(s.aws.dynamodb, "before-parameter-build.dynamodb.UpdateItem", hook)

    pumped = s.pump(leases_expire=False)

    assert pumped.receive_counts == [1, 2], what
    assert len(s.vendor.writes()) == 1  # never posted twice
    s.assert_one_note()
    if what != "claim":
        assert "ProvisionedThroughputExceededException" in s.job()["last_error"]


def test_secrets_manager_unavailable_is_503_then_queued_once(system: SystemFactory) -> None:
    """Secrets Manager unavailable: the webhook cannot verify the signature, answers 503 (not 401)
    and caches nothing; the tool's retry is queued. In the worker the same outage fails the record,
    which is redelivered and then posts. One note."""
    s = system("freshservice")
    event = s.webhook_event()
    outage = aws_error("InternalServiceError", "GetSecretValue")
    s.aws.hook(s.aws.secretsmanager, "before-call.secrets-manager.GetSecretValue", hook_nth([], 1, outage))
    assert s.send(event) == (503, UNAVAILABLE)
    assert s.queued() == 0
    s.aws.unhook()
    assert s.send(event)[0] == 202

    s.aws.hook(s.aws.secretsmanager, "before-call.secrets-manager.GetSecretValue", hook_nth([], 1, outage))
    pumped = s.pump()

    assert pumped.receive_counts == [1, 2]
    s.assert_one_note()


def test_queue_refusing_sends_is_503_and_the_retry_queues_once(system: SystemFactory) -> None:
    """The queue refusing sends: the delivery record is written but the webhook answers 503; the
    tool's retry finds the record and sends the same job under the same de-duplication id (answered
    200 duplicate, as the delivery was recorded); later retries add nothing. One message, one note."""
    s = system("zendesk")
    event = s.webhook_event()
    refused = aws_error("KmsThrottled", "SendMessage")
    s.aws.hook(s.aws.sqs, "before-call.sqs.SendMessage", hook_nth([], 1, refused))
    assert s.send(event) == (503, UNAVAILABLE)
    assert s.queued() == 0
    [record] = s.aws.delivery_records()
    s.aws.unhook()

    for _ in range(3):
        status, answer = s.send(event)
        assert (status, answer) == (200, {"status": "duplicate", "job_id": record["job_id"]["S"]})
    assert s.queued() == 1

    s.pump()
    s.assert_one_note()


@pytest.mark.parametrize("how", ["finish-raises", "process-dies"])
def test_worker_dying_between_posting_and_recording_posts_no_second_note(
    system: SystemFactory, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The worker dies between posting the note and recording the job ``done`` (``JobStore.finish``
    raises, or the execution environment dies there): the record is redelivered after the visibility
    timeout, by which time the attempt's lease has expired; the job is still ``posting``, so the
    worker lists the ticket's notes, finds its footer and records ``done`` without posting."""
    s = system("jira")
    assert s.send(s.webhook_event())[0] == 202
    original = jobs_module.JobStore.finish
    failures = [1]

    def finish(self: jobs_module.JobStore, *args: Any, **kwargs: Any) -> None:
        if failures:
            failures.pop()
            if how == "process-dies":
                raise ProcessDied
            raise aws_error("InternalServerError", "UpdateItem")
        original(self, *args, **kwargs)

    monkeypatch.setattr(jobs_module.JobStore, "finish", finish)

    pumped = s.pump()

    assert pumped.receive_counts == [1, 2]
    assert pumped.crashed == (1 if how == "process-dies" else 0)
    assert len(s.vendor.writes()) == 1
    assert s.vendor.requests[-1][0] == "GET"  # the redelivery only listed the notes
    s.assert_one_note()
    assert s.job()["attempts"] == 2


def test_poison_message_goes_to_the_dlq_and_the_others_are_unaffected(system: SystemFactory) -> None:
    """A poison message (not a job) fails on every receive; after the 50th (maxReceiveCount) SQS moves
    it to the DLQ, where `ticket-enhancer dlq list` shows it. Jobs in the same batches are posted
    once each and acknowledged."""
    s = system("jira")
    poison = ["{not json", json.dumps({"job_id": "x", "metadata": {}})]
    for n, body in enumerate(poison):
        s.aws.sqs.send_message(
            QueueUrl=s.queue_url,
            MessageBody=body,
            MessageGroupId=f"poison-{n}",
            MessageDeduplicationId=f"p{n}",
        )
    tickets = [str(50_000 + n) for n in range(3)]
    for ticket in tickets:
        assert s.send(s.webhook_event(ticket))[0] == 202

    pumped = s.pump(max_receives=MAX_RECEIVE_COUNT + 5)

    assert sorted(s.dead_letters()) == sorted(poison)
    assert pumped.receive_counts.count(MAX_RECEIVE_COUNT) == len(poison)  # received 50 times, no more
    assert max(pumped.receive_counts) == MAX_RECEIVE_COUNT
    for ticket in tickets:
        assert len(s.vendor.notes(ticket)) == 1
        assert s.job(ticket)["state"] == "done"
    assert len(s.vendor.writes()) == len(tickets)
    assert s.queued() == 0


class FailingBedrock:
    def __init__(self) -> None:
        self.calls = 0

    def converse(self, **_: Any) -> Any:
        self.calls += 1
        raise aws_error("ServiceUnavailableException", "Converse")


@pytest.mark.parametrize("provider", ["bedrock", "openai"])
def test_model_provider_failing_still_yields_one_offline_note(system: SystemFactory, provider: str) -> None:
    """The model provider failing (Bedrock ``ServiceUnavailableException``, an OpenAI-compatible
    endpoint answering 503): the note is the offline note, with the line "Unavailable for this note:
    AI summary (error)"; the job is ``done`` (not retried, not dead-lettered). One note."""
    bedrock = FailingBedrock()
    options = {"synthesis_provider": provider}
    if provider == "openai":
        options |= {"synthesis_endpoint": f"https://{Vendor.LLM_HOST}/v1", "synthesis_model": "m-1"}
    s = system("freshservice", options=options, bedrock=lambda: bedrock)
    if provider == "openai":
        secret_id = f"ticket-enhancer/freshservice/{s.tenant.tenant_id}"
        document = json.loads(s.aws.secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"])
        s.aws.secretsmanager.put_secret_value(
            SecretId=secret_id, SecretString=json.dumps({**document, "llm_api_key": "sk-test"})
        )
    assert s.send(s.webhook_event())[0] == 202

    pumped = s.pump()

    assert pumped.receive_counts == [1]
    note = s.assert_one_note()
    assert "Unavailable for this note: AI summary (error)" in note["body"]
    assert (bedrock.calls, s.vendor.llm_requests) == ((1, 0) if provider == "bedrock" else (0, 1))
    record = s.job()
    assert record["provider"] == "offline"
    assert "synthesis" in record["unavailable"]


def test_lasting_vendor_outage_gives_the_job_up_after_five_attempts(system: SystemFactory) -> None:
    """A vendor down for longer than the job's real attempts (5): the 5th failed attempt ends the job
    ``failed`` with its reason (metric JobsFailed, alarmed), the message is acknowledged: nothing in
    the DLQ, no note, no endless retries. maxReceiveCount (50) stays for poison messages."""
    s = system("jira")
    s.vendor.sandbox.fail_next("jira", 503, count=1000)
    assert s.send(s.webhook_event())[0] == 202

    pumped = s.pump()

    assert pumped.receive_counts == [1, 2, 3, 4, 5]
    record = s.job()
    assert (record["state"], record["attempts"]) == ("failed", MAX_ATTEMPTS)
    assert record["last_error"].startswith("gave up after 5 attempts: jira get_ticket: HTTP 503")
    assert s.vendor.notes() == []
    assert s.queued() == 0
    assert s.dead_letters() == []


def defer_until_done(s: System) -> tuple[list[int], list[int]]:
    """Receive, and let each deferral's wait pass, until the queue is empty: the receive counts seen
    and the visibility each deferral asked for."""
    receive_counts: list[int] = []
    waits: list[int] = []
    while s.queued():
        pumped = s.pump(drain=False)
        receive_counts += pumped.receive_counts
        assert len(receive_counts) < MAX_RECEIVE_COUNT, "deferrals must not exhaust maxReceiveCount"
        if not pumped.deferred:
            continue
        [deferred] = pumped.deferred
        waits.append(s.worker_sqs.visibility[deferred["ReceiptHandle"]])
        s.elapse(waits[-1])
    return receive_counts, waits


def test_rate_limit_deferrals_do_not_count_and_a_job_gives_up_at_24_hours(system: SystemFactory) -> None:
    """A vendor rate limiting for a day (Retry-After: 3600 on every call): each receive is a deferral,
    never an attempt, so the job is not given up after 5 receives; the waits are the hour, then grow
    (60 s x 2^deferrals, capped at 12 h) and stop just short of the job's maximum age (24 h from its
    record's created_at), where the last try gives up ``failed``. Never the DLQ."""
    s = system("zendesk")
    s.vendor.sandbox.fail_next("zendesk", 429, count=1000, retry_after=3600)
    assert s.send(s.webhook_event())[0] == 202

    receive_counts, waits = defer_until_done(s)

    record = s.job()
    assert record["state"] == "failed"
    assert record["last_error"].startswith("gave up: rate limited past the job's maximum age")
    assert record["attempts"] == 1  # the last one, counted when giving up
    assert record["deferrals"] == len(waits) == 11
    assert all(3600 <= wait <= 3660 for wait in waits[:6])  # the vendor's hour, up to 60 s x 2^5
    assert waits[6:10] == sorted(waits[6:10])  # then doubling
    assert waits[9] >= 30_720
    assert receive_counts == list(range(1, len(waits) + 2))
    assert 86_400 - 60 <= record["completed_at"] - record["created_at"] <= 86_400
    assert s.vendor.notes() == []
    assert s.dead_letters() == []


def test_a_vendor_always_answering_retry_after_60_never_sends_the_job_to_the_dlq(
    system: SystemFactory,
) -> None:
    """Retry-After: 60 on every call, for ever. With one deferral of 60 s per receive the job would
    reach maxReceiveCount (50) after ~50 minutes and the DLQ. Deferrals grow instead: 60 s x
    2^deferrals (plus up to 10 % jitter, at most 60 s), capped at SQS's 12 h and never past the job's
    maximum age, so the job reaches its 24 h within 12 receives and ends ``failed`` there with its
    reason; nothing in the DLQ, no note."""
    s = system("servicenow")
    s.vendor.sandbox.fail_next("servicenow", 429, count=1000, retry_after=60)
    assert s.send(s.webhook_event())[0] == 202

    receive_counts, waits = defer_until_done(s)

    for n, wait in enumerate(waits[:10]):
        assert 60 * 2**n <= wait <= 60 * 2**n + 60  # doubling, jitter at most 60 s (~17 h in all)
    assert sum(waits) == pytest.approx(86_400, abs=60)  # the 11th: the rest of the 24 h, not 12 h
    assert receive_counts == list(range(1, 13))  # 11 deferrals and the last try, not 50
    record = s.job()
    assert (record["state"], record["attempts"], record["deferrals"]) == ("failed", 1, 11)
    assert record["last_error"].startswith("gave up: rate limited past the job's maximum age")
    assert "429" in record["last_error"]
    assert 86_400 - 60 <= record["completed_at"] - record["created_at"] <= 86_400
    assert s.vendor.notes() == []
    assert s.queued() == 0
    assert s.dead_letters() == []


def test_re_deliveries_after_the_job_finished_add_nothing(system: SystemFactory) -> None:
    """A tool re-sending a delivery after its note was posted: ``200 duplicate`` and nothing queued
    (the delivery record says ``done``); a racing copy that was queued anyway finds the job done."""
    s = system("servicenow")
    event = s.webhook_event()
    status, first = s.send(event)
    assert status == 202
    s.pump()
    for _ in range(3):
        assert s.send(event) == (200, {"status": "duplicate", "job_id": first["job_id"]})
    assert s.queued() == 0
    s.assert_one_note()
    [record] = s.aws.delivery_records()
    assert record["state"] == {"S": "done"}


# -- deadlines, deferrals, fair sharing (issue 14) --------------------------------------------------


def two_tenants_one_batch(s: System, behaviour: str) -> tuple[Tenant, Pumped]:
    """Tenant A's ticket 70001 meets ``behaviour`` at the vendor; tenant B's 70002 is served; both
    records arrive in one batch (one receive, one invocation)."""
    other = s.add_tenant()
    s.vendor.hostile["70001"] = behaviour
    assert s.send(s.webhook_event("70001"))[0] == 202
    assert s.send(s.webhook_event("70002", tenant=other))[0] == 202
    pumped = s.pump(max_receives=1, drain=False)
    assert pumped.invocations == 1
    assert pumped.receive_counts == [1, 1]
    return other, pumped


@pytest.mark.parametrize("behaviour", ["silent", "trickle", "huge", "bomb"])
def test_a_hostile_vendor_answer_fails_its_record_alone(system: SystemFactory, behaviour: str) -> None:
    """A vendor that never answers, trickles a byte every 0.2 s, sends 64 MiB of body or a 64 MiB gzip
    bomb, for one tenant's ticket: that record is cut off (the invocation's deadline: 1.5 s of a
    6.5 s remaining time less the 5 s margin; bodies at 4 MiB decoded) and fails alone, its lease
    released; the other tenant's record in the same batch is posted. Nothing reaches the DLQ, and once
    the vendor behaves the first ticket gets its one note."""
    s = system("zendesk")
    s.context = LambdaContext(6_500)
    started = time.monotonic()

    _, pumped = two_tenants_one_batch(s, behaviour)

    assert time.monotonic() - started < 6.5  # never held past the invocation's time
    assert pumped.failed_records == 1
    assert len(s.vendor.notes("70002")) == 1
    assert s.vendor.notes("70001") == []
    record = s.job("70001")
    assert (record["state"], record["lease_until"], record["attempts"]) == ("processing", 0, 1)
    assert s.dead_letters() == []
    del s.vendor.hostile["70001"]
    s.context = None
    s.pump()
    assert len(s.vendor.notes("70001")) == 1
    assert len(s.vendor.notes("70002")) == 1
    assert s.dead_letters() == []


def test_429_retry_after_an_hour_defers_that_record_and_posts_the_other(system: SystemFactory) -> None:
    """429 with Retry-After: 3600 for tenant A's ticket, beside tenant B's in the same batch: A's record
    is put back with its visibility set to the hour (plus jitter), its job record counts a deferral
    (no attempt); B's note is posted at once. Nothing reaches the DLQ; after the hour A posts once."""
    s = system("servicenow")

    _, pumped = two_tenants_one_batch(s, "limited")

    assert len(s.vendor.notes("70002")) == 1
    [deferred] = pumped.deferred
    wait = s.worker_sqs.visibility[deferred["ReceiptHandle"]]
    assert 3600 <= wait <= 3660
    record = s.job("70001")
    assert (record["attempts"], record["deferrals"], record["lease_until"]) == (0, 1, 0)
    assert record["deferred_until"] >= record["updated_at"] + 3600
    assert s.queued() == 1  # still on the queue, invisible
    assert s.pump(drain=False).receive_counts == []  # not before its time
    assert s.dead_letters() == []

    del s.vendor.hostile["70001"]
    s.elapse(wait)
    assert s.pump().receive_counts == [2]
    assert len(s.vendor.notes("70001")) == 1
    assert len(s.vendor.notes("70002")) == 1
    assert s.dead_letters() == []


def test_on_the_local_stack_retry_after_an_hour_waits_a_scaled_minute(system: SystemFactory) -> None:
    """The same 429 with Retry-After: 3600 on the local stack (time scale 60, ``local up``'s default):
    the record's visibility is the hour divided by the factor (plus the jitter's share), so a local
    test is not held an hour; the job record still counts a deferral, no attempt, nothing in the DLQ."""
    s = system("servicenow")
    s.worker.time_scale = 60.0

    _, pumped = two_tenants_one_batch(s, "limited")

    assert len(s.vendor.notes("70002")) == 1
    [deferred] = pumped.deferred
    wait = s.worker_sqs.visibility[deferred["ReceiptHandle"]]
    assert 60 <= wait <= 61
    record = s.job("70001")
    assert (record["attempts"], record["deferrals"]) == (0, 1)
    assert record["updated_at"] + 60 <= record["deferred_until"] <= record["updated_at"] + 62
    del s.vendor.hostile["70001"]
    s.elapse(wait)
    assert s.pump().receive_counts == [2]
    assert len(s.vendor.notes("70001")) == 1
    assert s.dead_letters() == []


def test_a_job_crashing_every_time_gives_up_after_five_attempts(
    system: SystemFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attempt that never reports (the execution environment dies each time) still counts: the
    6th claim finds 5 attempts made and ends the job ``failed``, acknowledged, not dead-lettered."""
    s = system("jira")
    assert s.send(s.webhook_event())[0] == 202

    def die(*_: Any, **__: Any) -> Any:
        raise ProcessDied

    monkeypatch.setattr(type(s.worker.plugin), "get_ticket", die)
    pumped = s.pump()

    assert pumped.crashed == MAX_ATTEMPTS
    assert pumped.receive_counts == [1, 2, 3, 4, 5, 6]
    record = s.job()
    assert record["state"] == "failed"
    assert record["last_error"].startswith("gave up after 5 attempts")
    assert s.dead_letters() == []


def test_one_tenants_burst_does_not_delay_another_tenants_ticket(system: SystemFactory) -> None:
    """Fair sharing: tenant A sends 100 tickets, tenant B one right after. Five pollers (the worker's
    MaximumConcurrency) receive a batch each per round, as Lambda's event source mapping does, then
    the round's invocations run (each a batch duration; the vendor's delay is one round). A's
    deliveries share 2 message groups (TENANT_SHARDS), so at most 2 of A's batches are in flight and
    a free poller receives B's: B's note is posted in the first round, within one batch duration.
    (With a group per delivery, as before, B's was 101st in line: round 3 of 5 x 10.) All of A's 100
    notes are posted exactly once; nothing in the DLQ."""
    s = system("freshservice")
    other = s.add_tenant()
    a_tickets = [str(80_000 + n) for n in range(100)]
    for ticket in a_tickets:
        assert s.send(s.webhook_event(ticket))[0] == 202
    assert s.send(s.webhook_event("89999", tenant=other))[0] == 202

    posted_round: dict[str, int] = {}
    for round_number in range(1, 60):
        batches = [
            s.aws.sqs.receive_message(
                QueueUrl=s.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
            for _ in range(5)
        ]
        if not any(batches):
            break
        for messages in filter(None, batches):
            event = {"Records": [lambda_record(m, QUEUE_ARN, "us-east-1") for m in messages]}
            done = succeeded(messages, Outcome("ok", result=s.worker(event, None)), report_failures=True)
            assert len(done) == len(messages)
            s.aws.sqs.delete_message_batch(
                QueueUrl=s.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(done)],
            )
        s.clock.offset += 2  # one batch duration (the vendor's delay)
        for ticket in [*a_tickets, "89999"]:
            if ticket not in posted_round and s.vendor.notes(ticket):
                posted_round[ticket] = round_number

    assert posted_round["89999"] == 1  # B: within one batch duration
    assert all(len(s.vendor.notes(t)) == 1 for t in a_tickets)  # A: every note, once
    assert len(s.vendor.writes()) == 101
    assert max(posted_round.values()) <= 10  # A: 10 records per round at the least (2 groups)
    assert s.queued() == 0
    assert s.dead_letters() == []
