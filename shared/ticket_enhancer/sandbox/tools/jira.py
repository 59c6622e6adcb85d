"""Jira Service Management Cloud (REST API v3): issue, comments."""

from __future__ import annotations

import re
from typing import Any

from ticket_enhancer.sandbox.incident import DESCRIPTION, REQUESTER, REQUESTER_EMAIL, SUBJECT
from ticket_enhancer.sandbox.model import Answer, Call, ToolData
from ticket_enhancer.sandbox.tools import jira_history

KEYS = ("key",)
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
        "project": {"key": "IT"},
        "issuetype": {"name": "Network"},
        "components": [{"name": "Network Operations"}],
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


def route(data: ToolData, call: Call) -> Answer:
    if (listing := jira_history.route(call)) is not None:  # history and knowledge
        return listing
    m = re.fullmatch(r"/rest/api/3/issue/([^/]+)(/comment)?", call.path)
    ticket = data.find(m[1]) if m else None
    if not m or ticket is None:
        return Answer(404, {"errorMessages": ["Issue does not exist"]})
    if m[2] and call.method == "POST":
        body = call.json()
        note = {"body": body["body"], "properties": body.get("properties", [])}
        return Answer(201, {"id": str(data.add_note(ticket, note))})
    if m[2] and call.method == "GET":
        return Answer(200, {"comments": data.notes_of(ticket), "startAt": 0})
    return Answer(200, ticket) if call.method == "GET" else Answer(405)
