"""The worker function of every tool: ``handler = make_worker_handler("jira")``.

Records of a batch are processed concurrently (``worker.batch``) and failures are reported per
record (``ReportBatchItemFailures``): only retryable failures go back to the queue (and after
``maxReceiveCount`` receives to the DLQ); final vendor errors (4xx other than 429) end the job as
``failed`` without DLQ churn. One event loop and one HTTP client per container, built at init,
so connections to a vendor are reused across invocations.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit

from ticket_enhancer import aws
from ticket_enhancer.jobs import Claim, JobStore, mark_delivery_done
from ticket_enhancer.models import EnhancementJob, Note
from ticket_enhancer.observability import make_logger, make_metrics
from ticket_enhancer.plugins.errors import VendorError, VendorUnavailableError
from ticket_enhancer.plugins.registry import plugin_for_function
from ticket_enhancer.tenants import TenantStore
from ticket_enhancer.urls import (
    BaseUrlError,
    HostResolutionError,
    Resolver,
    check_resolved_host,
    system_resolve,
)
from ticket_enhancer.worker.batch import SqsRecord, process_batch

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from ticket_enhancer.enhance.pipeline import Pipeline
    from ticket_enhancer.enhance.store import ContextStore
    from ticket_enhancer.plugins.base import TicketingToolPlugin
    from ticket_enhancer.plugins.context import TenantContext


class JobFailedError(Exception):
    """The job cannot succeed (final); recorded as failed and acknowledged."""


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

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            return self.loop.run_until_complete(process_batch(event, self.process_record, self._failed))
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

    async def process_record(self, record: SqsRecord) -> None:
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
        claim = await asyncio.to_thread(self.jobs.claim, job)
        if claim is None:
            self.logger.info("job already finished: redelivery ignored", extra=log)
            self.metrics.add_metric(name="JobsRedelivered", unit=MetricUnit.Count, value=1)
            return
        started = time.perf_counter()
        try:
            outcome = await self._run(job, claim)
        except (JobFailedError, VendorError) as exc:
            retryable = isinstance(exc, VendorError) and exc.retryable
            if retryable:
                await asyncio.to_thread(self.jobs.record_error, claim, str(exc))
                self.logger.warning("job will be retried", extra={**log, "error": str(exc)})
                self.metrics.add_metric(name="JobsRetried", unit=MetricUnit.Count, value=1)
                raise
            await asyncio.to_thread(self.jobs.finish, claim, state="failed", error=str(exc))
            self.logger.error("job failed", extra={**log, "error": str(exc)})
            self.metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
            return
        except Exception as exc:
            # AWS errors and the like: retried through the queue. Release the lease so that the
            # redelivery can claim the job (the local stack's scaled visibility timeout is far shorter
            # than the lease); if even that fails, the lease expires before the message is visible.
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.jobs.record_error, claim, f"{type(exc).__name__}: {exc}")
            raise
        self.metrics.add_metric(name="JobsSucceeded", unit=MetricUnit.Count, value=1)
        self.metrics.add_metric(
            name="JobLatency", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1000
        )
        self.logger.info("note posted" if outcome == "posted" else "note already present", extra=log)

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
                pinned = await asyncio.to_thread(check_resolved_host, base_url, self.resolve)
        except HostResolutionError as exc:
            raise VendorUnavailableError(str(exc), tool_type=self.tool, operation="resolve") from None
        except BaseUrlError as exc:
            raise JobFailedError(f"base URL refused: {exc}") from None
        return dataclasses.replace(tenant, http=self.http(), pinned_address=pinned)

    async def _run(self, job: EnhancementJob, claim: Claim) -> str:
        tenant = await self._tenant(job.tenant_id)
        ticket_id = job.metadata.ticket_id
        if claim.state == "posting" and await self.plugin.has_note(tenant, ticket_id, claim.job_id):
            # An earlier attempt posted the note but did not live to record it.
            await self._finish(job, claim, {}, [], None)
            return "found"
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
        await self._finish(job, claim, stage_ms, enhancement.unavailable, enhancement.provider)
        try:
            await asyncio.to_thread(self.store.index_ticket, job.tenant_id, ticket)
        except Exception:  # the index only improves later notes: never fail a posted job for it
            self.logger.exception("indexing the ticket failed", extra={"job_id": claim.job_id})
        return "posted"

    async def _finish(
        self,
        job: EnhancementJob,
        claim: Claim,
        stage_ms: dict[str, float],
        unavailable: list[str],
        provider: str | None,
    ) -> None:
        await asyncio.to_thread(
            self.jobs.finish,
            claim,
            state="done",
            stage_ms=stage_ms,
            unavailable=unavailable,
            provider=provider,
        )
        try:
            await asyncio.to_thread(
                mark_delivery_done, self.dynamodb, self.deliveries_table, job.metadata.dedupe_key
            )
        except Exception:  # an optimisation for late repeats only
            self.logger.info("delivery record not updated", extra={"job_id": claim.job_id})


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


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
) -> WorkerHandler:
    """Build the worker at import time (Lambda init): clients, plugin and pipeline are ready."""
    from ticket_enhancer.enhance.pipeline import build_default_pipeline
    from ticket_enhancer.enhance.store import ContextStore

    settings = os.environ if env is None else env
    dynamodb = dynamodb or aws.dynamodb(aws.WORKER_CONFIG)
    store = ContextStore(
        dynamodb,
        settings.get("CONTEXT_TABLE", "context"),
        cache_seconds=float(settings.get("CONTEXT_CACHE_SECONDS", "60")),
    )
    metrics = make_metrics(tool, settings)
    if pipeline is None:
        # Bedrock's client is made here with the others (Lambda init), not in a job's thread.
        factory = bedrock_client_factory or _constant(aws.bedrock_runtime())
        pipeline = build_default_pipeline(store, bedrock_client_factory=factory, resolve=resolve)
    return WorkerHandler(
        tool=tool,
        plugin=plugin or plugin_for_function(tool),
        tenants=TenantStore(
            dynamodb=dynamodb,
            secrets=secrets or aws.secretsmanager(aws.WORKER_CONFIG),
            table=settings.get("TENANTS_TABLE", "tenants"),
            tool=tool,
            kind="api",
            ttl=float(settings.get("TENANT_CACHE_SECONDS", "300")),
        ),
        jobs=JobStore(dynamodb, settings.get("JOBS_TABLE", "jobs")),
        store=store,
        pipeline=pipeline,
        dynamodb=dynamodb,
        deliveries_table=settings.get("DELIVERIES_TABLE", "deliveries"),
        logger=make_logger(settings),
        metrics=metrics,
        local=settings.get("TICKET_ENHANCER_LOCAL") == "1",
        http_client=httpx.AsyncClient(
            verify=True,  # httpx's default: certifi's CA bundle (or SSL_CERT_FILE), loaded once here
            transport=transport,
            timeout=httpx.Timeout(10.0, connect=3.0),
            follow_redirects=False,
        ),
        loop=asyncio.new_event_loop(),
        resolve=resolve,
    )
