"""The worker's per-record job flow: claim, attempt (tenant, ticket, pipeline, note), record the outcome.

:class:`WorkerHandler` is the Lambda handler that :func:`~ticket_enhancer.worker.handler.make_worker_handler`
builds; its failure steps (give up, retry, defer) are :class:`~ticket_enhancer.worker.retry.RetryMixin`'s.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from aws_lambda_powertools.metrics import MetricUnit

from ticket_enhancer.deadline import CURRENT, Deadline, DeadlineExceededError
from ticket_enhancer.enhance.store import shared_reads
from ticket_enhancer.jobs import Claim, JobStore, mark_delivery_done
from ticket_enhancer.models import EnhancementJob, Note
from ticket_enhancer.plugins.errors import VendorError, VendorRateLimitedError, VendorUnavailableError
from ticket_enhancer.retention import INDEX
from ticket_enhancer.tenants import TenantStore
from ticket_enhancer.tokens import SharedTokens
from ticket_enhancer.urls import (
    BaseUrlError,
    HostResolutionError,
    IPNetwork,
    Resolver,
    check_resolved_host,
    system_resolve,
)
from ticket_enhancer.worker.batch import SqsRecord, process_batch
from ticket_enhancer.worker.outcome import fallback_metric, over_note_limit
from ticket_enhancer.worker.retry import JobDeferredError, JobFailedError, RetryMixin

if TYPE_CHECKING:
    from aws_lambda_powertools.logging import Logger
    from aws_lambda_powertools.metrics import Metrics
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from ticket_enhancer.enhance.pipeline import Enhancement, Pipeline
    from ticket_enhancer.enhance.store import ContextStore
    from ticket_enhancer.enhance.usage import UsageStore
    from ticket_enhancer.plugins.base import TicketingToolPlugin
    from ticket_enhancer.plugins.context import TenantContext


@dataclass
class WorkerHandler(RetryMixin):
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
            # The records' tasks inherit the scope: they share the tenant reads they have in common.
            with shared_reads():
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
