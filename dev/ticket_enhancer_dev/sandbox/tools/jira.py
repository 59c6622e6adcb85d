"""Jira Service Management Cloud (REST API v3): issue, comments."""

from __future__ import annotations

import re
from typing import Any

from ticket_enhancer_dev.sandbox.incident import DESCRIPTION, REQUESTER, REQUESTER_EMAIL, SUBJECT
from ticket_enhancer_dev.sandbox.model import Answer, Call, ToolData
from ticket_enhancer_dev.sandbox.tools import jira_history

KEYS = ("key",)
SITE_URL = "https://acme.atlassian.net"  # what serverInfo names as the site (through the gateway too)
SEED_TICKET: dict[str, Any] = {
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
            "displayName": REQUESTER,
            "emailAddress": REQUESTER_EMAIL,
        },
        "created": "2026-11-24T09:12:00.000+0100",
        "status": {"name": "Open"},
        "project": {"key": "IT", "projectTypeKey": "service_desk"},
        "issuetype": {"name": "Network"},
        "components": [
            {"id": jira_history.component_id(0, "Network Operations"), "name": "Network Operations"}
        ],
    },
}


def renamed(ticket: dict[str, Any], ticket_id: str) -> None:
    ticket["key"] = f"IT-{ticket_id}"


def webhook_body(ticket: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    return {
        "webhookEvent": "jira:issue_created",
        "timestamp": 1795507920000,
        "issue": {"id": ticket["id"], "key": ticket["key"], "fields": ticket["fields"]},
    }


def automation_body(ticket: dict[str, Any]) -> dict[str, Any]:
    """Automation "Send web request" with "Issue data (Automation format)": the issue at the top level."""
    return {"id": ticket["id"], "key": ticket["key"], "fields": ticket["fields"]}


def _internal(properties: Any) -> bool:
    return isinstance(properties, list) and any(
        isinstance(p, dict) and p.get("key") == "sd.public.comment" and p.get("value") == {"internal": True}
        for p in properties
    )


def _add_comment(data: ToolData, ticket: dict[str, Any], call: Call) -> Answer:
    """201 with the comment; ``jsdPublic`` only in service projects: false for an internal comment
    (``sd.public.comment``), true otherwise or where the project makes every comment public
    (``_comments_public``, a sandbox switch standing for a misconfigured project)."""
    body = call.json()
    note = {"body": body["body"], "properties": body.get("properties", [])}
    comment_id = str(data.add_note(ticket, note))
    note["id"] = comment_id
    answer: dict[str, Any] = {
        "id": comment_id,
        "body": note["body"],
        "created": "2026-11-24T09:13:00.000+0100",
    }
    if ticket["fields"]["project"].get("projectTypeKey") == "service_desk":
        answer["jsdPublic"] = bool(ticket.get("_comments_public")) or not _internal(note["properties"])
        note["jsdPublic"] = answer["jsdPublic"]  # the comment list shows it too (Jira's Comment object)
    return Answer(201, answer)


def _delete_comment(data: ToolData, issue: str, comment_id: str) -> Answer:
    found = data.find(issue)
    if found is None or not data.remove_notes(found, lambda n: str(n.get("id")) != comment_id):
        return Answer(404, {"errorMessages": ["Can not find a comment for the id"]})
    return Answer(204)


def _outside_issues(data: ToolData, call: Call) -> Answer | None:
    """serverInfo, a comment's deletion, history and knowledge listings; None for the issue routes."""
    if call.path == "/rest/api/3/serverInfo" and call.method == "GET":
        return Answer(200, {"baseUrl": SITE_URL, "deploymentType": "Cloud", "version": "1001.0.0-SNAPSHOT"})
    deleting = re.fullmatch(r"/rest/api/3/issue/([^/]+)/comment/(\d+)", call.path)
    if deleting and call.method == "DELETE":
        return _delete_comment(data, deleting[1], deleting[2])
    return jira_history.route(call)  # history and knowledge


def route(data: ToolData, call: Call) -> Answer:
    if (answer := _outside_issues(data, call)) is not None:
        return answer
    m = re.fullmatch(r"/rest/api/3/issue/([^/]+)(/comment)?", call.path)
    ticket = data.find(m[1]) if m else None
    if not m or ticket is None:
        return Answer(404, {"errorMessages": ["Issue does not exist"]})
    if m[2] and call.method == "POST":
        return _add_comment(data, ticket, call)
    if m[2] and call.method == "GET":
        return _comments(data.notes_of(ticket), call)
    served = {k: v for k, v in ticket.items() if not k.startswith("_")}  # sandbox switches stay inside
    return Answer(200, served) if call.method == "GET" else Answer(405)


def _comments(notes: list[dict[str, Any]], call: Call) -> Answer:
    """A page of comments: ``orderBy`` created / -created, ``startAt``, ``maxResults`` (at most 100
    here: Jira may return fewer than asked), with ``total``."""
    try:
        start = max(0, int(call.query.get("startAt", ["0"])[0]))
        size = min(100, max(1, int(call.query.get("maxResults", ["100"])[0])))
    except ValueError:
        return Answer(400, {"errorMessages": ["startAt and maxResults must be numbers"]})
    order = call.query.get("orderBy", ["created"])[0]
    ordered = list(reversed(notes)) if order == "-created" else list(notes)
    page = ordered[start : start + size]
    return Answer(200, {"startAt": start, "maxResults": size, "total": len(notes), "comments": page})
