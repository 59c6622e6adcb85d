"""ServiceNow (Table API, incident table): record, work notes (``sys_journal_field``)."""

from __future__ import annotations

import re
from typing import Any

from ticket_enhancer.sandbox.incident import DESCRIPTION, REQUESTER, SUBJECT
from ticket_enhancer.sandbox.model import Answer, Call, ToolData
from ticket_enhancer.sandbox.tools import servicenow_history

ID_FIELD = "sys_id"
KEYS = ("number",)
SEED_TICKET: dict[str, Any] = {
    "sys_id": "9d385017c611228701d22104cc95c371",
    "number": "INC0010001",
    "short_description": SUBJECT,
    "description": DESCRIPTION,
    "priority": "1",
    "state": "1",
    "caller_id": REQUESTER,
    "opened_at": "2026-11-24 08:12:00",
    "sys_created_on": "2026-11-24 08:12:00",
    "company": servicenow_history.COMPANIES[0],  # Acme Finance
    "category": "network",
    "assignment_group": servicenow_history.sys_id("group", "Network Operations"),
}


def webhook_body(ticket: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    """The body of the documented Business Rule template (admin-written)."""
    return {
        "sys_id": ticket["sys_id"],
        "number": ticket["number"],
        "short_description": ticket["short_description"],
        "priority": ticket["priority"],
    }


def route(data: ToolData, call: Call) -> Answer:
    if (listing := servicenow_history.route(call)) is not None:  # history and knowledge
        return listing
    if call.path == "/api/now/table/sys_journal_field":
        sys_id = re.search(r"element_id=([^^]+)", call.query.get("sysparm_query", [""])[0])
        notes = data.notes.get(sys_id[1], []) if sys_id else []
        return Answer(200, {"result": [{"value": n["value"]} for n in notes]})
    m = re.fullmatch(r"/api/now/table/incident/([^/]+)", call.path)
    ticket = data.find(m[1]) if m else None
    if not m or ticket is None:
        return Answer(404, {"error": {"message": "No Record found"}})
    if call.method == "PATCH":
        data.add_note(ticket, {"value": call.json()["work_notes"]})
        return Answer(200, {"result": ticket})
    return Answer(200, {"result": ticket}) if call.method == "GET" else Answer(405)
