"""The worker function of every tool: ``handler = make_worker_handler("jira")``.

Records of a batch are processed concurrently (``worker.batch``) and failures are reported per
record (``ReportBatchItemFailures``): only retryable failures go back to the queue (and after
``maxReceiveCount`` receives to the DLQ); final vendor errors (4xx other than 429) end the job as
``failed`` without DLQ churn. One event loop and one HTTP client per container, built at init,
so connections to a vendor are reused across invocations.

Issue 14: every record runs under a deadline (the context's remaining time less a margin); a record
out of time fails alone, its lease released. A vendor's rate limit (``VendorRateLimitedError``) is
a deferral: the message's visibility is set to the Retry-After or to 60 s doubled per deferral so
far, whichever is longer (at most SQS's 12 h, and never past the job's maximum age), the job record
counts a deferral instead of an attempt, and the record is reported failed so it stays queued. Every
deferral is a receive, so the growth keeps a job rate limited all day within about a dozen receives,
far below ``maxReceiveCount`` (50). A job gives up as ``failed`` after ``MAX_ATTEMPTS`` real attempts
or ``MAX_AGE_SECONDS``. On the local stack (``TICKET_ENHANCER_TIME_SCALE``, its documented factor,
default 60) a deferral's visibility is divided by that factor, as the queues' timings are: a
Retry-After of an hour holds the job a minute there.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit

from ticket_enhancer import aws
from ticket_enhancer.deadline import CURRENT, Deadline, DeadlineExceededError
from ticket_enhancer.jobs import MAX_AGE_SECONDS, MAX_ATTEMPTS, Claim, JobStore, mark_delivery_done
from ticket_enhancer.models import EnhancementJob, Note
from ticket_enhancer.observability import make_logger, make_metrics
from ticket_enhancer.plugins.errors import VendorError, VendorRateLimitedError, VendorUnavailableError
from ticket_enhancer.plugins.registry import plugin_for_function
from ticket_enhancer.retention import HISTORY, INDEX
from ticket_enhancer.settings import Settings
from ticket_enhancer.tenants import TenantStore
from ticket_enhancer.tokens import DynamoTokens, SharedTokens
from ticket_enhancer.urls import (
    BaseUrlError,
    HostResolutionError,
    IPNetwork,
    Resolver,
    check_resolved_host,
    system_resolve,
)
from ticket_enhancer.worker.batch import SqsRecord, process_batch
from ticket_enhancer.worker.deferral import (
    DEFAULT_DEFERRAL_SECONDS,
    MAX_VISIBILITY_SECONDS,
    deferral_seconds,
    scaled_wait,
    time_scale_from,
)
from ticket_enhancer.worker.outcome import fallback_metric, over_note_limit

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from ticket_enhancer.enhance.index_store import IndexStore
    from ticket_enhancer.enhance.pipeline import Enhancement, Pipeline
    from ticket_enhancer.enhance.store import ContextStore
    from ticket_enhancer.enhance.usage import UsageStore
    from ticket_enhancer.plugins.base import TicketingToolPlugin
    from ticket_enhancer.plugins.context import TenantContext


class JobFailedError(Exception):
    """The job cannot succeed (final); recorded as failed and acknowledged."""


__all__ = ["MAX_VISIBILITY_SECONDS", "WorkerHandler", "deferral_seconds", "make_worker_handler"]


class JobDeferredError(Exception):
    """The vendor asked us to wait: the record stays on the queue, invisible until then."""


@dataclass
class WorkerHandler:
    tool: str
    plugin: TicketingToolPlugin
    tenants: TenantStore
    jobs: JobStore
    store: ContextStore
    pipeline: Pipeline
    dynamodb: DynamoDBClient
    deliveries_table: str
    logger: Logger
    metrics: Metrics
    http_client: httpx.AsyncClient
    loop: asyncio.AbstractEventLoop
    local: bool = False
    resolve: Resolver = system_resolve
    sqs: SQSClient | None = None  # deferrals change the message's visibility on ...
    queue_url: str = ""  # ... the worker's own queue (QUEUE_URL)
    monotonic: Callable[[], float] = time.monotonic  # the deadline's clock
    time_scale: float = 1.0  # the local stack's factor: deferrals wait 1/time_scale as long
    usage: UsageStore | None = None  # daily_note_limit / daily_model_token_budget counters
    tokens: SharedTokens | None = None  # access tokens shared by the deployment's containers (Zoho)
    private_networks: tuple[IPNetwork, ...] = ()  # the operator's AllowedPrivateCidrs (workers in a VPC)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        deadline = Deadline.from_context(context, clock=self.monotonic)

        async def record_task(record: SqsRecord) -> None:
            await self.process_record(record, deadline)

        try:
            return self.loop.run_until_complete(process_batch(event, record_task, self._failed))
        finally:
            self.metrics.flush_metrics()

    def close(self) -> None:
        """Release the HTTP client and the event loop (tests; Lambda just freezes the container)."""
        self.loop.run_until_complete(self.http_client.aclose())
        self.loop.close()

    def _failed(self, record: SqsRecord, error: BaseException) -> None:
        self.logger.warning(
            "record failed: it will be redelivered",
            extra={
                "message_id": record.message_id,
                "receive_count": record.receive_count,
                "error": f"{type(error).__name__}: {error}"[:500],
            },
        )

    def http(self) -> httpx.AsyncClient:
        return self.http_client

    async def process_record(self, record: SqsRecord, deadline: Deadline | None = None) -> None:
        """One record under ``deadline`` (set for the vendor calls and pipeline steps it makes)."""
        deadline = deadline or Deadline.from_context(None, clock=self.monotonic)
        token = CURRENT.set(deadline)
        try:
            await self._process(record, deadline)
        finally:
            CURRENT.reset(token)

    async def _process(self, record: SqsRecord, deadline: Deadline) -> None:
        job = EnhancementJob.model_validate_json(record.body)  # a poison message fails -> DLQ
        log = {
            "job_id": job.job_id,
            "tenant_id": job.tenant_id,
            "ticket_id": job.metadata.ticket_id,
            "receive_count": record.receive_count,
        }
        if job.tool_type != self.tool:
            self.logger.error("job for another tool ignored", extra={**log, "job_tool": job.tool_type})
            self.metrics.add_metric(name="JobsIgnored", unit=MetricUnit.Count, value=1)
            return
        if deadline.expired:
            raise DeadlineExceededError("no time left in this invocation")
        claim = await asyncio.to_thread(self.jobs.claim, job)
        if claim is None:
            self.logger.info("job already finished: redelivery ignored", extra=log)
            self.metrics.add_metric(name="JobsRedelivered", unit=MetricUnit.Count, value=1)
            return
        reason = claim.gave_up(self.jobs.now())
        if reason is not None:  # crashed attempts count too: this claim would be one too many
            last = f": {claim.last_error}" if claim.last_error else ""
            await self._give_up(claim, f"{reason} ({claim.deferrals} deferrals){last}", log)
            return
        await self._attempt(record, job, claim, deadline, log)

    async def _attempt(
        self, record: SqsRecord, job: EnhancementJob, claim: Claim, deadline: Deadline, log: dict[str, Any]
    ) -> None:
        """One attempt at a claimed job; raises when the record must stay on the queue."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(deadline.remaining()):
                outcome = await self._run(job, claim)
        except VendorRateLimitedError as exc:
            if not await self._defer(record, claim, exc, log):
                raise JobDeferredError(str(exc)) from None
            return
        except (JobFailedError, VendorError) as exc:
            if isinstance(exc, VendorError) and exc.retryable:
                if not await self._retry_or_give_up(claim, str(exc), log):
                    raise
                return
            history = await asyncio.to_thread(self._history_days, job.tenant_id)
            await asyncio.to_thread(
                self.jobs.finish, claim, state="failed", error=str(exc), history_days=history
            )
            self.logger.error("job failed", extra={**log, "error": str(exc)})
            self.metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
            alarm = exc.alarm if isinstance(exc, VendorError) else None
            if alarm:  # a person must act (credentials, a public note): the template alarms on it
                self.metrics.add_metric(name=alarm, unit=MetricUnit.Count, value=1)
            return
        except TimeoutError as exc:
            # Out of time (the deadline): a real attempt; the rest of the batch goes on.
            if not await self._retry_or_give_up(claim, "DeadlineExceeded: the record ran out of time", log):
                raise DeadlineExceededError("the record ran out of time") from exc
            return
        except Exception as exc:
            # AWS errors and the like: retried through the queue. Release the lease so that the
            # redelivery can claim the job (the local stack's scaled visibility timeout is far shorter
            # than the lease); if even that fails, the lease expires before the message is visible.
            if not await self._retry_or_give_up(claim, f"{type(exc).__name__}: {exc}", log):
                raise
            return
        self.metrics.add_metric(name="JobsSucceeded", unit=MetricUnit.Count, value=1)
        self.metrics.add_metric(
            name="JobLatency", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1000
        )
        said = {"posted": "note posted", "skipped": "no note: daily note limit"}.get(
            outcome, "note already present"
        )
        self.logger.info(said, extra=log)

    async def _give_up(self, claim: Claim, reason: str, log: dict[str, Any]) -> None:
        tenant_id = claim.job_key.split("#", 2)[1]  # <tool>#<tenant>#<ticket>#<event>
        history = await asyncio.to_thread(self._history_days, tenant_id)
        await asyncio.to_thread(self.jobs.finish, claim, state="failed", error=reason, history_days=history)
        self.logger.error("job gave up", extra={**log, "error": reason})
        self.metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)

    async def _retry_or_give_up(self, claim: Claim, error: str, log: dict[str, Any]) -> bool:
        """A real attempt failed: release the lease for a redelivery (False), or give up at the
        last attempt or past the maximum age (True: the record is acknowledged)."""
        age = self.jobs.now() - claim.created_at if claim.created_at else 0.0
        if claim.attempts >= MAX_ATTEMPTS or age > MAX_AGE_SECONDS:
            why = f"after {claim.attempts} attempts" if claim.attempts >= MAX_ATTEMPTS else "too old"
            try:
                await self._give_up(claim, f"gave up {why}: {error}", log)
            except Exception:  # the next claim gives up instead
                self.logger.warning("giving up failed: the redelivery will", extra=log)
            else:
                return True
        with contextlib.suppress(Exception):  # else the lease expires before the message is visible
            await asyncio.to_thread(self.jobs.record_error, claim, error)
        self.logger.warning("job will be retried", extra={**log, "error": error})
        self.metrics.add_metric(name="JobsRetried", unit=MetricUnit.Count, value=1)
        return False

    async def _defer(
        self, record: SqsRecord, claim: Claim, exc: VendorRateLimitedError, log: dict[str, Any]
    ) -> bool:
        """Put the record back for the vendor's wait (growing with the job's deferrals, never past its
        maximum age); True when the job gave up instead: the vendor's own wait passes that age."""
        seconds = deferral_seconds(exc.retry_after, claim.deferrals)
        now = self.jobs.now()
        vendor_wait = DEFAULT_DEFERRAL_SECONDS if exc.retry_after is None else exc.retry_after
        left = claim.created_at + MAX_AGE_SECONDS - now if claim.created_at else math.inf
        if vendor_wait > left:
            try:
                await self._give_up(claim, f"gave up: rate limited past the job's maximum age: {exc}", log)
            except Exception:  # deferred as usual; the next claim gives up
                self.logger.warning("giving up failed: the redelivery will", extra=log)
            else:
                return True
        elif left < seconds:  # our own growth stops just short of the maximum age: one last try then
            seconds = max(1, math.floor(left))
        seconds = scaled_wait(seconds, self.time_scale)
        if self.sqs is not None and self.queue_url and record.receipt_handle:
            try:
                await asyncio.to_thread(
                    self.sqs.change_message_visibility,
                    QueueUrl=self.queue_url,
                    ReceiptHandle=record.receipt_handle,
                    VisibilityTimeout=seconds,
                )
            except Exception:  # the queue's own visibility timeout brings it back sooner: deferred again
                self.logger.warning("deferral: visibility not changed", extra=log)
        with contextlib.suppress(Exception):  # else the lease expires before the message is visible
            await asyncio.to_thread(self.jobs.defer, claim, until=now + seconds, reason=str(exc))
        self.logger.info("job deferred", extra={**log, "error": str(exc), "deferred_s": seconds})
        self.metrics.add_metric(name="JobsDeferred", unit=MetricUnit.Count, value=1)
        return False

    async def tenant_context(self, tenant_id: str) -> TenantContext:
        """The tenant as a job sees it (checked, pinned, with the HTTP client); the ops function's too."""
        return await self._tenant(tenant_id)

    async def _tenant(self, tenant_id: str) -> TenantContext:
        tenant = await asyncio.to_thread(self.tenants.get, tenant_id)
        if tenant is None:
            raise JobFailedError("tenant is unknown, disabled or of another tool")
        options, base_url = tenant.config.options, tenant.config.base_url
        pinned: str | None = None
        try:
            self.plugin.check_base_url(
                base_url,
                local=self.local,
                allow_custom_host=options.get("allow_custom_host") == "true",
                options=options,
            )
            # A host off the vendor's own domains (on-prem, a custom domain) is the tenant's to
            # resolve: checked to be public, then pinned for the job.
            if not self.local and self.plugin.pins_host(base_url, options):
                pinned = await asyncio.to_thread(
                    check_resolved_host, base_url, self.resolve, self.private_networks
                )
        except HostResolutionError as exc:
            raise VendorUnavailableError(str(exc), tool_type=self.tool, operation="resolve") from None
        except BaseUrlError as exc:
            raise JobFailedError(f"base URL refused: {exc}") from None
        return dataclasses.replace(tenant, http=self.http(), pinned_address=pinned, tokens=self.tokens)

    async def _run(self, job: EnhancementJob, claim: Claim) -> str:
        tenant = await self._tenant(job.tenant_id)
        ticket_id = job.metadata.ticket_id
        if claim.state == "posting" and await self.plugin.has_note(tenant, ticket_id, claim.job_id):
            # An earlier attempt posted the note but did not live to record it.
            await self._finish(job, claim, {}, None)
            return "found"
        skipped = await over_note_limit(self.usage, tenant.config.options, job.tenant_id, claim.job_id)
        if skipped is not None:  # no note today: recorded in the job's history and counted
            history = await asyncio.to_thread(self._history_days, job.tenant_id)
            await asyncio.to_thread(
                self.jobs.finish, claim, state="done", skipped=skipped, history_days=history
            )
            self.metrics.add_metric(name="NotesOverDailyLimit", unit=MetricUnit.Count, value=1)
            return "skipped"
        stage_ms: dict[str, float] = {}
        started = time.perf_counter()
        ticket = await self.plugin.get_ticket(tenant, ticket_id)
        stage_ms["fetch"] = (time.perf_counter() - started) * 1000
        enhancement = await self.pipeline.enhance(tenant, ticket, claim.job_id)
        stage_ms.update(enhancement.stage_ms)
        await asyncio.to_thread(self.jobs.mark_posting, claim)
        started = time.perf_counter()
        await self.plugin.update_ticket(
            tenant, ticket_id, Note(markdown=enhancement.markdown, job_id=claim.job_id)
        )
        stage_ms["post"] = (time.perf_counter() - started) * 1000

        async def index() -> None:
            try:
                days = INDEX.for_tenant(tenant.config.options)  # None: the deployment's default
                await asyncio.to_thread(self.store.index_ticket, job.tenant_id, ticket, retention_days=days)
            except Exception:  # the index only improves later notes: never fail a posted job for it
                self.logger.exception("indexing the ticket failed", extra={"job_id": claim.job_id})

        # The note is posted: the job's record, the delivery's and the index are independent writes.
        await asyncio.gather(self._finish(job, claim, stage_ms, enhancement), index())
        metric = fallback_metric(enhancement.fallback_reason)
        if metric is not None:
            self.metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
        return "posted"

    async def _finish(
        self,
        job: EnhancementJob,
        claim: Claim,
        stage_ms: dict[str, float],
        enhancement: Enhancement | None,
    ) -> None:
        async def delivery() -> None:
            try:
                await asyncio.to_thread(
                    mark_delivery_done, self.dynamodb, self.deliveries_table, job.metadata.dedupe_key
                )
            except Exception:  # an optimisation for late repeats only
                self.logger.info("delivery record not updated", extra={"job_id": claim.job_id})

        def record() -> None:  # one thread hop: the tenant (cached) for its retention, then the write
            done = enhancement
            self.jobs.finish(
                claim,
                state="done",
                stage_ms=stage_ms,
                unavailable=done.unavailable if done else None,
                provider=done.provider if done else None,
                reasons=done.reasons if done else None,
                fallback_from=done.fallback_from if done else None,
                history_days=self._history_days(job.tenant_id),
            )

        # Independent writes, made at once (a batch's records would otherwise queue them one by one).
        await asyncio.gather(asyncio.to_thread(record), delivery())

    def _history_days(self, tenant_id: str) -> int | None:
        """The tenant's ``history_retention_days`` (from the tenant cache), or None for the default."""
        try:
            tenant = self.tenants.get(tenant_id)
        except Exception:  # the record keeps the deployment's default
            return None
        return HISTORY.for_tenant(tenant.config.options) if tenant else None


# Threads for the blocking AWS calls (``asyncio.to_thread``) of a batch's records at once: asyncio's
# default pool has min(32, CPUs + 4) threads, 6 on a 2-vCPU Lambda, so 10 records' calls queued
# behind each other. Threads start on demand (none at init); botocore's pool matches (aws.WORKER_CONFIG).
AWS_THREADS = 32


def _event_loop() -> asyncio.AbstractEventLoop:
    from concurrent.futures import ThreadPoolExecutor

    loop = asyncio.new_event_loop()
    loop.set_default_executor(ThreadPoolExecutor(AWS_THREADS, thread_name_prefix="aws"))
    return loop


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


def _index_store(dynamodb: DynamoDBClient, settings: Settings, s3: Any) -> IndexStore | None:
    """The tenants' search indexes (S3 bucket ``CONTEXT_INDEX_BUCKET``); ``None`` when not configured.

    The S3 client is made on the first index read, not at init: most jobs find the index cached,
    and a cold start does not pay for a fourth client.
    """
    if not settings.context_index_bucket:
        return None
    from ticket_enhancer.enhance.index_store import IndexStore, LazyClient

    client = s3 or LazyClient(lambda: aws.s3(aws.WORKER_CONFIG))
    return IndexStore(dynamodb, settings.context_table or "", client, settings.context_index_bucket)


def make_worker_handler(
    tool: str,
    *,
    dynamodb: DynamoDBClient | None = None,
    secrets: Any = None,
    plugin: TicketingToolPlugin | None = None,
    pipeline: Pipeline | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    env: Mapping[str, str] | None = None,
    bedrock_client_factory: Callable[[], Any] | None = None,
    resolve: Resolver = system_resolve,
    sqs: SQSClient | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    clock: Callable[[], float] = time.time,  # the job records' (leases, ages)
    s3: Any = None,
) -> WorkerHandler:
    """Build the worker at import time (Lambda init): settings checked, clients, plugin, pipeline."""
    from ticket_enhancer.enhance.pipeline import build_default_pipeline
    from ticket_enhancer.enhance.store import ContextStore
    from ticket_enhancer.enhance.usage import UsageStore

    settings = Settings.for_worker(os.environ if env is None else env)
    dynamodb = dynamodb or aws.dynamodb(aws.WORKER_CONFIG)
    store = ContextStore(
        dynamodb,
        settings.context_table or "",
        cache_seconds=settings.context_cache_seconds,
        index_retention_days=settings.index_retention_days,
    )
    usage = UsageStore(dynamodb, settings.context_table or "")
    metrics = make_metrics(tool, settings)
    if sqs is None and settings.queue_url:  # Lambda: the worker's own queue, for deferrals
        sqs = aws.sqs(aws.WORKER_CONFIG)
    if pipeline is None:
        # Bedrock's client is made here with the others (Lambda init), not in a job's thread.
        factory = bedrock_client_factory or _constant(aws.bedrock_runtime())
        pipeline = build_default_pipeline(
            store,
            index=_index_store(dynamodb, settings, s3),
            bedrock_client_factory=factory,
            resolve=resolve,
            local=settings.local,
            usage=usage,
        )
    return WorkerHandler(
        tool=tool,
        plugin=plugin or plugin_for_function(tool),
        tenants=TenantStore(
            dynamodb=dynamodb,
            secrets=secrets or aws.secretsmanager(aws.WORKER_CONFIG),
            table=settings.tenants_table,
            tool=tool,
            kind="api",
            ttl=settings.tenant_cache_seconds,
        ),
        jobs=JobStore(
            dynamodb, settings.jobs_table or "", history_days=settings.history_retention_days, clock=clock
        ),
        store=store,
        pipeline=pipeline,
        dynamodb=dynamodb,
        deliveries_table=settings.deliveries_table,
        logger=make_logger(settings),
        metrics=metrics,
        local=settings.local,
        http_client=httpx.AsyncClient(
            verify=True,  # httpx's default: certifi's CA bundle (or SSL_CERT_FILE), loaded once here
            transport=transport,
            timeout=httpx.Timeout(10.0, connect=3.0),
            follow_redirects=False,
        ),
        loop=_event_loop(),
        resolve=resolve,
        sqs=sqs,
        queue_url=settings.queue_url or "",
        monotonic=monotonic,
        time_scale=time_scale_from(os.environ if env is None else env),
        usage=usage,
        tokens=DynamoTokens(dynamodb, settings.context_table or ""),
        # A malformed or non-private CIDR failed the init (Settings): the operator sees it at once.
        private_networks=settings.private_networks,
    )
