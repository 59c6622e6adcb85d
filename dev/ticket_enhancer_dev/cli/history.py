"""`ticket-enhancer tenants history ID [--ticket TICKET_ID] [--limit N]`: what was done for which ticket.

Reads the tenant's job records (JobsTable, keyed ``<tool>#<tenant>#<ticket>#<event>``; the worker
writes them, ``jobs.JobStore``) and prints them newest first, one block a job:

    2026-12-02 14:03:11Z  ticket 10001 (created)  done  by bedrock  job 01JE...
        model: bedrock failed (injection suspected): the offline note was posted
        unavailable: similar tickets (timeout), AI summary (injection suspected)
        waited: 2 deferrals, the last: rate limited by jira, retry after 30 s
        no note: daily_note_limit reached (50 notes today)
        failed: gave up after 5 attempts: ...

One Scan of the jobs table, filtered by the tenant's key prefixes (the table has no index by tenant;
records expire with ``history_retention_days``). Bad input: one line on stderr, exit code 2.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.note import STEP_LABELS
from ticket_enhancer.tenants import deserialize_item, valid_tenant_id

from ticket_enhancer_dev.cli.errors import CliError

if TYPE_CHECKING:
    from argparse import Namespace

    from ticket_enhancer_dev.cli.target import Target

__all__ = ["MAX_LIMIT", "format_job", "history", "run"]

DEFAULT_LIMIT = 20
MAX_LIMIT = 1_000
MAX_TICKET_ID = 256
_TEXT = 300  # characters of a recorded error shown


def run(args: Namespace) -> int:
    """Check the arguments before touching the target, then print the history."""
    from ticket_enhancer_dev.cli.target import resolve

    tenant_id, ticket_id = args.tenant_id, args.ticket
    limit = DEFAULT_LIMIT if args.limit is None else args.limit
    if not valid_tenant_id(tenant_id):
        raise CliError(f"tenant id {tenant_id!r} must match [A-Za-z0-9][A-Za-z0-9_-]{{0,63}}")
    if ticket_id is not None and not (
        ticket_id.strip() and len(ticket_id) <= MAX_TICKET_ID and "#" not in ticket_id
    ):
        raise CliError(f"--ticket needs a ticket id of 1 to {MAX_TICKET_ID} characters without '#'")
    if not 1 <= limit <= MAX_LIMIT:
        raise CliError(f"--limit must be between 1 and {MAX_LIMIT}")
    return history(resolve(args), tenant_id, ticket_id, limit)


def _records(target: Target, tenant_id: str, ticket_id: str | None) -> list[dict[str, Any]]:
    ddb = target.client("dynamodb")
    prefixes = [f"{tool}#{tenant_id}#" + (f"{ticket_id}#" if ticket_id else "") for tool in target.tools]
    values = {f":p{i}": {"S": prefix} for i, prefix in enumerate(prefixes)}
    request: dict[str, Any] = {
        "TableName": target.tables["JobsTable"],
        "FilterExpression": " OR ".join(f"begins_with(job_key, :p{i})" for i in range(len(prefixes))),
        "ExpressionAttributeValues": values,
    }
    found: list[dict[str, Any]] = []
    for page in ddb.get_paginator("scan").paginate(**request):
        found.extend(deserialize_item(dict(item)) for item in page.get("Items", []))
    if ticket_id is not None:  # "1#..." also starts "1"'s prefix only with the event after it
        found = [r for r in found if str(r.get("ticket_id", "")) == ticket_id]
    return found


def _when(value: Any) -> str:
    try:
        return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (TypeError, ValueError, OverflowError):
        return "(unknown time)"


def _clean(value: Any, limit: int = _TEXT) -> str:
    """A recorded value as one printable line (records may quote vendor text)."""
    text = " ".join("".join(c if c.isprintable() else " " for c in str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_job(record: dict[str, Any]) -> list[str]:
    """The lines printed for one job record."""
    state = _clean(record.get("state", "?"), 20)
    provider = record.get("provider")
    head = (
        f"{_when(record.get('created_at'))}  ticket {_clean(record.get('ticket_id', '?'), 80)} "
        f"({_clean(record.get('event_type', '?'), 40)})  {state}"
        + (f"  by {_clean(provider, 40)}" if provider else "")
        + f"  job {_clean(record.get('job_id', '?'), 40)}"
    )
    lines = [head]
    reasons: dict[str, Any] = record.get("reasons") or {}
    fallback = record.get("fallback_from")
    if fallback:
        why = _clean(reasons.get("synthesis", "error"), 80)
        lines.append(f"    model: {_clean(fallback, 40)} failed ({why}): the offline note was posted")
    unavailable = [str(u) for u in record.get("unavailable") or []]
    if unavailable:
        parts = [
            f"{STEP_LABELS.get(u, u.replace('_', ' '))} ({_clean(reasons.get(u, '?'), 80)})"
            for u in unavailable
        ]
        lines.append("    unavailable: " + ", ".join(parts))
    deferrals = int(record.get("deferrals") or 0)
    if deferrals:
        last = record.get("deferral_reason")
        lines.append(
            f"    waited: {deferrals} deferral{'s' * (deferrals > 1)}"
            + (f", the last: {_clean(last)}" if last else "")
        )
    if record.get("skipped"):
        lines.append(f"    no note: {_clean(record['skipped'])}")
    error = record.get("last_error")
    if error and state == "failed":
        lines.append(f"    failed: {_clean(error)}")
    elif error and state not in ("done",):
        lines.append(f"    last error (will be retried): {_clean(error)}")
    attempts = int(record.get("attempts") or 0)
    if attempts > 1:
        lines.append(f"    attempts: {attempts}")
    return lines


def history(target: Target, tenant_id: str, ticket_id: str | None = None, limit: int = DEFAULT_LIMIT) -> int:
    records = _records(target, tenant_id, ticket_id)
    records.sort(key=lambda r: (float(r.get("created_at") or 0), str(r.get("job_key", ""))), reverse=True)
    subject = f"ticket {ticket_id} of tenant {tenant_id}" if ticket_id else f"tenant {tenant_id}"
    if not records:
        print(f"no job records for {subject} (records expire after the history retention)", file=sys.stderr)
        return 0
    shown = records[:limit]
    print(f"{len(shown)} of {len(records)} jobs of {subject}, newest first:")
    for record in shown:
        print("\n".join(format_job(record)))
    return 0
