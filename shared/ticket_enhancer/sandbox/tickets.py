"""Seed tickets: one realistic incident per tool, in each tool's own JSON shape."""

from __future__ import annotations

from typing import Any

SUBJECT = "VPN drops every few minutes for the finance team"
DESCRIPTION = (
    "Since this morning the VPN disconnects every 5-10 minutes for everyone in finance. "
    "Gateway vpn-gw01.corp.example.com (10.20.0.1) stops answering pings, and the payroll "
    "server 10.20.4.17 is unreachable in between. Month-end close is blocked."
)

SEED_TICKETS: dict[str, dict[str, Any]] = {
    "jira": {
        "id": "10001",
        "key": "IT-101",
        "fields": {
            "summary": SUBJECT,
            "description": {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": DESCRIPTION}]}],
            },
            "priority": {"name": "Highest", "id": "1"},
            "reporter": {
                "accountId": "5b10a2844c20165700ede21g",
                "displayName": "Dana Fields",
                "emailAddress": "dana@example.com",
            },
            "created": "2026-11-24T09:12:00.000+0100",
            "status": {"name": "Open"},
            "project": {"key": "IT"},
        },
    },
    "zendesk": {
        "id": 35436,
        "subject": SUBJECT,
        "description": DESCRIPTION,
        "priority": "urgent",
        "status": "new",
        "requester_id": 20978392,
        "created_at": "2026-11-24T08:12:00Z",
    },
    "servicenow": {
        "sys_id": "9d385017c611228701d22104cc95c371",
        "number": "INC0010001",
        "short_description": SUBJECT,
        "description": DESCRIPTION,
        "priority": "1",
        "state": "1",
        "caller_id": "Dana Fields",
        "opened_at": "2026-11-24 08:12:00",
        "sys_created_on": "2026-11-24 08:12:00",
    },
    "freshservice": {
        "id": 123,
        "subject": SUBJECT,
        "description": f"<div>{DESCRIPTION}</div>",
        "description_text": DESCRIPTION,
        "priority": 4,
        "status": 2,
        "requester_id": 1000,
        "created_at": "2026-11-24T08:12:00Z",
    },
    "servicedesk_plus": {
        "id": "123456789",
        "display_id": "8",
        "subject": SUBJECT,
        "description": f"<div>{DESCRIPTION}</div>",
        "priority": {"name": "Urgent", "id": "3"},
        "status": {"name": "Open"},
        "requester": {"name": "Dana Fields", "email_id": "dana@example.com"},
        "created_time": {"value": "1795507920000", "display_value": "Nov 24, 2026 08:12 AM"},
    },
}


def seed_ticket_id(tool: str) -> str:
    ticket = SEED_TICKETS[tool]
    return str(ticket.get("sys_id") or ticket["id"])


def webhook_body(tool: str, tenant_id: str) -> dict[str, Any]:
    """The body the tool (or its admin's template) would send when the seed ticket is created."""
    ticket = SEED_TICKETS[tool]
    if tool == "jira":
        return {
            "webhookEvent": "jira:issue_created",
            "timestamp": 1795507920000,
            "issue": {"id": ticket["id"], "key": ticket["key"], "fields": ticket["fields"]},
        }
    if tool == "zendesk":
        return {
            "type": "zen:event-type:ticket.created",
            "id": f"evt-{tenant_id}-{ticket['id']}",
            "time": ticket["created_at"],
            "account_id": 1,
            "subject": f"zen:ticket:{ticket['id']}",
            "detail": {**ticket, "id": str(ticket["id"]), "requester_id": str(ticket["requester_id"])},
        }
    if tool == "servicenow":
        return {
            "sys_id": ticket["sys_id"],
            "number": ticket["number"],
            "short_description": ticket["short_description"],
            "priority": ticket["priority"],
        }
    if tool == "freshservice":
        return {
            "freshservice_webhook": {
                "ticket_id": ticket["id"],
                "ticket_subject": ticket["subject"],
                "ticket_priority": "Urgent",
                "event": "created",
            }
        }
    return {
        "request": {
            "id": ticket["id"],
            "display_id": ticket["display_id"],
            "subject": ticket["subject"],
            "priority": ticket["priority"],
        }
    }


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
