"""`ticket-enhancer plugins list | pause TOOL | resume TOOL`.

Pause stops a tool's worker (its event source mapping, or the local poller): jobs wait in the
queue and webhooks are still accepted. Resume lets the waiting jobs through, each once.
"""

from __future__ import annotations

from typing import Any

from ticket_enhancer_dev.cli.errors import CliError
from ticket_enhancer_dev.cli.target import Target
from ticket_enhancer_dev.cli.tools import known_tools


def _control(target: Target, path: str, method: str = "GET") -> Any:
    if not target.control_url:
        raise CliError("the local stack has no control URL: restart `ticket-enhancer local up`")
    import httpx

    try:
        url = f"{target.control_url}/{path}"
        response = httpx.request(method, url, headers=target.control_headers(), timeout=5)
        if response.status_code == 401:
            raise CliError(
                f"the local stack at {target.control_url} refused the control token (401): "
                "is local.json from the running `ticket-enhancer local up`?"
            )
        response.raise_for_status()
        return response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise CliError(f"the local stack does not answer at {target.control_url}: {exc}") from None


def _queue_depth(target: Target, url: str) -> str:
    attrs = target.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    values = attrs.get("Attributes", {})
    visible = values.get("ApproximateNumberOfMessages", "?")
    return f"{visible}+{values.get('ApproximateNumberOfMessagesNotVisible', '?')}"


def list_(target: Target | None) -> int:
    from ticket_enhancer.plugins.registry import PluginManager

    manager = PluginManager()
    manager.load_plugins_on_startup(known_tools())  # installed entry-point plugins included
    statuses = manager.plugin_status()
    paused: set[str] = set()
    if target is not None and target.local:
        paused = set(_control(target, "status").get("paused", []))
    header = f"{'TOOL':17} {'VERSION':8} {'STATE':9} {'SOURCE':12}"
    print(header + ("  WORKER   QUEUE(vis+inflight)  DLQ" if target else ""))
    for name, status in statuses.items():
        line = f"{name:17} {status.version or '-':8} {status.state.value:9} {status.source:12}"
        if target is not None and name in target.tools:
            res = target.tools[name]
            worker = (
                "paused" if name in paused or _esm_disabled(target, res.event_source_mapping) else "running"
            )
            line += (
                f"  {worker:8} {_queue_depth(target, res.queue_url):20} {_queue_depth(target, res.dlq_url)}"
            )
        if status.error:
            line += f"  error: {status.error}"
        print(line)
    return 0


def _esm_disabled(target: Target, uuid: str | None) -> bool:
    if target.local or not uuid:
        return False
    return str(target.client("lambda").get_event_source_mapping(UUID=uuid).get("State")) in (
        "Disabled",
        "Disabling",
    )


def set_paused(target: Target, tool: str, paused: bool) -> int:
    if tool not in known_tools():
        raise CliError(f"unknown tool {tool!r}; known: {', '.join(known_tools())}")
    if target.local:
        _control(target, f"{'pause' if paused else 'resume'}/{tool}", method="POST")
    else:
        uuid = target.tool(tool).event_source_mapping
        if not uuid:
            raise CliError(f"stack output for {tool}'s event source mapping is missing")
        target.client("lambda").update_event_source_mapping(UUID=uuid, Enabled=not paused)
    verb = "paused: jobs wait in its queue" if paused else "resumed: waiting jobs are being processed"
    print(f"{tool} worker {verb}")
    return 0
