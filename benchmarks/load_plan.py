"""The load test's plan (``benchmarks/load.py``): tenants on the vendor sandbox, a ticket per webhook,
the signed deliveries in sending order with 1 % exact re-deliveries, and their send times."""

from __future__ import annotations

import base64
import json
import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from ticket_enhancer_dev.local.launcher import Launched

TOOLS = ("jira", "zendesk", "servicenow", "freshservice", "servicedesk_plus")
MODES = {
    "jira": "jira-hmac",
    "zendesk": "zendesk-hmac",
    "servicenow": "standard-webhooks",
    "freshservice": "shared-token",
    "servicedesk_plus": "shared-token",
}
NOISY_TOOL = "jira"  # its tenant 0 is the noisy one; the tool's other tenant shares its queue
REDELIVERY_RATE = 0.01
REPEAT_WITHIN = 200  # positions: under a minute at 4 webhooks/s, inside the signatures' 5-minute window
SANDBOX_TOKEN = "sandbox"  # noqa: S105 # nosec B105 # the vendor sandbox accepts any token


@dataclass(eq=False)  # identity: a re-delivery carries the same fields as its original
class Delivery:
    index: int
    tool: str
    tenant_id: str
    ticket_id: str
    url: str
    body: bytes
    secret: str
    delivery_id: str
    original: Delivery | None = None  # set on an exact re-delivery
    headers: dict[str, str] = field(default_factory=dict)
    sent_at: float = 0.0  # first attempt (time.monotonic)
    status: int = 0
    answer: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    answered: threading.Event = field(default_factory=threading.Event)
    at: float | None = None  # when to send it, in seconds from the run's start (None: at once)


# -- tenants, tickets and webhooks ---------------------------------------------------------------


def _new_secret(mode: str) -> str:
    raw = f"load-{uuid.uuid4().hex}"
    return "whsec_" + base64.b64encode(raw.encode()).decode() if mode == "standard-webhooks" else raw


def add_tenant(stack: Launched, tool: str, tenant_id: str) -> str:
    """The tenant row and its secret, on the sandbox; the webhook secret."""
    secret = _new_secret(MODES[tool])
    secret_id = f"ticket-enhancer/{tool}/{tenant_id}"
    stack.client("dynamodb").put_item(
        TableName=stack.config["tables"]["TenantsTable"],
        Item={
            "tenant_id": {"S": tenant_id},
            "tool_type": {"S": tool},
            "base_url": {"S": f"{stack.config['sandbox_url']}/{tool}"},
            "enabled": {"BOOL": True},
            "secret_id": {"S": secret_id},
            "options": {"M": {"synthesis_provider": {"S": "offline"}}},
        },
    )
    secrets = stack.client("secretsmanager")
    webhook_document = {"webhook_secrets": [secret]}
    secrets.create_secret(Name=f"{secret_id}/webhook", SecretString=json.dumps(webhook_document))
    document = {"api_user": "load@example.com", "api_token": SANDBOX_TOKEN}
    secrets.create_secret(Name=secret_id, SecretString=json.dumps(document))
    return secret


def ticket_id_for(tool: str, index: int) -> str:
    return f"{index:032x}" if tool == "servicenow" else str(700_000 + index)


def webhook_body_for(tool: str, tenant_id: str, ticket_id: str) -> dict[str, Any]:
    """What the tool sends when ``ticket_id`` is created (the seed ticket's webhook, re-keyed)."""
    from ticket_enhancer_dev.sandbox.tickets import webhook_body

    body = webhook_body(tool, tenant_id)
    if tool == "jira":
        body["issue"].update(id=ticket_id, key=f"IT-{ticket_id}")
    elif tool == "zendesk":
        body.update(id=f"evt-{tenant_id}-{ticket_id}", subject=f"zen:ticket:{ticket_id}")
        body["detail"]["id"] = ticket_id
    elif tool == "servicenow":
        body.update(sys_id=ticket_id, number=f"INC{int(ticket_id, 16):07d}")
    elif tool == "freshservice":
        body["freshservice_webhook"]["ticket_id"] = int(ticket_id)
    else:
        body["request"].update(id=ticket_id, display_id=ticket_id)
    return body


SEEDED_TICKETS = 100  # processed tickets each tenant has before a run (RECENT_LIMIT: a full window)


def tenant_name(prefix: str, tool: str, n: int) -> str:
    return f"{prefix}-{tool.replace('_', '-')}-{n}"


def tenant_cycle(prefix: str, tenants_per_tool: int, noisy_weight: int) -> list[tuple[str, str]]:
    """Which (tool, tenant) sends each webhook, repeating: every tenant once (tools interleaved), or
    with ``noisy_weight`` > 1 the noisy tenant (``NOISY_TOOL``'s tenant 0) that many times as often,
    spread evenly between the others."""
    everyone = [(tool, tenant_name(prefix, tool, n)) for n in range(tenants_per_tool) for tool in TOOLS]
    if noisy_weight <= 1:
        return everyone
    noisy = (NOISY_TOOL, tenant_name(prefix, NOISY_TOOL, 0))
    others = [t for t in everyone if t != noisy]
    cycle: list[tuple[str, str]] = []
    for i in range(max(noisy_weight, len(others))):
        cycle += [noisy] if i < noisy_weight else []
        cycle += [others[i]] if i < len(others) else []
    return cycle


def seed_processed(stack: Launched, tenants: list[str], count: int = SEEDED_TICKETS) -> None:
    """Each tenant starts with ``count`` processed tickets (the history sandbox's cases, indexed as
    the worker indexes a ticket it noted), as a tenant has after its first day in use. Every job
    then reads a full window of newest tickets (``ContextStore.recent_tickets``, up to 100) from the
    first webhook on, as it does in steady state: the capacity measured is the steady state's, not
    an empty table's, and the runs offered a share of it stay below what the stack takes."""
    from ticket_enhancer.enhance.store import ContextStore
    from ticket_enhancer.models import Ticket
    from ticket_enhancer_dev.sandbox.history import cases

    store = ContextStore(stack.client("dynamodb"), stack.config["tables"]["ContextTable"])
    samples = cases()[:count]

    def index(job: tuple[str, int]) -> None:
        tenant_id, n = job
        case = samples[n]
        ticket = Ticket(
            tool_type=NOISY_TOOL,  # the index does not keep the tool
            tenant_id=tenant_id,
            ticket_id=f"seed-{n}",
            display_key=f"SEED-{n}",
            subject=case.subject,
            description=case.description,
            created_at=case.created,
            category=case.category,
            group=case.group,
        )
        store.index_ticket(tenant_id, ticket)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(index, [(tenant, n) for tenant in tenants for n in range(len(samples))]))


def plan(
    stack: Launched,
    webhooks: int,
    tenants_per_tool: int,
    seed: int,
    *,
    prefix: str = "load",
    first_index: int = 0,
    noisy_weight: int = 1,
    seeded: int = SEEDED_TICKETS,
) -> list[Delivery]:
    """Tenants, tickets and the deliveries in sending order, re-deliveries included. Ticket ids start
    at ``first_index`` (runs sharing a stack use disjoint ones)."""
    rng = random.Random(seed)  # noqa: S311 # nosec B311 # a reproducible test plan, not a secret
    secrets: dict[tuple[str, str], str] = {}
    for tool in TOOLS:
        for n in range(tenants_per_tool):
            tenant_id = tenant_name(prefix, tool, n)
            secrets[(tool, tenant_id)] = add_tenant(stack, tool, tenant_id)
    seed_processed(stack, [tenant for _, tenant in secrets], seeded)
    cycle = tenant_cycle(prefix, tenants_per_tool, noisy_weight)
    originals: list[Delivery] = []
    tickets: dict[str, list[str]] = {tool: [] for tool in TOOLS}
    for index in range(webhooks):
        tool, tenant_id = cycle[index % len(cycle)]
        ticket_id = ticket_id_for(tool, first_index + index)
        tickets[tool].append(ticket_id)
        url = stack.config["tools"][tool]["webhook_url"].replace("{tenant_id}", tenant_id)
        body = json.dumps(webhook_body_for(tool, tenant_id, ticket_id)).encode()
        originals.append(
            Delivery(
                index, tool, tenant_id, ticket_id, url, body, secrets[(tool, tenant_id)], str(uuid.uuid4())
            )
        )
    with httpx.Client(timeout=30, headers=stack.control_headers) as http:
        for tool, ids in tickets.items():
            if ids:
                answer = http.post(f"{stack.config['sandbox_url']}/{tool}/_tickets", json={"ticket_ids": ids})
                answer.raise_for_status()
    order: list[Delivery] = list(originals)
    repeats = max(1, round(webhooks * REDELIVERY_RATE)) if webhooks else 0
    for original in rng.sample(originals, repeats):
        again = Delivery(
            len(order),
            original.tool,
            original.tenant_id,
            original.ticket_id,
            original.url,
            original.body,
            original.secret,
            original.delivery_id,
            original=original,
        )
        # Later in the stream, as a tool's retry would be (it waits for the first answer anyway), but
        # within REPEAT_WITHIN positions: a re-send minutes after the signature would be a replay (401).
        later = rng.randint(1, max(1, min(webhooks // 4, REPEAT_WITHIN)))
        position = min(len(order), order.index(original) + later)
        order.insert(position, again)
    return order


def schedule(order: list[Delivery], rate: float) -> list[Delivery]:
    """An offered load of ``rate`` webhooks/s: the n-th delivery is sent n / rate seconds in."""
    for position, delivery in enumerate(order):
        delivery.at = position / rate
    return order


def without_tenant(order: list[Delivery], tenant_id: str) -> list[Delivery]:
    """``order`` less one tenant's deliveries; the others keep their times (``schedule``)."""
    return [d for d in order if d.tenant_id != tenant_id]
