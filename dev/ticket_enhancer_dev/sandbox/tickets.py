"""Seed tickets: one realistic incident per tool, in each tool's own JSON shape.

Each tool's part (its seed ticket, id field and webhook body) lives in its module under
``sandbox/tools/``; this module gives access to them by tool name, plus what the demo loads.
The resolved-ticket history and knowledge base every tool lists (``tenants sync``) come from
``sandbox.history``, rendered in each tool's shapes by ``sandbox/tools/<tool>_history.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from ticket_enhancer_dev.sandbox import tools
from ticket_enhancer_dev.sandbox.incident import DESCRIPTION, SUBJECT

__all__ = [
    "DEMO_ARTICLES",
    "DEMO_ASSETS",
    "DEMO_BURST",
    "DEMO_FOREIGN_TICKET",
    "DEMO_PAST_TICKET",
    "DESCRIPTION",
    "SEED_CREATED_AT",
    "SEED_TICKETS",
    "SUBJECT",
    "seed_ticket_id",
    "webhook_body",
    "webhook_body_for",
]


# When every tool's seed ticket was opened (its sandbox module states it in the tool's own format):
# the demo's burst of near-duplicates is placed in the hour before it, as a real burst would be.
SEED_CREATED_AT = datetime(2026, 11, 24, 8, 12, tzinfo=UTC)


def _tool(tool: str) -> tools.SandboxTool:
    found = tools.load(tool)
    if found is None:
        raise KeyError(f"the sandbox has no module for tool {tool!r} (sandbox/tools/{tool}.py)")
    return found


class _SeedTickets(Mapping[str, Mapping[str, Any]]):
    """Tool -> its seed ticket (read-only), for every tool with a sandbox module."""

    def __getitem__(self, tool: str) -> Mapping[str, Any]:
        return _tool(tool).seed_ticket

    def __iter__(self) -> Iterator[str]:
        return iter(tools.available())

    def __len__(self) -> int:
        return len(tools.available())


SEED_TICKETS: Mapping[str, Mapping[str, Any]] = _SeedTickets()


def seed_ticket_id(tool: str) -> str:
    return _tool(tool).seed_id()


def webhook_body(tool: str, tenant_id: str) -> dict[str, Any]:
    """The body the tool (or its admin's template) would send when the seed ticket is created."""
    sandbox_tool = _tool(tool)
    return sandbox_tool.webhook_body(sandbox_tool.seed_copy(), tenant_id)


# What the demo loads for each tenant, as `tenants knowledge` / `tenants assets` would.
DEMO_ARTICLES: tuple[dict[str, str], ...] = (
    {
        "title": "VPN disconnects: check the gateway's IKE rekey and MTU",
        "body": "If VPN sessions drop every few minutes, check IKE/IPsec rekey timers on the VPN gateway, "
        "the MTU on the tunnel interface and the gateway's CPU. Finance uses split tunnelling.",
        "url": "https://kb.example.com/articles/vpn-disconnects",
    },
    {
        "title": "Payroll server maintenance windows",
        "body": "The payroll server is patched on the first Sunday of the month.",
        "url": "https://kb.example.com/articles/payroll-maintenance",
    },
    {
        "title": "Printer queue stuck",
        "body": "Restart the print spooler service.",
        "url": "https://kb.example.com/articles/printer-queue",
    },
)
DEMO_ASSETS: tuple[tuple[str, str, str], ...] = (
    ("10.20.0.0/16", "Finance network", "VLAN 120, behind fw-finance"),
    ("vpn-gw01.corp.example.com", "VPN gateway 01", "FortiGate 200F; firmware upgraded last Friday"),
    ("10.20.4.17", "Payroll server", "Business-critical during month-end close"),
)
DEMO_PAST_TICKET = {
    "ticket_id": "past-1",
    "display_key": "PAST-1",
    "subject": "VPN keeps disconnecting for the sales team",
    "description": "VPN sessions dropped every 10 minutes; fixed by raising the IKE rekey timer on vpn-gw01.",
}

# The demo's other tickets (issue 17): one not in English, on Zendesk (whose ticket fields are flat),
# and a burst of near-duplicates of the seed incident opened in the last hour, indexed for every
# tenant as the worker indexes the tickets it processed (``minutes_ago`` sets their creation time).
DEMO_FOREIGN_TICKET: dict[str, Any] = {
    "tool": "zendesk",
    "ticket_id": "35437",
    "fields": {
        "subject": "VPN bricht alle paar Minuten ab: Buchhaltung kann nicht buchen",
        "description": "Seit heute Morgen trennt sich das VPN bei allen in der Buchhaltung alle 5 bis 10 "
        "Minuten. Das Gateway vpn-gw01.corp.example.com antwortet nicht mehr auf Ping. Bitte dringend "
        "prüfen, der Monatsabschluss steht still. Rückruf bitte unter +49 30 12345678.",
    },
}
DEMO_BURST: tuple[dict[str, Any], ...] = tuple(
    {
        "ticket_id": f"burst-{n}",
        "display_key": f"BURST-{n}",
        "subject": subject,
        "description": "Since this morning the VPN disconnects every few minutes for finance; gateway "
        "vpn-gw01.corp.example.com (10.20.0.1) stops answering pings.",
        "minutes_ago": minutes,
    }
    for n, (subject, minutes) in enumerate(
        (
            ("VPN keeps dropping in finance", 52),
            ("VPN disconnects every 5 minutes", 41),
            ("Finance VPN unstable since this morning", 33),
            ("VPN drops, cannot reach payroll server", 18),
            ("VPN connection lost again and again", 6),
        ),
        1,
    )
)


def webhook_body_for(tool: str, tenant_id: str, ticket_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The webhook body for a copy of the seed ticket under ``ticket_id`` with ``fields`` changed."""
    sandbox_tool = _tool(tool)
    return sandbox_tool.webhook_body(sandbox_tool.copy_as(ticket_id) | fields, tenant_id)
