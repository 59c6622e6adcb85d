"""Job records and enhancement history (JobsTable), keyed by the ticket event.

One record per ``tool#tenant#ticket#event``: deliveries that raced each other into the queue
share it, so the worker posts one note per ticket event. States:
``processing`` -> ``posting`` (a note may be on its way) -> ``done`` | ``failed``.

An attempt holds a lease (``lease_until``) while it runs, so two deliveries of one event processed
at the same time (one batch, or two containers) cannot both post: the second gets
``JobInProgressError`` and is retried through the queue. A retryable failure releases the lease; a
crashed attempt's lease expires before SQS makes its message visible again. Each claim writes a
token of its own (``claim_token``): a claim that landed but whose answer was lost, which botocore then
sends again, finds its own token and goes on, rather than taking its own lease for another attempt's
(the job would wait for the lease to expire).

``attempts`` counts real attempts: every claim adds one, and a deferral for a vendor's rate limit
(``defer``) takes it back and adds to ``deferrals`` instead (with ``deferred_until`` and
``deferral_reason``); the worker makes each deferral twice as long as the last (``worker.deferral``),
so deferrals stay far below ``maxReceiveCount``. The worker gives a job up as ``failed`` after
``MAX_ATTEMPTS`` real attempts or once it is older than ``MAX_AGE_SECONDS`` (from ``created_at``),
the reason in ``last_error``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ticket_enhancer.models import EnhancementJob
from ticket_enhancer.retention import DAY_SECONDS, HISTORY

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_dynamodb import DynamoDBClient

FINAL_STATES = ("done", "failed")
# Longer than the worker's timeout (60 s), shorter than the queue's visibility timeout (360 s).
LEASE_SECONDS = 120
# A job gives up (state ``failed``, metric JobsFailed, alarm) after this many real attempts (rate-limit
# deferrals not counted) or at this age, whichever comes first.
MAX_ATTEMPTS = 5
MAX_AGE_SECONDS = 24 * 3600


class JobInProgressError(Exception):
    """Another attempt at the same ticket event is running now; retry later (through the queue)."""


@dataclass(frozen=True, slots=True)
class Claim:
    job_key: str
    job_id: str  # the job id the note's footer carries (the first claimer's)
    state: str  # the state before this attempt: "processing" or "posting"
    attempts: int  # real attempts, this one included (deferrals not counted)
    created_at: float = 0.0  # when the job record was first written (epoch seconds)
    deferrals: int = 0
    last_error: str = ""  # the last failure or deferral reason recorded before this attempt

    def gave_up(self, now: float) -> str | None:
        """Why this job must stop being tried, or None."""
        if self.attempts > MAX_ATTEMPTS:
            return f"gave up after {MAX_ATTEMPTS} attempts"
        if self.created_at and now - self.created_at > MAX_AGE_SECONDS:
            return f"gave up: older than {MAX_AGE_SECONDS // 3600} h"
        return None


class JobStore:
    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        *,
        lease_seconds: int = LEASE_SECONDS,
        history_days: int = HISTORY.default,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._dynamodb = dynamodb
        self._clock = clock  # epoch seconds: leases, ages, record times (tests move it)
        self._table = table
        self._lease_seconds = lease_seconds
        self._history_seconds = history_days * DAY_SECONDS

    def claim(self, job: EnhancementJob, now: float | None = None) -> Claim | None:
        """Start an attempt; ``None`` when the event's job already ended (done or failed).

        Raises ``JobInProgressError`` while another attempt holds the event's lease.
        """
        stamp = self._clock() if now is None else now
        meta = job.metadata
        token = os.urandom(12).hex()  # this claim's: the same in botocore's retries of the call
        try:
            result = self._dynamodb.update_item(
                TableName=self._table,
                Key={"job_key": {"S": meta.event_key}},
                UpdateExpression=(
                    "SET job_id = if_not_exists(job_id, :job), tenant_id = :tenant, tool_type = :tool, "
                    "ticket_id = :ticket, event_type = :event, #state = if_not_exists(#state, :processing), "
                    "attempts = if_not_exists(attempts, :zero) + :one, updated_at = :now, "
                    "created_at = if_not_exists(created_at, :now), expires_at = :expires, "
                    "lease_until = :lease, claim_token = :token"
                ),
                ConditionExpression=(
                    "attribute_not_exists(job_key) OR (NOT #state IN (:done, :failed) "
                    "AND (attribute_not_exists(lease_until) OR lease_until < :now))"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":job": {"S": job.job_id},
                    ":tenant": {"S": meta.tenant_id},
                    ":tool": {"S": meta.tool_type},
                    ":ticket": {"S": meta.ticket_id},
                    ":event": {"S": meta.event_type},
                    ":processing": {"S": "processing"},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    ":now": {"N": str(int(stamp))},
                    ":expires": {"N": str(int(stamp) + self._history_seconds)},
                    ":lease": {"N": str(int(stamp) + self._lease_seconds)},
                    ":token": {"S": token},
                    ":done": {"S": "done"},
                    ":failed": {"S": "failed"},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                old: dict[str, Any] = getattr(exc, "response", {}).get("Item") or {}
                state = old.get("state", {}).get("S")
                if state is None or state in FINAL_STATES:
                    return None
                if old.get("claim_token", {}).get("S") == token:  # ours: it landed, the answer was lost
                    return self._claim_of(meta.event_key, old)
                raise JobInProgressError(f"job {meta.event_key} is held by another attempt") from exc
            raise
        return self._claim_of(meta.event_key, result["Attributes"])

    @staticmethod
    def _claim_of(job_key: str, item: dict[str, Any]) -> Claim:
        return Claim(
            job_key=job_key,
            job_id=item["job_id"]["S"],
            state=item["state"]["S"],
            attempts=int(item["attempts"]["N"]),
            created_at=float(item.get("created_at", {}).get("N", "0")),
            deferrals=int(item.get("deferrals", {}).get("N", "0")),
            last_error=item.get("last_error", {}).get("S", ""),
        )

    def now(self) -> float:
        """The clock job records are written with (epoch seconds)."""
        return self._clock()

    def mark_posting(self, claim: Claim) -> None:
        self._set(claim, {"state": {"S": "posting"}})

    def record_error(self, claim: Claim, error: str) -> None:
        """Note a retryable failure and release the lease, so the redelivery can claim the job."""
        self._set(claim, {"last_error": {"S": error[:1000]}, "lease_until": {"N": "0"}})

    def defer(self, claim: Claim, *, until: float, reason: str) -> None:
        """A rate-limit deferral: not a real attempt; the lease is released for the redelivery."""
        self._dynamodb.update_item(
            TableName=self._table,
            Key={"job_key": {"S": claim.job_key}},
            UpdateExpression=(
                "SET attempts = attempts - :one, deferrals = if_not_exists(deferrals, :zero) + :one, "
                "deferred_until = :until, deferral_reason = :reason, last_error = :reason, "
                "lease_until = :zero, updated_at = :now"
            ),
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":zero": {"N": "0"},
                ":until": {"N": str(int(until))},
                ":reason": {"S": reason[:1000]},
                ":now": {"N": str(int(self._clock()))},
            },
        )

    def finish(
        self,
        claim: Claim,
        *,
        state: str,
        stage_ms: dict[str, float] | None = None,
        error: str | None = None,
        unavailable: list[str] | None = None,
        provider: str | None = None,
        history_days: int | None = None,
        reasons: dict[str, str] | None = None,
        fallback_from: str | None = None,
        skipped: str | None = None,
    ) -> None:
        """End the job; ``history_days`` (the tenant's override) resets when its record expires.

        What ``tenants history`` shows: ``provider`` (who wrote the note), ``fallback_from`` (the model
        that failed first), ``unavailable`` with ``reasons`` (step -> why), ``skipped`` (why no note
        was posted: the daily note limit)."""
        now = int(self._clock())
        values: dict[str, Any] = {"state": {"S": state}, "completed_at": {"N": str(now)}}
        if history_days is not None:
            values["expires_at"] = {"N": str(now + history_days * DAY_SECONDS)}
        if stage_ms:
            values["stage_ms"] = {"M": {k: {"N": f"{v:.1f}"} for k, v in stage_ms.items()}}
        if error:
            values["last_error"] = {"S": error[:1000]}
        if unavailable:
            values["unavailable"] = {"L": [{"S": u} for u in unavailable]}
        if provider:
            values["provider"] = {"S": provider}
        if reasons:
            values["reasons"] = {"M": {k: {"S": v[:200]} for k, v in reasons.items()}}
        if fallback_from:
            values["fallback_from"] = {"S": fallback_from}
        if skipped:
            values["skipped"] = {"S": skipped[:500]}
        self._set(claim, values)

    def get(self, job_key: str) -> dict[str, Any] | None:
        item = self._dynamodb.get_item(TableName=self._table, Key={"job_key": {"S": job_key}}).get("Item")
        if not item:
            return None
        from ticket_enhancer.tenants import deserialize_item

        return deserialize_item(dict(item))

    def _set(self, claim: Claim, values: dict[str, Any]) -> None:
        names = {f"#a{i}": name for i, name in enumerate(values)}
        self._dynamodb.update_item(
            TableName=self._table,
            Key={"job_key": {"S": claim.job_key}},
            UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(values))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":v{i}": value for i, value in enumerate(values.values())},
        )


def mark_delivery_done(dynamodb: DynamoDBClient, table: str, dedupe_key: str) -> None:
    """Let later repeats of this delivery answer ``duplicate`` without sending anything."""
    dynamodb.update_item(
        TableName=table,
        Key={"dedupe_key": {"S": dedupe_key}},
        UpdateExpression="SET #state = :done",
        ConditionExpression="attribute_exists(dedupe_key)",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={":done": {"S": "done"}},
    )
