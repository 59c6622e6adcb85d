"""Seed tickets: one realistic incident per tool, in each tool's own JSON shape.

Each tool's part (its seed ticket, id field and webhook body) lives in its module under
``sandbox/tools/``; this module gives access to them by tool name, plus what the demo loads.
The resolved-ticket history and knowledge base every tool lists (``tenants sync``) come from
``sandbox.history``, rendered in each tool's shapes by ``sandbox/tools/<tool>_history.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ticket_enhancer.sandbox import tools
from ticket_enhancer.sandbox.incident import DESCRIPTION, SUBJECT

__all__ = [
    "DEMO_ARTICLES",
    "DEMO_ASSETS",
    "DEMO_PAST_TICKET",
    "DESCRIPTION",
    "SEED_TICKETS",
    "SUBJECT",
    "seed_ticket_id",
    "webhook_body",
]


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
