"""Queue each delivery once, losing none: one conditional write, then one send.

1. ``PutItem`` the delivery record (key: tool, tenant, delivery id; TTL 24 h) only if absent; on
   failure DynamoDB returns the existing record in the same call.
2. ``SendMessage`` to the tool's FIFO queue with ``MessageDeduplicationId`` = hash of the key.

A repeat finds the record and sends the first job again under the same de-duplication id: if
the first send happened (within SQS's 5-minute window) SQS drops it, so nothing is added; if the
first request died between write and send, this send is the one that queues it. A crash or a
failed send at any point therefore ends, on the tool's retry, with the job on the queue; a send
error answers 503. Repeats after the worker finished the job (record ``state = done``) send
nothing. Deliveries racing each other all send under one de-duplication id.

Fair sharing (issue 14): the message group is the tenant plus a small shard of the delivery hash
(``<tenant_id>#<n>``, n < ``TENANT_SHARDS``). SQS FIFO delivers no message of a group while another
of it is in flight, so one tenant's burst holds at most ``TENANT_SHARDS`` batches in flight and the
worker's other concurrent pollers (WorkerMaxConcurrency, default 5) take other tenants' groups. A
deferred (rate-limited) record blocks only its own tenant's shard, whose vendor is limiting it anyway.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import BotoCoreError, ClientError

from ticket_enhancer.models import EnhancementJob, JobTicket, TicketMetadata, new_job_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

RECORD_TTL_SECONDS = 24 * 3600
# Message groups per tenant: the most of one tenant's batches in flight at once, so also its
# throughput ceiling (TENANT_SHARDS x 10 records per batch duration). Keep it below the worker's
# MaximumConcurrency (5), or one tenant's burst can again take every poller. Changing it only moves
# new messages between groups (de-duplication does not depend on it).
TENANT_SHARDS = 2


class QueueUnavailableError(Exception):
    """The delivery table or the queue failed: answer 503 so the tool retries."""


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    status: Literal["queued", "duplicate"]
    job_id: str


def dedupe_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def message_group(tenant_id: str, digest: str) -> str:
    """``<tenant_id>#<shard>``: the delivery's tenant and one of its ``TENANT_SHARDS`` groups."""
    return f"{tenant_id}#{int(digest[:8], 16) % TENANT_SHARDS}"


def enqueue_once(
    *,
    dynamodb: DynamoDBClient,
    sqs: SQSClient,
    table: str,
    queue_url: str,
    metadata: TicketMetadata,
    now: float | None = None,
) -> EnqueueResult:
    when = time.time() if now is None else now
    key = metadata.dedupe_key
    job_id = new_job_id(int(when * 1000))
    queued_at = datetime.fromtimestamp(when, UTC)
    status: Literal["queued", "duplicate"] = "queued"
    try:
        dynamodb.put_item(
            TableName=table,
            Item={
                "dedupe_key": {"S": key},
                "job_id": {"S": job_id},
                "event_key": {"S": metadata.event_key},
                "queued_at": {"S": queued_at.isoformat()},
                "state": {"S": "queued"},
                "expires_at": {"N": str(int(when) + RECORD_TTL_SECONDS)},
            },
            ConditionExpression="attribute_not_exists(dedupe_key)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise QueueUnavailableError(f"delivery table: {type(exc).__name__}") from exc
        # The existing record, returned by ReturnValuesOnConditionCheckFailure.
        existing: dict[str, dict[str, str]] = getattr(exc, "response", {}).get("Item") or {}
        found = existing.get("job_id", {}).get("S")
        # Our own job id: botocore retried this very write (the first answer was lost, a read timeout
        # under load), so the record is this call's, not an earlier delivery's: still "queued".
        if found != job_id:
            job_id = found or job_id
            status = "duplicate"
        if existing.get("state", {}).get("S") == "done":
            return EnqueueResult(status, job_id)
        stamp = existing.get("queued_at", {}).get("S")
        queued_at = datetime.fromisoformat(stamp) if stamp else queued_at
    except BotoCoreError as exc:
        raise QueueUnavailableError(f"delivery table: {type(exc).__name__}") from exc

    job = EnhancementJob(job_id=job_id, metadata=JobTicket.of(metadata), queued_at=queued_at)
    digest = dedupe_hash(key)
    try:
        sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=job.model_dump_json(),
            MessageGroupId=message_group(metadata.tenant_id, digest),
            MessageDeduplicationId=digest,
        )
    except (ClientError, BotoCoreError) as exc:
        raise QueueUnavailableError(f"queue: {type(exc).__name__}") from exc
    return EnqueueResult(status, job_id)
