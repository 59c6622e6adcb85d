"""ServiceNow (Table API): incidents and requested items (``sc_req_item``), work notes, OAuth.

Records are stored with their values as the database holds them (a caller is a sys_id, a state a
number) and answered the way the Table API does: raw values by default, display values with
``sysparm_display_value=true``, both (``{"display_value", "value"}``) with ``all``. ``work_notes``
reads as an empty value; its display value is every work note, newest first, each under a
``<time> - <user> (Work notes)`` line. ``sys_journal_field`` lists the entries one by one.
``POST /oauth_token.do`` grants client-credentials tokens; calls carry Basic or such a Bearer token.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import parse_qs

from ticket_enhancer.sandbox.history import GROUPS, SCOPES
from ticket_enhancer.sandbox.incident import DESCRIPTION, REQUESTER, SUBJECT
from ticket_enhancer.sandbox.model import Answer, Call, ToolData
from ticket_enhancer.sandbox.tools import servicenow_history

ID_FIELD = "sys_id"
KEYS = ("number",)
CALLER_SYS_ID = "62826bf03710200044e0bfc8bcbe5df1"
SEED_TICKET: dict[str, Any] = {
    "sys_id": "9d385017c611228701d22104cc95c371",
    "sys_class_name": "incident",
    "number": "INC0010001",
    "short_description": SUBJECT,
    "description": DESCRIPTION,
    "priority": "1",
    "state": "1",
    "caller_id": CALLER_SYS_ID,
    "opened_at": "2026-11-24 08:12:00",
    "sys_created_on": "2026-11-24 08:12:00",
    "company": servicenow_history.COMPANIES[0],  # Acme Finance
    "category": "network",
    "assignment_group": servicenow_history.sys_id("group", "Network Operations"),
}
# What each stored value displays as (choice labels, reference names).
DISPLAY: dict[str, dict[str, str]] = {
    "priority": {
        "1": "1 - Critical",
        "2": "2 - High",
        "3": "3 - Moderate",
        "4": "4 - Low",
        "5": "5 - Planning",
    },
    "state": {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed"},
    "caller_id": {CALLER_SYS_ID: REQUESTER},
    "requested_for": {CALLER_SYS_ID: REQUESTER},
    "company": {servicenow_history.sys_id("company", name): name for name in SCOPES},
    "assignment_group": {servicenow_history.sys_id("group", name): name for name in GROUPS.values()},
    "category": {"network": "Network"},
    "opened_at": {"2026-11-24 08:12:00": "24/11/2026 09:12:00"},  # the API user's zone and format
    "sys_created_on": {"2026-11-24 08:12:00": "24/11/2026 09:12:00"},
}
OAUTH_PREFIX = "sn-oauth-"
WORK_NOTE_TIME = "24/11/2026 09:13:00"
WORK_NOTE_USER = "Ticket Enhancer (integration)"


def requested_item(sys_id: str = "aeed229047801200e0ef563dbb9a71c2") -> dict[str, Any]:
    """A requested item (``sc_req_item``) raised for the same person."""
    return {
        "sys_id": sys_id,
        "sys_class_name": "sc_req_item",
        "number": "RITM0010001",
        "short_description": "New laptop for the Berlin office",
        "description": "Standard developer laptop, 32 GB.",
        "priority": "3",
        "state": "1",
        "requested_for": CALLER_SYS_ID,
        "opened_at": "2026-11-24 08:12:00",
        "sys_created_on": "2026-11-24 08:12:00",
    }


def webhook_body(ticket: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    """The body of the documented Business Rule template (admin-written)."""
    return {
        "sys_id": ticket["sys_id"],
        "number": ticket["number"],
        "table": ticket.get("sys_class_name", "incident"),
        "short_description": ticket["short_description"],
        "priority": ticket["priority"],
    }


def oauth_token(client_id: str, client_secret: str) -> str:
    """The access token the sandbox grants to a client (stateless: derived from its credentials)."""
    return OAUTH_PREFIX + hashlib.sha256(f"{client_id}:{client_secret}".encode()).hexdigest()[:24]


def _journal(notes: list[dict[str, Any]]) -> str:
    return "".join(
        f"{WORK_NOTE_TIME} - {WORK_NOTE_USER} (Work notes)\n{n['value']}\n\n" for n in reversed(notes)
    )


def _field(key: str, value: Any, mode: str) -> Any:
    display = DISPLAY.get(key, {}).get(value, value) if isinstance(value, str) else value
    if mode == "all":
        return {"display_value": display, "value": value}
    return display if mode == "true" else value


def _answer(ticket: dict[str, Any], notes: list[dict[str, Any]], call: Call) -> dict[str, Any]:
    mode = call.query.get("sysparm_display_value", ["false"])[0]
    record = {**ticket, "work_notes": ""}
    fields = call.query.get("sysparm_fields", [""])[0]
    if fields:
        record = {k: v for k, v in record.items() if k in fields.split(",")}
    out = {k: _field(k, v, mode) for k, v in record.items()}
    if "work_notes" in out and mode in ("true", "all"):  # the display value holds every entry
        journal = _journal(notes)
        out["work_notes"] = journal if mode == "true" else {"display_value": journal, "value": ""}
    return out


def _token(call: Call) -> Answer:
    form = {k: v[0] for k, v in parse_qs(call.body.decode()).items()}
    if (
        form.get("grant_type") != "client_credentials"
        or not form.get("client_id")
        or not form.get("client_secret")
    ):
        return Answer(401, {"error_description": "access_denied", "error": "server_error"})
    token = oauth_token(form["client_id"], form["client_secret"])
    answer = {"access_token": token, "scope": "useraccount", "expires_in": 1799}
    answer["token_type"] = "Bearer"  # noqa: S105 # nosec B105 # the OAuth token type, not a password
    return Answer(200, answer)


def _authorised(call: Call) -> bool:
    auth = call.headers.get("authorization", "")
    return auth.startswith("Basic ") or (auth.startswith("Bearer ") and auth[7:].startswith(OAUTH_PREFIX))


def _outside_records(call: Call) -> Answer | None:
    """The token endpoint, the auth check, history and knowledge listings; None for the records."""
    if call.path == "/oauth_token.do":
        return _token(call) if call.method == "POST" else Answer(405)
    if not _authorised(call):
        refused = {"message": "User Not Authenticated", "detail": "Required to provide Auth information"}
        return Answer(401, {"error": refused})
    return servicenow_history.route(call)  # history and knowledge


def route(data: ToolData, call: Call) -> Answer:
    if (answer := _outside_records(call)) is not None:
        return answer
    if call.path == "/api/now/table/sys_journal_field":
        sys_id = re.search(r"element_id=([^^]+)", call.query.get("sysparm_query", [""])[0])
        notes = data.notes.get(sys_id[1], []) if sys_id else []
        return Answer(200, {"result": [{"value": n["value"]} for n in notes]})
    m = re.fullmatch(r"/api/now/table/([a-z_]+)/([^/]+)", call.path)
    ticket = data.find(m[2]) if m else None
    if not m or ticket is None or ticket.get("sys_class_name", "incident") != m[1]:
        return Answer(
            404,
            {
                "error": {
                    "message": "No Record found",
                    "detail": "Record doesn't exist or ACL restricts the record retrieval",
                },
                "status": "failure",
            },
        )
    if call.method == "PATCH":
        data.add_note(ticket, {"value": call.json()["work_notes"]})
        return Answer(200, {"result": _answer(ticket, data.notes_of(ticket), call)})
    return (
        Answer(200, {"result": _answer(ticket, data.notes_of(ticket), call)})
        if call.method == "GET"
        else Answer(405)
    )
