"""`ticket-enhancer local demo`: the product end to end on this machine, in one command.

Uses the running local stack or starts one; onboards one tenant per tool on the vendor sandbox;
sends each tool a realistic, correctly signed webhook (and Zendesk a second ticket, not in English);
each tenant's index holds a burst of near-duplicates of the incident from the last hour; waits for
the internal notes and shows each as the agent will see it: a page per tool under
``.ticket-enhancer/demo/<tool>.html`` (paths printed) and a readable rendering in the terminal.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from argparse import Namespace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from ticket_enhancer.webhooks.signing import sign

from ticket_enhancer_dev.cli import sync, tenants
from ticket_enhancer_dev.cli.demo_pages import terminal_text, write_page
from ticket_enhancer_dev.cli.errors import CliError
from ticket_enhancer_dev.cli.target import LOCAL_STATE, Target, load_local
from ticket_enhancer_dev.cli.tools import plugin
from ticket_enhancer_dev.sandbox import llm
from ticket_enhancer_dev.sandbox.tickets import (
    DEMO_ARTICLES,
    DEMO_ASSETS,
    DEMO_BURST,
    DEMO_FOREIGN_TICKET,
    DEMO_PAST_TICKET,
    SEED_CREATED_AT,
    seed_ticket_id,
    webhook_body,
    webhook_body_for,
)

if TYPE_CHECKING:
    from ticket_enhancer_dev.local.launcher import Launched

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
    from ticket_enhancer_dev.local.launcher import LOG_FILE, LaunchError, launch

    print("starting the local stack ...", flush=True)
    try:
        launched = launch(root, timeout=STARTUP_TIMEOUT)
    except LaunchError as exc:
        first = str(exc).splitlines()[0]
        raise CliError(f"{first} (its log: {root / LOG_FILE})") from None
    print(launched.ready_line, flush=True)
    return launched


# The Zendesk tenant's notes have a model's part: the sandbox model (OpenAI-compatible, no key).
MODEL_TOOL = "zendesk"


def _options(target: Target, tool: str) -> list[str]:
    # the sandbox is no vendor: the sync need not keep to a vendor's rate limit; Jira's knowledge
    # base is the sandbox's Confluence space
    common = ["sync_api_limit=60000"] + (["knowledge_space=KB"] if tool == "jira" else [])
    if tool != MODEL_TOOL:
        return ["synthesis_provider=offline", *common]
    endpoint = f"{target.sandbox_url}{llm.PATH.removeprefix('/_sandbox').removesuffix('/chat/completions')}"
    model = ["synthesis_provider=openai", f"synthesis_endpoint={endpoint}", "synthesis_model=sandbox-model"]
    return model + common


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
                option=_options(target, tool),
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
    for burst in DEMO_BURST:  # near-duplicates opened in the hour before the seed ticket
        fields = {k: v for k, v in burst.items() if k != "minutes_ago"}
        created = SEED_CREATED_AT - timedelta(minutes=burst["minutes_ago"])
        url = f"{target.sandbox_url}/{tool}/{burst['ticket_id']}"
        opened = {
            "tool_type": tool,
            "tenant_id": tenant_id,
            "created_at": created,
            "status": "open",
            "url": url,
        }
        store.index_ticket(tenant_id, Ticket.model_validate(opened | fields))


def _note_body(tool: str, note: dict[str, Any]) -> Any:
    """The stored note: an ADF document, or the tool's HTML or text."""
    if plugin(tool).note_format == "adf":
        return note.get("body")
    return str(
        note.get("html_body") or note.get("body") or note.get("value") or note.get("description") or ""
    )


def run(root: Path) -> int:
    started = None
    target = _running(root)
    if target is None:
        started = _start_stack(root)
        target = load_local(root)
    try:
        return _demo(target, root)
    finally:
        if started is not None:
            started.stop()  # Ctrl-C: the stack stops everything it started


def _send(http: httpx.Client, target: Target, tool: str, onboarded: tuple[str, str, str], body: Any) -> str:
    tenant_id, mode, secret = onboarded
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **sign(mode, data, secret, tool=tool)}
    answer = http.post(
        target.tool(tool).webhook_url.replace("{tenant_id}", tenant_id), content=data, headers=headers
    )
    return f"{answer.status_code} {answer.json().get('status', answer.json().get('error'))}"


def _foreign(
    http: httpx.Client, target: Target, onboarded: dict[str, tuple[str, str, str]]
) -> tuple[str, str]:
    """The ticket not in English: added to the sandbox, its webhook sent; (tool, ticket id)."""
    tool, ticket_id, fields = (DEMO_FOREIGN_TICKET[k] for k in ("tool", "ticket_id", "fields"))
    if tool not in onboarded:
        return tool, ""
    http.post(
        f"{target.sandbox_url}/{tool}/_tickets",
        json={"ticket_ids": [ticket_id], "fields": fields},
        headers=target.control_headers(),
    ).raise_for_status()
    answer = _send(
        http, target, tool, onboarded[tool], webhook_body_for(tool, onboarded[tool][0], ticket_id, fields)
    )
    print(f"{tool:17} webhook -> {answer} (ticket {ticket_id}, not in English)", flush=True)
    return tool, ticket_id


def _demo(target: Target, root: Path) -> int:
    tools = list(target.tools)  # every tool the stack serves (its template's, from the registry)
    with httpx.Client(timeout=10) as http:
        http.post(f"{target.sandbox_url}/_reset", headers=target.control_headers()).raise_for_status()
        sent: dict[str, float] = {}
        answers: dict[str, str] = {}
        onboarded = {tool: _onboard(target, tool) for tool in tools}
        # Each tenant's history and knowledge from its tool, so the notes show them.
        sync.sync_tenants(target, {tool: found[0] for tool, found in onboarded.items()})
        for tool in tools:
            sent[tool] = time.monotonic()
            answers[tool] = _send(http, target, tool, onboarded[tool], webhook_body(tool, onboarded[tool][0]))
            print(f"{tool:17} webhook -> {answers[tool]}", flush=True)
        wanted = [(tool, seed_ticket_id(tool)) for tool in tools]
        foreign = _foreign(http, target, onboarded)
        wanted += [foreign] if foreign[1] else []
        done: dict[str, float] = {}
        notes: dict[tuple[str, str], Any] = {}
        deadline = time.monotonic() + NOTE_TIMEOUT
        while len(notes) < len(wanted) and time.monotonic() < deadline:
            for tool, ticket_id in wanted:
                if (tool, ticket_id) in notes:
                    continue
                state = http.get(f"{target.sandbox_url}/{tool}/").json()
                found = state.get("notes", {}).get(ticket_id, [])
                if found:
                    done.setdefault(tool, time.monotonic() - sent[tool])
                    notes[tool, ticket_id] = _note_body(tool, found[-1])
            marks = " ".join(f"{t} {'done' if t in done else '...'}" for t in tools)
            print(f"\rwaiting for notes {len(notes)}/{len(wanted)}: {marks}   ", end="", flush=True)
            if len(notes) < len(wanted):
                time.sleep(0.5)
        print()
    pages = []
    for (tool, ticket_id), body in notes.items():
        note_format = plugin(tool).note_format
        print(
            f"\n===== {tool}: internal note on ticket {ticket_id} =====\n{terminal_text(note_format, body)}"
        )
        name = tool if ticket_id == seed_ticket_id(tool) else f"{tool}-{ticket_id}"
        pages.append(write_page(root, name, ticket_id, note_format, body))
    print("\nthe notes as the agent sees them (open in a browser):")
    for page in pages:
        print(f"  {page}")
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
