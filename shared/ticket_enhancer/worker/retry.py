"""A job's failures: final errors, retries, deferrals for a vendor's rate limit, giving up.

:class:`RetryMixin` holds the steps of :class:`~ticket_enhancer.worker.job.WorkerHandler` that end
an attempt other than with a note: give up (``failed``), release the lease for a redelivery, or defer
the record (its visibility set to :func:`~ticket_enhancer.worker.deferral.deferral_seconds`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from ticket_enhancer.jobs import MAX_AGE_SECONDS, MAX_ATTEMPTS, Claim
from ticket_enhancer.plugins.errors import VendorRateLimitedError
from ticket_enhancer.retention import HISTORY
from ticket_enhancer.worker.deferral import DEFAULT_DEFERRAL_SECONDS, deferral_seconds, scaled_wait

# The last try is scheduled this long before the job's maximum age: a redelivery is never to the
# second, and a claim made past the age gives up without trying ("older than 24 h").
LAST_TRY_MARGIN_SECONDS = 30

if TYPE_CHECKING:
    from aws_lambda_powertools.logging import Logger
    from aws_lambda_powertools.metrics import Metrics
    from mypy_boto3_sqs import SQSClient

    from ticket_enhancer.jobs import JobStore
    from ticket_enhancer.tenants import TenantStore
    from ticket_enhancer.worker.batch import SqsRecord


class JobFailedError(Exception):
    """The job cannot succeed (final); recorded as failed and acknowledged."""


class JobDeferredError(Exception):
    """The vendor asked us to wait: the record stays on the queue, invisible until then."""


class RetryMixin:
    """The worker's failure steps (the fields are :class:`~ticket_enhancer.worker.job.WorkerHandler`'s)."""

    tenants: TenantStore
    jobs: JobStore
    logger: Logger
    metrics: Metrics
    sqs: SQSClient | None
    queue_url: str
    time_scale: float

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
            seconds = max(1, math.floor(left) - LAST_TRY_MARGIN_SECONDS)
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

    def _history_days(self, tenant_id: str) -> int | None:
        """The tenant's ``history_retention_days`` (from the tenant cache), or None for the default."""
        try:
            tenant = self.tenants.get(tenant_id)
        except Exception:  # the record keeps the deployment's default
            return None
        return HISTORY.for_tenant(tenant.config.options) if tenant else None
