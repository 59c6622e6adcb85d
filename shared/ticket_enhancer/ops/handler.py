"""The ops function of every tool: ``handler = make_ops_handler("jira")``.

Events (the CLI invokes it; EventBridge Scheduler sends the scheduled ones):

* ``{"action": "sync", "tenant_id", "history_days"?, "history"?, "knowledge"?}``: the CLI's
  ``tenants sync`` (invoked asynchronously; the CLI follows the checkpoints). Syncs until done or
  out of time; an unfinished tenant stays in the pending set for the next invocation.
* ``{"action": "preview", "tenant_id", "ticket_id"}``: the CLI's ``tenants preview`` (invoked
  synchronously): fetch the ticket, gather context, synthesise and render it with the tenant's
  plugin, as the worker does, and return it. Posts nothing, records nothing (no job, no index).
* ``{"action": "scheduled"}``: the daily schedule: every enabled tenant of the tool (but those with
  ``sync_schedule=off``) joins the pending set, then as ``continue``.
* ``{"action": "continue"}``: the frequent schedule: continues the pending tenants' syncs from
  their checkpoints while the invocation has time (a long import spans invocations).

Permissions (template): its tool's API secrets (never the webhook secrets), the tenants table
(read), the ContextTable, the index bucket. The tenant comes from the event, checked like the
worker's (tool, enabled, base URL policy, address pinning: ``WorkerHandler.tenant_context``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from ticket_enhancer import aws
from ticket_enhancer.deadline import CURRENT, Deadline
from ticket_enhancer.models import Note
from ticket_enhancer.plugins.errors import VendorError
from ticket_enhancer.retention import INDEX
from ticket_enhancer.settings import Settings
from ticket_enhancer.sync.checkpoint import SOURCES, CheckpointStore, LeaseHeldError
from ticket_enhancer.sync.engine import (
    DEFAULT_HISTORY_DAYS,
    IndexBuilder,
    NoIndex,
    SyncEngine,
    SyncOutcome,
    SyncRequest,
)
from ticket_enhancer.sync.ratelimit import (
    HISTORY_DAYS_OPTION,
    SCHEDULE_OPTION,
    OptionError,
    RateLimitedTransport,
    TokenBucket,
    sync_rate_per_minute,
)
from ticket_enhancer.sync.store import DynamoRecordStore
from ticket_enhancer.tenants import valid_tenant_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from ticket_enhancer.plugins.context import TenantContext
    from ticket_enhancer.worker.handler import WorkerHandler

logger = logging.getLogger(__name__)

PREVIEW_JOB_ID = "preview"
SAFETY_MARGIN_SECONDS = 20.0  # kept from the invocation: checkpoint, release the lease, answer


class OpsError(Exception):
    """Bad input or an unusable tenant: the answer's ``error`` (safe to show)."""


def _request(event: Mapping[str, Any], options: Mapping[str, str]) -> SyncRequest:
    tenant_id = event.get("tenant_id")
    if not isinstance(tenant_id, str) or not valid_tenant_id(tenant_id):
        raise OpsError("tenant_id is missing or invalid")
    days = event.get("history_days", options.get(HISTORY_DAYS_OPTION) or DEFAULT_HISTORY_DAYS)
    try:
        history_days = int(days)
        return SyncRequest(
            tenant_id,
            history_days=history_days,
            history=bool(event.get("history", True)),
            knowledge=bool(event.get("knowledge", True)),
        )
    except (TypeError, ValueError) as exc:
        raise OpsError(f"history_days: {exc}") from None


@dataclass
class OpsHandler:
    tool: str
    worker: WorkerHandler  # the worker's tenant checks, plugin and pipeline: nothing duplicated
    dynamodb: DynamoDBClient
    tenants_table: str
    checkpoints: CheckpointStore
    records: DynamoRecordStore
    index: IndexBuilder
    index_retention_days: int
    transport: httpx.AsyncBaseTransport | None = None
    monotonic: Callable[[], float] = time.monotonic

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        deadline = Deadline.from_context(context, margin=SAFETY_MARGIN_SECONDS, clock=self.monotonic)
        action = event.get("action") if isinstance(event, dict) else None
        try:
            if action == "sync":
                return self.worker.loop.run_until_complete(self.sync(event, deadline))
            if action == "preview":
                return self.worker.loop.run_until_complete(self.preview(event, deadline))
            if action in ("scheduled", "continue"):
                if action == "scheduled":
                    self.schedule_all()
                return self.worker.loop.run_until_complete(self.continue_pending(deadline))
        except OpsError as exc:
            return {"error": str(exc)}
        return {"error": f"unknown action {str(action)[:40]!r}: sync, preview, scheduled or continue"}

    async def _tenant(self, tenant_id: str) -> TenantContext:
        from ticket_enhancer.worker.handler import JobFailedError

        try:
            return await self.worker.tenant_context(tenant_id)
        except JobFailedError as exc:
            raise OpsError(f"tenant {tenant_id!r}: {exc}") from None

    # -- sync ---------------------------------------------------------------------------------------
    async def sync(self, event: Mapping[str, Any], deadline: Deadline) -> dict[str, Any]:
        tenant_id = event.get("tenant_id")
        if not isinstance(tenant_id, str) or not valid_tenant_id(tenant_id):
            raise OpsError("tenant_id is missing or invalid")
        try:
            tenant = await self._tenant(tenant_id)
            request = _request(event, tenant.config.options)
            pending = {"history_days": str(request.history_days)}
            pending.update({s: "1" if s in request.sources else "0" for s in SOURCES})
            await asyncio.to_thread(self.checkpoints.mark_pending, self.tool, tenant_id, pending)
            outcome = await self._run(tenant, request, deadline)
        except OpsError as exc:  # invoked asynchronously: the checkpoints are what the CLI reads
            wanted = [s for s in SOURCES if event.get(s, True) is not False]
            await asyncio.to_thread(self._record_failure, tenant_id, wanted, str(exc))
            raise
        return self._answer(outcome)

    def _record_failure(self, tenant_id: str, sources: list[str], error: str) -> None:
        owner = uuid.uuid4().hex
        for source in sources:
            checkpoint = dataclasses.replace(
                self.checkpoints.get(tenant_id, source), status="failed", error=error[:300]
            )
            try:
                self.checkpoints.claim(checkpoint, owner)
                self.checkpoints.save(checkpoint, owner, release=True)
            except LeaseHeldError:  # a sync of it is running: that one reports
                continue

    async def _run(self, tenant: TenantContext, request: SyncRequest, deadline: Deadline) -> SyncOutcome:
        options = tenant.config.options
        try:
            rate = sync_rate_per_minute(self.tool, options, self.worker.plugin)
        except OptionError as exc:
            raise OpsError(str(exc)) from None
        bucket = TokenBucket(rate)
        client = httpx.AsyncClient(
            transport=RateLimitedTransport(bucket, self.transport),
            timeout=httpx.Timeout(10.0, connect=3.0),
            follow_redirects=False,
        )
        retention = INDEX.for_tenant(options)
        engine = SyncEngine(
            self.worker.plugin,
            self.checkpoints,
            self.records,
            index=self.index,
            owner=uuid.uuid4().hex,
            monotonic=self.monotonic,  # the deadline's clock
            index_retention_days=self.index_retention_days if retention is None else retention,
        )
        try:
            outcome = await engine.run(dataclasses.replace(tenant, http=client), request, deadline)
        except LeaseHeldError:
            outcome = SyncOutcome({cp.source: cp for cp in self.checkpoints.all(request.tenant_id)})
        finally:
            await client.aclose()
        if outcome.finished:
            await asyncio.to_thread(self.checkpoints.clear_pending, self.tool, request.tenant_id)
        logger.info(
            "sync ran",
            extra={
                "tenant_id": request.tenant_id,
                "finished": outcome.finished,
                "requests": bucket.acquired,
                "rate_limit_wait_s": round(bucket.waited, 1),
                **{f"{s}_status": cp.status for s, cp in outcome.checkpoints.items()},
            },
        )
        return outcome

    @staticmethod
    def _answer(outcome: SyncOutcome) -> dict[str, Any]:
        return {
            "status": "done" if outcome.finished else "continuing",
            "index": outcome.index,
            "sources": [cp.public() for cp in outcome.checkpoints.values()],
        }

    # -- schedules ----------------------------------------------------------------------------------
    def schedule_all(self) -> int:
        """Every enabled tenant of this tool (not opted out) into the pending set."""
        count = 0
        start: Mapping[str, Any] | None = None
        while True:
            request: dict[str, Any] = {
                "TableName": self.tenants_table,
                "FilterExpression": "tool_type = :tool AND enabled = :on",
                "ExpressionAttributeValues": {":tool": {"S": self.tool}, ":on": {"BOOL": True}},
                "ProjectionExpression": "tenant_id, #o",
                "ExpressionAttributeNames": {"#o": "options"},
            }
            if start:
                request["ExclusiveStartKey"] = start
            page = self.dynamodb.scan(**request)
            for item in page.get("Items", []):
                options = {k: v.get("S", "") for k, v in item.get("options", {}).get("M", {}).items()}
                if options.get(SCHEDULE_OPTION, "daily") == "off":
                    continue
                self.checkpoints.mark_pending(self.tool, item["tenant_id"]["S"])
                count += 1
            start = page.get("LastEvaluatedKey")
            if not start:
                return count

    async def continue_pending(self, deadline: Deadline) -> dict[str, Any]:
        pending = await asyncio.to_thread(self.checkpoints.pending, self.tool)
        done: list[str] = []
        for tenant_id, stored in pending.items():  # least recently run first
            if deadline.remaining() < SAFETY_MARGIN_SECONDS:
                break
            event = {
                "tenant_id": tenant_id,
                "history": stored.get("history", "1") == "1",
                "knowledge": stored.get("knowledge", "1") == "1",
            }
            if stored.get("history_days"):
                event["history_days"] = stored["history_days"]
            try:
                tenant = await self._tenant(tenant_id)
                outcome = await self._run(tenant, _request(event, tenant.config.options), deadline)
            except OpsError as exc:  # removed, disabled, bad options: it leaves the pending set
                logger.warning("pending sync dropped", extra={"tenant_id": tenant_id, "error": str(exc)})
                await asyncio.to_thread(self.checkpoints.clear_pending, self.tool, tenant_id)
                continue
            except Exception:  # one tenant's failure never stops the others
                logger.exception("sync failed", extra={"tenant_id": tenant_id})
                continue
            if outcome.finished:
                done.append(tenant_id)
            else:  # to the back of the line: the next invocation starts with another tenant
                await asyncio.to_thread(self.checkpoints.mark_pending, self.tool, tenant_id, stored)
        return {"status": "ok", "pending": len(pending), "finished": len(done)}

    # -- preview ------------------------------------------------------------------------------------
    async def preview(self, event: Mapping[str, Any], deadline: Deadline) -> dict[str, Any]:
        tenant_id, ticket_id = event.get("tenant_id"), event.get("ticket_id")
        if not isinstance(tenant_id, str) or not valid_tenant_id(tenant_id):
            raise OpsError("tenant_id is missing or invalid")
        if not isinstance(ticket_id, str) or not ticket_id.strip() or len(ticket_id) > 128:
            raise OpsError("ticket_id is missing or invalid")
        token = CURRENT.set(deadline)
        try:
            tenant = await self._tenant(tenant_id)
            plugin = self.worker.plugin
            try:
                ticket = await plugin.get_ticket(tenant, ticket_id)
            except VendorError as exc:
                raise OpsError(f"fetching the ticket failed: {exc}") from None
            enhancement = await self.worker.pipeline.enhance(tenant, ticket, PREVIEW_JOB_ID)
        finally:
            CURRENT.reset(token)
        rendered = plugin.render_note(Note(markdown=enhancement.markdown, job_id=PREVIEW_JOB_ID))
        return {
            "status": "ok",
            "format": plugin.note_format,
            "rendered": rendered,
            "markdown": enhancement.markdown,
            "provider": enhancement.provider,
            "unavailable": list(enhancement.unavailable),
        }


def _index_builder(dynamodb: DynamoDBClient, settings: Settings, records: DynamoRecordStore) -> IndexBuilder:
    """The tenants' search indexes in ``CONTEXT_INDEX_BUCKET``; none when it is not set."""
    if not settings.context_index_bucket:
        return NoIndex()
    from ticket_enhancer.enhance.index_store import IndexStore, LazyClient
    from ticket_enhancer.sync.index import PublishedIndex

    s3 = LazyClient(lambda: aws.s3(aws.WORKER_CONFIG))
    return PublishedIndex(
        records, IndexStore(dynamodb, settings.context_table or "", s3, settings.context_index_bucket)
    )


def make_ops_handler(
    tool: str,
    *,
    dynamodb: DynamoDBClient | None = None,
    secrets: Any = None,
    transport: httpx.AsyncBaseTransport | None = None,
    env: Mapping[str, str] | None = None,
    index: IndexBuilder | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    **worker_options: Any,
) -> OpsHandler:
    """Built at Lambda init, like the worker (whose tenant checks and pipeline it reuses)."""
    from ticket_enhancer.worker.handler import make_worker_handler

    environ = {k: v for k, v in (os.environ if env is None else env).items() if k != "QUEUE_URL"}
    settings = Settings.for_worker(environ)  # the worker's, checked at init (no queue of its own)
    dynamodb = dynamodb or aws.dynamodb(aws.WORKER_CONFIG)
    table = settings.context_table or ""
    records = DynamoRecordStore(dynamodb, table)
    worker = make_worker_handler(
        tool,
        dynamodb=dynamodb,
        secrets=secrets,
        transport=transport,
        env=environ,
        monotonic=monotonic,
        count_usage=False,  # a preview neither counts against nor fills a tenant's daily limits
        **worker_options,
    )
    return OpsHandler(
        tool=tool,
        worker=worker,
        dynamodb=dynamodb,
        tenants_table=settings.tenants_table,
        checkpoints=CheckpointStore(dynamodb, table),
        records=records,
        index=index or _index_builder(dynamodb, settings, records),
        index_retention_days=settings.index_retention_days,
        transport=transport,
        monotonic=monotonic,
    )
