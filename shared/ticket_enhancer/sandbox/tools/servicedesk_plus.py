"""ManageEngine ServiceDesk Plus (API v3): request, notes (form-encoded ``input_data``)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

from ticket_enhancer.sandbox.incident import DESCRIPTION, REQUESTER, REQUESTER_EMAIL, SUBJECT
from ticket_enhancer.sandbox.model import Answer, Call, ToolData
from ticket_enhancer.sandbox.tools import servicedesk_plus_history

SEED_TICKET: dict[str, Any] = {
    "id": "123456789",
    "display_id": "8",
    "subject": SUBJECT,
    "description": f"<div>{DESCRIPTION}</div>",
    "priority": {"name": "Urgent", "id": "3"},
    "status": {"name": "Open"},
    "requester": {"name": REQUESTER, "email_id": REQUESTER_EMAIL},
    "created_time": {"value": "1795507920000", "display_value": "Nov 24, 2026 08:12 AM"},
    "site": {"name": "Acme Finance"},
    "category": {"name": "Network"},
    "group": {"id": servicedesk_plus_history.GROUP_IDS["Network Operations"], "name": "Network Operations"},
}
OK = {"status_code": 2000, "status": "success"}


def webhook_body(ticket: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    """The body of the documented custom-trigger template (admin-written)."""
    return {
        "request": {
            "id": ticket["id"],
            "display_id": ticket["display_id"],
            "subject": ticket["subject"],
            "priority": ticket["priority"],
        }
    }


def route(data: ToolData, call: Call) -> Answer:
    if (listing := servicedesk_plus_history.route(call)) is not None:  # history and knowledge
        return listing
    m = re.fullmatch(r"/api/v3/requests/([^/]+)(/notes)?", call.path)
    ticket = data.find(m[1]) if m else None
    if not m or ticket is None:
        return Answer(404, {"response_status": {"status_code": 4000, "status": "failed"}})
    if m[2] and call.method == "POST":
        # Cloud (Zoho OAuth) wraps the note in "request_note", on-prem (authtoken) in "note".
        wrapper = "note" if "authtoken" in call.headers else "request_note"
        note = json.loads(parse_qs(call.body.decode())["input_data"][0])
        if set(note) != {wrapper}:
            failed = {
                "status_code": 4000,
                "status": "failed",
                "messages": [{"message": f"expected {wrapper}"}],
            }
            return Answer(400, {"response_status": failed})
        return Answer(201, {wrapper: {"id": data.add_note(ticket, note[wrapper])}, "response_status": OK})
    if m[2]:
        return _notes(data.notes_of(ticket), call)
    return Answer(200, {"request": ticket, "response_status": OK}) if call.method == "GET" else Answer(405)


def _notes(notes: list[dict[str, Any]], call: Call) -> Answer:
    """A page of notes: ``input_data={"list_info": {"row_count", "start_index"}}`` (row_count 10 by
    default, at most 100; start_index from 1), answered with ``list_info.has_more_rows``."""
    try:
        raw = call.query.get("input_data", ["{}"])[0]
        info = json.loads(raw).get("list_info", {})
        size = min(100, max(1, int(info.get("row_count", 10))))
        start = max(1, int(info.get("start_index", 1)))
    except (ValueError, AttributeError, TypeError):
        failed = {"status_code": 4000, "status": "failed", "messages": [{"message": "invalid input_data"}]}
        return Answer(400, {"response_status": failed})
    page = notes[start - 1 : start - 1 + size]
    list_info = {
        "has_more_rows": start - 1 + size < len(notes),
        "start_index": start,
        "row_count": len(page),
    }
    return Answer(200, {"notes": page, "list_info": list_info, "response_status": [OK]})
