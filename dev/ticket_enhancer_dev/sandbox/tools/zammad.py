"""Zammad (REST API v1): ticket (compact, or ``?expand=true`` with names), articles, internal notes.

Tickets are stored in their expanded form plus, under ``article``, the customer's email that opened
them (a Zammad ticket has no text of its own: its first article is its description). The ticket
answers leave ``article`` out; ``by_ticket`` lists it first, then the notes posted since.
"""

from __future__ import annotations

import re
from typing import Any

from ticket_enhancer_dev.sandbox.incident import DESCRIPTION, REQUESTER, REQUESTER_EMAIL, SUBJECT
from ticket_enhancer_dev.sandbox.model import Answer, Call, ToolData
from ticket_enhancer_dev.sandbox.tools import zammad_history

SEED_TICKET: dict[str, Any] = {
    "id": 4711,
    "number": "31004",
    "title": SUBJECT,
    "group_id": 2,
    "group": "Service Desk",
    "state_id": 1,
    "state": "new",
    "priority_id": 3,
    "priority": "3 high",
    "customer_id": 12,
    "customer": REQUESTER_EMAIL,
    "organization_id": 4,
    "organization": "Finance",
    "owner_id": 1,
    "owner": "-",
    "article_count": 1,
    "create_article_type": "email",
    "create_article_sender": "Customer",
    "created_at": "2026-11-24T08:12:00.000Z",
    "updated_at": "2026-11-24T08:12:00.000Z",
    "article": {  # stored beside the ticket, served by by_ticket (see above)
        "from": f"{REQUESTER} <{REQUESTER_EMAIL}>",
        "body": f"<div>{DESCRIPTION}</div>",
        "content_type": "text/html",
        "type": "email",
        "sender": "Customer",
    },
}
STORED_ONLY = frozenset({"article"})
# Present only with ?expand=true: the names beside the ids.
EXPANDED_ONLY = frozenset(
    {
        "group",
        "state",
        "priority",
        "customer",
        "organization",
        "owner",
        "create_article_type",
        "create_article_sender",
    }
)
ARTICLE_TYPES = frozenset({"note", "email", "phone", "web"})
CONTENT_TYPES = frozenset({"text/html", "text/plain"})


def renamed(ticket: dict[str, Any], ticket_id: str) -> None:
    if ticket_id.isdigit():
        ticket["id"] = int(ticket_id)
    ticket["number"] = f"31{ticket_id}"


def first_article(ticket: dict[str, Any]) -> dict[str, Any]:
    """The customer's email that opened the ticket."""
    return {
        "id": 1,
        "ticket_id": ticket["id"],
        "to": ticket["group"],
        "subject": ticket["title"],
        **ticket["article"],
        "internal": False,
        "created_at": ticket["created_at"],
    }


def webhook_body(ticket: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    """The default body of a trigger's webhook: the ticket and the article, associations as objects."""
    first, last = REQUESTER.split(" ", 1)
    return {
        "ticket": {
            "id": ticket["id"],
            "number": ticket["number"],
            "title": ticket["title"],
            "group_id": ticket["group_id"],
            "group": {"id": ticket["group_id"], "name": ticket["group"]},
            "state_id": ticket["state_id"],
            "state": ticket["state"],
            "priority_id": ticket["priority_id"],
            "priority": {"id": ticket["priority_id"], "name": ticket["priority"]},
            "customer_id": ticket["customer_id"],
            "customer": {
                "id": ticket["customer_id"],
                "firstname": first,
                "lastname": last,
                "email": REQUESTER_EMAIL,
                "login": REQUESTER_EMAIL,
            },
            "organization_id": ticket["organization_id"],
            "organization": {"id": ticket["organization_id"], "name": ticket["organization"]},
            "article_count": ticket["article_count"],
            "article_ids": [1],
            "create_article_type": ticket["create_article_type"],
            "create_article_sender": ticket["create_article_sender"],
            "created_at": ticket["created_at"],
            "updated_at": ticket["updated_at"],
        },
        "article": first_article(ticket),
    }


def _not_found(ticket_id: Any) -> Answer:
    message = f"Couldn't find Ticket with 'id'={ticket_id}"
    return Answer(404, {"error": message, "error_human": message})


def _article_problem(article: Any) -> str | None:
    """Why Zammad would refuse to create ``article`` (422), or None."""
    if not isinstance(article, dict):
        return "Invalid payload"
    raw_id = article.get("ticket_id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, int | str) or not str(raw_id).isdigit():
        return "Need ticket_id"
    body, kind, content_type = article.get("body"), article.get("type", "note"), article.get("content_type")
    if not isinstance(body, str) or not body:
        return "Need at least article: body"
    if kind not in ARTICLE_TYPES or content_type not in CONTENT_TYPES:
        return f"Invalid type {kind!r} or content_type {content_type!r}"
    if not isinstance(article.get("internal", False), bool):
        return "internal must be true or false"
    return None


def _add_note(data: ToolData, call: Call) -> Answer:
    try:
        article = call.json()
    except ValueError:
        article = None
    problem = _article_problem(article)
    if problem:
        return Answer(422, {"error": problem, "error_human": problem})
    ticket = data.find(str(article["ticket_id"]))
    if ticket is None:
        return _not_found(article["ticket_id"])
    note = {
        "ticket_id": ticket["id"],
        "body": article["body"],
        "content_type": article["content_type"],
        "type": article.get("type", "note"),
        "internal": article.get("internal", False),
        "sender": "Agent",
        "created_at": "2026-11-24T08:13:00.000Z",
    }
    note["id"] = data.add_note(ticket, note) + 1  # article 1 is the customer's email
    ticket["article_count"] = len(data.notes_of(ticket)) + 1
    return Answer(201, note)


def _ticket(ticket: dict[str, Any], notes: list[dict[str, Any]], call: Call) -> Answer:
    if call.method != "GET":
        return Answer(405)
    served = {k: v for k, v in ticket.items() if k not in STORED_ONLY}
    if call.query.get("expand") == ["true"]:
        return Answer(200, {**served, "article_ids": [1, *(n["id"] for n in notes)]})
    return Answer(200, {k: v for k, v in served.items() if k not in EXPANDED_ONLY})


def route(data: ToolData, call: Call) -> Answer:
    if not call.headers.get("authorization", "").startswith("Token token="):
        return Answer(401, {"error": "Authentication required"})
    if (listing := zammad_history.route(call)) is not None:  # history and knowledge
        return listing
    if call.path == "/api/v1/ticket_articles":
        return _add_note(data, call) if call.method == "POST" else Answer(405)
    m = re.fullmatch(r"/api/v1/ticket_articles/by_ticket/([^/]+)|/api/v1/tickets/([^/]+)", call.path)
    ticket = data.find(m[1] or m[2]) if m else None
    if not m or ticket is None:
        return _not_found((m[1] or m[2]) if m else "")
    if m[2]:
        return _ticket(ticket, data.notes_of(ticket), call)
    return (
        Answer(200, [first_article(ticket), *data.notes_of(ticket)]) if call.method == "GET" else Answer(405)
    )
