"""Zendesk's listings in the sandbox: the cursor-based incremental ticket export (``after_cursor``,
``end_of_stream``, groups sideloaded), each ticket's comments, and Help Center articles (cursor
pagination, ``meta.has_more``), rendered from ``sandbox.history``."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Any

from ticket_enhancer_dev.sandbox.history import GROUPS, OUR_NOTE, THANKS, SandboxCase, articles, cases
from ticket_enhancer_dev.sandbox.model import Answer, Call

ORGANISATIONS = (360001, 360002, 360003)
GROUP_IDS = {name: 9001 + i for i, name in enumerate(GROUPS.values())}
USERS = {name: 7001 + i for i, name in enumerate(("dana", "lee", "sam", "noor", "alex", "kim", "jo", "ravi"))}
AGENT_ID, OURS_ID = 8001, 8999
MAX_EXPORT, MAX_ARTICLES = 1000, 100
# Zendesk's ticket type takes problem, incident, question or task only.
TYPES = {"Access": "task", "Servers": "problem", "Security": "problem", "Email": "question"}
_COMMENTS = re.compile(r"/api/v2/tickets/(\d+)/comments")


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ticket(case: SandboxCase) -> dict[str, Any]:
    return {
        "id": 40_000 + case.n,
        "subject": None if case.malformed else case.subject,
        "description": case.description,
        "type": TYPES.get(case.category, "incident"),  # Zendesk's only types
        "status": "closed" if case.n % 3 == 0 else "solved",
        "priority": {"critical": "urgent", "medium": "normal"}.get(case.priority, case.priority),
        "requester_id": USERS[case.requester],
        "organization_id": ORGANISATIONS[case.scope],
        "group_id": GROUP_IDS[case.group],
        "created_at": _when(case.created),
        "updated_at": _when(case.resolved),
    }


def comments(case: SandboxCase) -> list[dict[str, Any]]:
    requester = USERS[case.requester]
    found = [
        (requester, case.description, True),
        (AGENT_ID, "Looking into it.", True),
        (AGENT_ID, case.resolution, True),
    ]
    if case.requester_last:
        found.append((requester, THANKS, True))
    if case.our_note_last:
        found.append((OURS_ID, OUR_NOTE.format(n=case.n), False))
    return [
        {"id": i + 1, "author_id": a, "body": b, "html_body": f"<div>{b}</div>", "plain_body": b, "public": p}
        for i, (a, b, p) in enumerate(found)
    ]


@functools.cache
def _by_id() -> dict[int, SandboxCase]:
    return {40_000 + c.n: c for c in cases()}


def export(call: Call) -> Answer:
    size = min(int((call.query.get("per_page") or ["1000"])[0]), MAX_EXPORT)
    cursor = (call.query.get("cursor") or [""])[0]
    if cursor:
        start, since = int(cursor.split("-")[0]), float(cursor.split("-")[1])
    else:
        start, since = 0, float((call.query.get("start_time") or ["0"])[0])
    since_at = datetime.fromtimestamp(since, UTC)
    matching = [ticket(c) for c in sorted(cases(), key=lambda c: c.resolved) if c.resolved >= since_at]
    page = matching[start : start + size]
    end = start + size >= len(matching)
    body: dict[str, Any] = {
        "tickets": page,
        "after_cursor": None if end else f"{start + size}-{since}",
        "after_url": None,
        "before_cursor": None,
        "end_of_stream": end,
    }
    if "groups" in (call.query.get("include") or [""])[0]:
        body["groups"] = [{"id": gid, "name": name} for name, gid in GROUP_IDS.items()]
    return Answer(200, body)


def ticket_comments(case: SandboxCase, call: Call) -> Answer:
    found = comments(case)
    if (call.query.get("sort_order") or ["asc"])[0] == "desc":
        found.reverse()
    return Answer(200, {"comments": found, "next_page": None, "previous_page": None, "count": len(found)})


def help_center(call: Call) -> Answer:
    size = min(int((call.query.get("page[size]") or ["30"])[0]), MAX_ARTICLES)
    start = int((call.query.get("page[after]") or ["0"])[0] or 0)
    listed = [
        {
            "id": 360_100_000 + a.n,
            "title": None if a.malformed else a.title,
            "body": a.html,
            "draft": not a.published,
            "locale": "en-us",
            "html_url": f"https://acme.zendesk.com/hc/en-us/articles/{360_100_000 + a.n}",
        }
        for a in articles()
    ]
    more = start + size < len(listed)
    return Answer(
        200,
        {
            "articles": listed[start : start + size],
            "meta": {
                "has_more": more,
                "after_cursor": str(start + size) if more else None,
                "before_cursor": None,
            },
            "links": {"next": None, "prev": None},
        },
    )


def route(call: Call) -> Answer | None:
    if call.method != "GET":
        return None
    if call.path == "/api/v2/incremental/tickets/cursor.json":
        return export(call)
    if call.path == "/api/v2/help_center/articles.json":
        return help_center(call)
    m = _COMMENTS.fullmatch(call.path)
    if m and int(m[1]) in _by_id():
        return ticket_comments(_by_id()[int(m[1])], call)
    return None
