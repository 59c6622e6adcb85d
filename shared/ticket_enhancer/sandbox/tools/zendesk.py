"""Zendesk Support (API v2): ticket, comments (a comment with ``public: false`` is an internal note)."""

from __future__ import annotations

import re
from typing import Any

from ticket_enhancer.sandbox.incident import DESCRIPTION, SUBJECT
from ticket_enhancer.sandbox.model import Answer, Call, ToolData
from ticket_enhancer.sandbox.tools import zendesk_history

SEED_TICKET: dict[str, Any] = {
    "id": 35436,
    "subject": SUBJECT,
    "description": DESCRIPTION,
    "priority": "urgent",
    "status": "new",
    "requester_id": 20978392,
    "organization_id": 360001,
    "group_id": 9001,
    "type": "incident",
    "created_at": "2026-11-24T08:12:00Z",
}


def webhook_body(ticket: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    """A Zendesk event webhook (``zen:event-type:ticket.created``)."""
    return {
        "type": "zen:event-type:ticket.created",
        "id": f"evt-{tenant_id}-{ticket['id']}",
        "time": ticket["created_at"],
        "account_id": 1,
        "subject": f"zen:ticket:{ticket['id']}",
        "detail": {**ticket, "id": str(ticket["id"]), "requester_id": str(ticket["requester_id"])},
    }


def route(data: ToolData, call: Call) -> Answer:
    if (listing := zendesk_history.route(call)) is not None:  # history and knowledge
        return listing
    m = re.fullmatch(r"/api/v2/tickets/([^/]+)(/comments)?", call.path)
    ticket = data.find(m[1]) if m else None
    if not m or ticket is None:
        return Answer(404, {"error": "RecordNotFound"})
    if m[2]:
        return Answer(200, {"comments": data.notes_of(ticket)})
    if call.method == "PUT":
        comment = call.json()["ticket"]["comment"]
        data.add_note(ticket, {"html_body": comment["html_body"], "public": comment["public"]})
        return Answer(200, {"ticket": ticket})
    return Answer(200, {"ticket": ticket}) if call.method == "GET" else Answer(405)
