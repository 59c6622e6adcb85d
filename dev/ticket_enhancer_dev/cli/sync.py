"""`tenants sync ID` and `tenants preview ID TICKET_ID`: run inside the deployment, followed from here.

Both invoke the tool's ops function (``ops.handler``): on a deployed stack through Lambda's Invoke
API, locally through the local stack's ``POST /_local/invoke/{function}``. ``sync`` invokes it
asynchronously and follows the checkpoints (``<tenant>#sync`` in the ContextTable) with a progress
line on stderr (counts and states only: no ticket text, no secret); if an invocation ends with work
left and nothing else holds the source, it invokes again, so a long import keeps going while you
watch (and from the schedule when you do not). Ctrl-C stops following, not the sync.
``preview`` invokes it synchronously and prints the note exactly as it would be posted.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from ticket_enhancer.sync.checkpoint import SOURCES, UNFINISHED
from ticket_enhancer.sync.engine import MAX_HISTORY_DAYS
from ticket_enhancer.sync.ratelimit import OptionError, sync_rate_per_minute

from ticket_enhancer_dev.cli import tenants
from ticket_enhancer_dev.cli.errors import CliError
from ticket_enhancer_dev.cli.target import Target

POLL_SECONDS = 1.0
START_TIMEOUT = 120.0  # no checkpoint written by then: the function did not start the sync
REKICK_SECONDS = 60.0  # an unfinished, unleased source idle this long gets a new invocation
CLOCK_SKEW = 5.0


def _ops_function(target: Target, tool: str) -> str:
    name = target.tool(tool).ops_function
    if not name:
        where = "the local stack" if target.local else "this stack"
        raise CliError(f"{where} has no ops function for {tool}: deploy (or restart) the current template")
    return name


def invoke(target: Target, tool: str, payload: dict[str, Any], *, wait: bool) -> dict[str, Any] | None:
    """Run the tool's ops function on ``payload``: its answer (``wait``), or None once queued."""
    name = _ops_function(target, tool)
    kind = "RequestResponse" if wait else "Event"
    if target.local:
        import httpx

        answer = httpx.post(
            f"{target.control_url}/invoke/{name}",
            json=payload,
            headers={**target.control_headers(), "X-Invocation-Type": kind},
            timeout=960.0 if wait else 10.0,
        )
        if answer.status_code >= 400:
            raise CliError(f"the local ops function failed: {answer.text[:300]}")
        return dict(answer.json()) if wait else None
    reply = target.client("lambda").invoke(
        FunctionName=name, InvocationType=kind, Payload=json.dumps(payload).encode()
    )
    if not wait:
        return None
    body = reply["Payload"].read()
    if reply.get("FunctionError"):
        message = json.loads(body or b"{}").get("errorMessage", "unknown error")
        raise CliError(f"the ops function failed: {str(message)[:300]}")
    return dict(json.loads(body))


def _tenant_tool(target: Target, tenant_id: str) -> tuple[str, dict[str, str]]:
    row = tenants.get_row(target, tenant_id)
    if not row.get("enabled", True):
        raise CliError(f"tenant {tenant_id!r} is disabled: `tenants enable {tenant_id}` first")
    options = {str(k): str(v) for k, v in (row.get("options") or {}).items()}
    return str(row["tool_type"]), options


def _checkpoints(target: Target, tenant_id: str) -> dict[str, dict[str, Any]]:
    from ticket_enhancer.tenants import deserialize_item

    items = target.client("dynamodb").query(
        TableName=target.tables["ContextTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"{tenant_id}#sync"}},
        ConsistentRead=True,
    )["Items"]
    return {str(i["sk"]["S"]): deserialize_item(i) for i in items}


def _describe(source: str, cp: dict[str, Any] | None, now: float) -> str:
    if cp is None:
        return f"{source}: starting"
    status = str(cp.get("status", "?"))
    counts = f"{int(cp.get('imported', 0)):,} imported, {int(cp.get('skipped', 0)):,} skipped"
    if status == "waiting":
        left = max(0, int(float(cp.get("resume_at", 0)) - now))
        return f"{source}: waiting {left} s for the vendor ({counts})"
    if status == "denied":
        return f"{source}: stopped: the API user needs {cp.get('permission')} for {cp.get('endpoint')}"
    if status == "failed":
        return f"{source}: failed: {str(cp.get('error', ''))[:200]} ({counts})"
    if status == "unsupported":
        return f"{source}: not offered by this tool"
    return f"{source}: {status}, {counts}, page {int(cp.get('pages', 0))}"


def follow(
    target: Target,
    tool: str,
    payload: dict[str, Any],
    sources: tuple[str, ...],
    *,
    out: TextIO = sys.stderr,
    clock: Any = time.time,
    sleep: Any = time.sleep,
) -> dict[str, dict[str, Any]]:
    """Invoke the sync and follow it until every requested source has finished this run."""
    started = clock()
    invoke(target, tool, payload, wait=False)
    last_kick, line = started, ""
    while True:
        sleep(POLL_SECONDS)
        now = clock()
        found = _checkpoints(target, payload["tenant_id"])
        fresh = {s: cp for s, cp in found.items() if float(cp.get("updated", 0)) >= started - CLOCK_SKEW}
        text = " | ".join(_describe(s, fresh.get(s), now) for s in sources)
        if text != line:
            out.write(f"\r{text:<100}")
            out.flush()
            line = text
        if all(s in fresh and fresh[s].get("status") not in UNFINISHED for s in sources):
            out.write("\n")
            return fresh
        if not fresh and now - started > START_TIMEOUT:
            out.write("\n")
            raise CliError("the ops function did not start the sync: see its log (CloudWatch, or `local up`)")
        idle = [
            cp
            for s, cp in fresh.items()
            if s in sources
            and cp.get("status") in UNFINISHED
            and float(cp.get("lease_until", 0)) < now
            and float(cp.get("resume_at", 0)) <= now
            and now - float(cp.get("updated", 0)) > REKICK_SECONDS
        ]
        if idle and now - last_kick > REKICK_SECONDS:
            invoke(target, tool, payload, wait=False)  # the last invocation ended with work left
            last_kick = now


def sync(target: Target, args: Any) -> int:
    days = args.history_days
    if not 1 <= days <= MAX_HISTORY_DAYS:
        raise CliError(f"--history-days must be from 1 to {MAX_HISTORY_DAYS}, not {days}")
    if args.no_history and args.no_knowledge:
        raise CliError("--no-history and --no-knowledge together leave nothing to sync")
    tool, options = _tenant_tool(target, args.tenant_id)
    from ticket_enhancer_dev.cli.tools import plugin

    try:
        rate = sync_rate_per_minute(tool, options, plugin(tool))
    except OptionError as exc:
        raise CliError(f"{exc} (fix it with `tenants update {args.tenant_id} --option ...`)") from None
    sources = tuple(s for s in SOURCES if not getattr(args, f"no_{s}"))
    payload = {
        "action": "sync",
        "tenant_id": args.tenant_id,
        "history_days": days,
        "history": "history" in sources,
        "knowledge": "knowledge" in sources,
    }
    print(f"syncing {args.tenant_id} ({tool}) at up to {rate:g} requests a minute", file=sys.stderr)
    try:
        final = follow(target, tool, payload, sources)
    except KeyboardInterrupt:
        print("\nstopped following: the sync goes on inside the deployment", file=sys.stderr)
        return 130
    for source in sources:
        print(_describe(source, final.get(source), time.time()))
    ok = all(final[s].get("status") in ("done", "unsupported") for s in sources)
    return 0 if ok else 1


def preview(target: Target, args: Any) -> int:
    ticket_id = str(args.ticket_id)
    if not ticket_id.strip() or len(ticket_id) > 128:
        raise CliError("TICKET_ID must be 1 to 128 characters")
    tool, _ = _tenant_tool(target, args.tenant_id)
    payload = {"action": "preview", "tenant_id": args.tenant_id, "ticket_id": ticket_id}
    answer = invoke(target, tool, payload, wait=True) or {}
    if "error" in answer:
        raise CliError(str(answer["error"])[:300])
    rendered = answer.get("rendered")
    print(rendered if isinstance(rendered, str) else json.dumps(rendered, indent=2, ensure_ascii=False))
    unavailable = ", ".join(answer.get("unavailable") or []) or "none"
    print(
        f"(preview: nothing posted; provider {answer.get('provider')}; unavailable: {unavailable})",
        file=sys.stderr,
    )
    return 0


def sync_tenants(
    target: Target, tenants_by_tool: dict[str, str], *, timeout: float = 180.0, out: TextIO = sys.stdout
) -> dict[str, str]:
    """Start a sync of each tool's tenant at once and wait for all (``make demo``); a line per tool."""
    started = time.time()
    for tool, tenant_id in tenants_by_tool.items():
        invoke(target, tool, {"action": "sync", "tenant_id": tenant_id}, wait=False)
    summary: dict[str, str] = {}
    while len(summary) < len(tenants_by_tool) and time.time() - started < timeout:
        time.sleep(POLL_SECONDS)
        for tool, tenant_id in tenants_by_tool.items():
            if tool in summary:
                continue
            found = _checkpoints(target, tenant_id)
            fresh = [cp for cp in found.values() if float(cp.get("updated", 0)) >= started - CLOCK_SKEW]
            if len(fresh) == len(SOURCES) and all(cp.get("status") not in UNFINISHED for cp in fresh):
                now = time.time()
                summary[tool] = " | ".join(_describe(s, found.get(s), now) for s in SOURCES)
                out.write(f"{tool:17} sync -> {summary[tool]}\n")
                out.flush()
    for tool in tenants_by_tool:
        if tool not in summary:
            summary[tool] = "not finished"
            out.write(f"{tool:17} sync -> not finished in {timeout:g} s (it goes on in the stack)\n")
    return summary
