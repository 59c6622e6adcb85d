"""Freshservice (API v2): ticket, private notes, conversations (groups, listings: ``*_history``)."""

from __future__ import annotations

import re
from typing import Any

from ticket_enhancer_dev.sandbox.incident import DESCRIPTION, SUBJECT
from ticket_enhancer_dev.sandbox.model import Answer, Call, ToolData
from ticket_enhancer_dev.sandbox.tools import freshservice_history

SEED_TICKET: dict[str, Any] = {
    "id": 123,
    "subject": SUBJECT,
    "description": f"<div>{DESCRIPTION}</div>",
    "description_text": DESCRIPTION,
    "priority": 4,
    "status": 2,
    "requester_id": 1000,
    "department_id": 18000001,  # Acme Finance
    "group_id": 17000001,
    "category": "Network",
    "created_at": "2026-11-24T08:12:00Z",
}


def webhook_body(ticket: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    """The body of the documented Workflow Automator template (admin-written)."""
    return {
        "freshservice_webhook": {
            "ticket_id": ticket["id"],
            "ticket_subject": ticket["subject"],
            "ticket_priority": "Urgent",
            "event": "created",
        }
    }


def route(data: ToolData, call: Call) -> Answer:
    if (listing := freshservice_history.route(call)) is not None:  # history and knowledge
        return listing
    m = re.fullmatch(r"/api/v2/tickets/([^/]+)(/notes|/conversations)?", call.path)
    ticket = data.find(m[1]) if m else None
    if not m or ticket is None:
        return Answer(404, {"message": "ticket not found"})
    if m[2] == "/notes" and call.method == "POST":
        return Answer(201, {"conversation": {"id": data.add_note(ticket, dict(call.json()))}})
    if m[2] == "/conversations":
        return _conversations(data.notes_of(ticket), call)
    return Answer(200, {"ticket": ticket}) if call.method == "GET" else Answer(405)


def _conversations(notes: list[dict[str, Any]], call: Call) -> Answer:
    """Oldest first, ``per_page`` (default 30, at most 100) a page; a ``link`` header names the
    next page while there is one (Freshservice API v2 pagination)."""
    try:
        page = max(1, int(call.query.get("page", ["1"])[0]))
        per_page = min(100, max(1, int(call.query.get("per_page", ["30"])[0])))
    except ValueError:
        return Answer(400, {"description": "Validation failed", "errors": [{"field": "page"}]})
    start = (page - 1) * per_page
    headers = {}
    if start + per_page < len(notes):
        host = call.headers.get("host", "localhost")
        headers["link"] = f'<https://{host}{call.path}?page={page + 1}&per_page={per_page}>; rel="next"'
    return Answer(200, {"conversations": notes[start : start + per_page]}, headers)
