"""`ticket-enhancer local demo`: the product end to end on this machine, in one command.

Uses the running local stack or starts one; onboards one tenant per tool on the vendor sandbox;
sends each tool a realistic, correctly signed webhook; waits for the internal notes.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import time
from argparse import Namespace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ticket_enhancer.cli import sync, tenants
from ticket_enhancer.cli.errors import CliError
from ticket_enhancer.cli.target import LOCAL_STATE, Target, load_local
from ticket_enhancer.cli.tools import plugin
from ticket_enhancer.plugins.fields import adf_text
from ticket_enhancer.sandbox.tickets import (
    DEMO_ARTICLES,
    DEMO_ASSETS,
    DEMO_PAST_TICKET,
    seed_ticket_id,
    webhook_body,
)
from ticket_enhancer.webhooks.signing import sign

if TYPE_CHECKING:
    from ticket_enhancer.local.launcher import Launched

STARTUP_TIMEOUT = 90.0
SANDBOX_TOKEN = "demo-token"  # noqa: S105 # nosec B105 # the vendor sandbox accepts any token
NOTE_TIMEOUT = 90.0


def _running(root: Path) -> Target | None:
    if not (root / LOCAL_STATE).exists():
        return None
    target = load_local(root)
    headers = target.control_headers()
    try:
        httpx.get(f"{target.control_url}/status", headers=headers, timeout=2).raise_for_status()
    except httpx.HTTPError:
        return None
    return target


def _start_stack(root: Path) -> Launched:
    from ticket_enhancer.local.launcher import LOG_FILE, LaunchError, launch

    print("starting the local stack ...", flush=True)
    try:
        launched = launch(root, timeout=STARTUP_TIMEOUT)
    except LaunchError as exc:
        first = str(exc).splitlines()[0]
        raise CliError(f"{first} (its log: {root / LOG_FILE})") from None
    print(launched.ready_line, flush=True)
    return launched


def _onboard(target: Target, tool: str) -> tuple[str, str, str]:
    tenant_id = "demo-" + tool.replace("_", "-")
    mode, _ = tenants.auth_modes(tool)
    secret = tenants.new_webhook_secret(tenants.webhook_scheme(tool, mode))
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        with contextlib.suppress(CliError):
            tenants.remove(target, Namespace(tenant_id=tenant_id))
        tenants.add(
            target,
            Namespace(
                tenant_id=tenant_id,
                tool=tool,
                base_url=f"{target.sandbox_url}/{tool}",
                webhook_secret=secret,
                webhook_auth=None,
                api_user="demo@example.com",
                api_token=SANDBOX_TOKEN,
                # the sandbox is no vendor: the sync need not keep to a vendor's rate limit; Jira's
                # knowledge base is the sandbox's Confluence space
                option=["synthesis_provider=offline", "sync_api_limit=60000"]
                + (["knowledge_space=KB"] if tool == "jira" else []),
                allow_custom_host=False,
            ),
        )
    _seed_context(target, tool, tenant_id)
    return tenant_id, mode, secret


def _seed_context(target: Target, tool: str, tenant_id: str) -> None:
    """Knowledge, inventory and one past ticket, so the note shows what the product does."""
    from ticket_enhancer.enhance.store import ContextStore
    from ticket_enhancer.models import Ticket

    store = ContextStore(target.client("dynamodb"), target.tables["ContextTable"])
    for article in DEMO_ARTICLES:
        store.put_article(tenant_id, article["title"], article["body"], article["url"])
    for cidr_or_host, name, notes in DEMO_ASSETS:
        store.put_asset(tenant_id, cidr_or_host, name, notes)
    past = Ticket.model_validate({"tool_type": tool, "tenant_id": tenant_id, **DEMO_PAST_TICKET})
    store.index_ticket(tenant_id, past)


def _note_text(tool: str, note: dict[str, Any]) -> str:
    note_format = plugin(tool).note_format
    if note_format == "adf":
        return adf_text(note.get("body"))
    raw = str(note.get("html_body") or note.get("body") or note.get("value") or note.get("description") or "")
    if note_format == "text":
        return raw
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"<[^>]+>", "\n", raw)).strip()


def run(root: Path) -> int:
    started = None
    target = _running(root)
    if target is None:
        started = _start_stack(root)
        target = load_local(root)
    try:
        return _demo(target)
    finally:
        if started is not None:
            started.stop()  # Ctrl-C: the stack stops everything it started


def _demo(target: Target) -> int:
    tools = list(target.tools)  # every tool the stack serves (its template's, from the registry)
    with httpx.Client(timeout=10) as http:
        http.post(f"{target.sandbox_url}/_reset", headers=target.control_headers()).raise_for_status()
        sent: dict[str, float] = {}
        answers: dict[str, str] = {}
        onboarded = {tool: _onboard(target, tool) for tool in tools}
        # Each tenant's history and knowledge from its tool, so the notes show them.
        sync.sync_tenants(target, {tool: found[0] for tool, found in onboarded.items()})
        for tool in tools:
            tenant_id, mode, secret = onboarded[tool]
            body = json.dumps(webhook_body(tool, tenant_id)).encode()
            headers = {"Content-Type": "application/json", **sign(mode, body, secret, tool=tool)}
            url = target.tool(tool).webhook_url.replace("{tenant_id}", tenant_id)
            sent[tool] = time.monotonic()
            answer = http.post(url, content=body, headers=headers)
            answers[tool] = f"{answer.status_code} {answer.json().get('status', answer.json().get('error'))}"
            print(f"{tool:17} webhook -> {answers[tool]}", flush=True)
        done: dict[str, float] = {}
        notes: dict[str, str] = {}
        deadline = time.monotonic() + NOTE_TIMEOUT
        while len(done) < len(tools) and time.monotonic() < deadline:
            for tool in tools:
                if tool in done:
                    continue
                state = http.get(f"{target.sandbox_url}/{tool}/").json()
                found = state.get("notes", {}).get(seed_ticket_id(tool), [])
                if found:
                    done[tool] = time.monotonic() - sent[tool]
                    notes[tool] = _note_text(tool, found[-1])
            marks = " ".join(f"{t} {'done' if t in done else '...'}" for t in tools)
            print(f"\rwaiting for notes {len(done)}/{len(tools)}: {marks}   ", end="", flush=True)
            if len(done) < len(tools):
                time.sleep(0.5)
        print()
    for tool, text in notes.items():
        print(f"\n===== {tool}: internal note on ticket {seed_ticket_id(tool)} =====\n{text}")
    print(f"\n{'TOOL':17} {'TICKET':34} {'WEBHOOK':16} {'NOTE':8} SECONDS")
    for tool in tools:
        seconds = f"{done[tool]:.1f}" if tool in done else "-"
        print(
            f"{tool:17} {seed_ticket_id(tool):34} {answers.get(tool, '-'):16} "
            f"{'posted' if tool in done else 'MISSING':8} {seconds}"
        )
    if len(done) == len(tools):
        print(f"\nall {len(tools)} notes posted")
        return 0
    print(
        f"\n{len(tools) - len(done)} note(s) missing; see `ticket-enhancer dlq list --local`",
        file=sys.stderr,
    )
    return 1
