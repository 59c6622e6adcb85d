"""Zendesk Support (API v2): ticket, comments (a comment with ``public: false`` is an internal note)."""

from __future__ import annotations

import base64
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
    "group_id": zendesk_history.GROUP_IDS["Network Operations"],
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
        return _comments(data.notes_of(ticket), call)
    if call.method == "PUT":
        comment = call.json()["ticket"]["comment"]
        data.add_note(ticket, {"html_body": comment["html_body"], "public": comment["public"]})
        return Answer(200, {"ticket": ticket})
    return Answer(200, _sideloaded(ticket, call)) if call.method == "GET" else Answer(405)


def _sideloaded(ticket: dict[str, Any], call: Call) -> dict[str, Any]:
    """The ticket, with its group beside it when asked (``include=groups``, as Zendesk sideloads)."""
    body: dict[str, Any] = {"ticket": ticket}
    if "groups" in (call.query.get("include") or [""])[0].split(","):
        names = {gid: name for name, gid in zendesk_history.GROUP_IDS.items()}
        group_id = ticket.get("group_id")
        body["groups"] = [{"id": group_id, "name": names[group_id]}] if group_id in names else []
    return body


def _comments(notes: list[dict[str, Any]], call: Call) -> Answer:
    """``sort_order`` asc (default) or desc; cursor pagination with ``page[size]`` (at most 100:
    ``meta.has_more``, ``meta.after_cursor``, ``links.next``), else offset pagination (100 a page,
    ``next_page``)."""
    ordered = list(reversed(notes)) if call.query.get("sort_order") == ["desc"] else list(notes)
    size_given = call.query.get("page[size]")
    try:
        if size_given is None:
            page = max(1, int(call.query.get("page", ["1"])[0]))
            start, size = (page - 1) * 100, 100
        else:
            size = min(100, max(1, int(size_given[0])))
            after = call.query.get("page[after]", [""])[0]
            start = int(base64.urlsafe_b64decode(after.encode()).decode()) if after else 0
    except ValueError:
        return Answer(400, {"error": "InvalidPaginationParameter"})
    chunk, more = ordered[start : start + size], start + size < len(ordered)
    if size_given is None:
        following = f"{call.path}.json?page={start // 100 + 2}" if more else None
        return Answer(200, {"comments": chunk, "next_page": following, "count": len(notes)})
    cursor = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    meta = {"has_more": more, "after_cursor": cursor if chunk else None, "before_cursor": None}
    return Answer(200, {"comments": chunk, "meta": meta, "links": {"next": None, "prev": None}})
