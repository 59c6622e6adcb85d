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

The per-record job flow is :mod:`ticket_enhancer.worker.job` (:class:`WorkerHandler`), its failure
steps :mod:`ticket_enhancer.worker.retry`, the deferral waits :mod:`ticket_enhancer.worker.deferral`;
this module builds the handler.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

import httpx

from ticket_enhancer import aws
from ticket_enhancer.jobs import JobStore
from ticket_enhancer.observability import make_logger, make_metrics
from ticket_enhancer.plugins.registry import plugin_for_function
from ticket_enhancer.settings import Settings
from ticket_enhancer.tenants import TenantStore
from ticket_enhancer.tokens import DynamoTokens
from ticket_enhancer.urls import Resolver, system_resolve
from ticket_enhancer.worker.deferral import (
    DEFAULT_DEFERRAL_SECONDS,
    MAX_VISIBILITY_SECONDS,
    deferral_seconds,
    time_scale_from,
)
from ticket_enhancer.worker.job import WorkerHandler
from ticket_enhancer.worker.retry import JobDeferredError, JobFailedError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from ticket_enhancer.enhance.index_store import IndexStore
    from ticket_enhancer.enhance.pipeline import Pipeline
    from ticket_enhancer.plugins.base import TicketingToolPlugin

__all__ = [
    "AWS_THREADS",
    "DEFAULT_DEFERRAL_SECONDS",
    "MAX_VISIBILITY_SECONDS",
    "JobDeferredError",
    "JobFailedError",
    "WorkerHandler",
    "deferral_seconds",
    "make_worker_handler",
]


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
    from ticket_enhancer.enhance.index_store import IndexStore

    client = s3 or aws.LazyClient(lambda: aws.s3(aws.WORKER_CONFIG))
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
    count_usage: bool = True,  # False: the ops function's preview, which records nothing
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
    usage = UsageStore(dynamodb, settings.context_table or "") if count_usage else None
    metrics = make_metrics(tool, settings)
    if sqs is None and settings.queue_url:  # Lambda: the worker's own queue, for deferrals only
        # Made on the first deferral (a vendor's rate limit), not at init: most jobs never defer.
        sqs = cast("SQSClient", aws.LazyClient(lambda: aws.sqs(aws.WORKER_CONFIG)))
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
