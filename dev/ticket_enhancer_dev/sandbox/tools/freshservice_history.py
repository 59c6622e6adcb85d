"""Freshservice's listings in the sandbox: tickets by ``updated_since`` (``per_page``/``page``, the
next page in the ``link`` header), each ticket's conversations, the agent groups (one by id, or
listed), and the solutions tree (categories, folders, articles), rendered from ``sandbox.history``."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

from ticket_enhancer_dev.sandbox.history import GROUPS, OUR_NOTE, THANKS, SandboxCase, articles, cases
from ticket_enhancer_dev.sandbox.model import Answer, Call

BASE = "https://acme.freshservice.com"
DEPARTMENTS = (18000001, 18000002, 18000003)
GROUP_IDS = {name: 17000001 + i for i, name in enumerate(GROUPS.values())}
PRIORITY = {"critical": 4, "high": 3, "medium": 2, "low": 1}
AGENT_ID, OURS_ID = 19000001, 19000999
MAX_PAGE = 100
CATEGORIES = {16000001: (15000001, 15000002), 16000002: (15000003,)}  # category -> folders
_CONVERSATIONS = re.compile(r"/api/v2/tickets/(\d+)/conversations")
_GROUP = re.compile(r"/api/v2/groups/(\d+)")


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _requester(case: SandboxCase) -> int:
    return 20000000 + sum(map(ord, case.requester))


def ticket(case: SandboxCase) -> dict[str, Any]:
    return {
        "id": 50_000 + case.n,
        "subject": None if case.malformed else case.subject,
        "description": f"<div>{case.description}</div>",
        "description_text": case.description,
        "status": 5 if case.n % 3 == 0 else 4,
        "priority": PRIORITY[case.priority],
        "requester_id": _requester(case),
        "group_id": GROUP_IDS[case.group],
        "department_id": DEPARTMENTS[case.scope],
        "category": case.category,
        "sub_category": None,
        "created_at": _when(case.created),
        "updated_at": _when(case.resolved),
    }


def _decoy(k: int, case: SandboxCase) -> dict[str, Any]:
    """An open ticket updated among the resolved ones (the sync leaves it out)."""
    return {**ticket(case), "id": 59_000 + k, "status": 2, "subject": f"Open: {case.subject}"}


def conversations(case: SandboxCase) -> list[dict[str, Any]]:
    requester = _requester(case)
    found = [(requester, "Any update?", False, True), (AGENT_ID, case.resolution, False, False)]
    if case.requester_last:
        found.append((requester, THANKS, False, True))
    if case.our_note_last:
        found.append((OURS_ID, OUR_NOTE.format(n=case.n), True, False))
    return [
        {"id": i + 1, "user_id": u, "body": f"<div>{b}</div>", "body_text": b, "private": p, "incoming": inc}
        for i, (u, b, p, inc) in enumerate(found)
    ]


@functools.cache
def _by_id() -> dict[int, SandboxCase]:
    return {50_000 + c.n: c for c in cases()}


def _page(call: Call, rows: list[dict[str, Any]], key: str, path: str) -> Answer:
    size = min(int((call.query.get("per_page") or ["30"])[0]), MAX_PAGE)
    page = int((call.query.get("page") or ["1"])[0])
    start = (page - 1) * size
    headers = {}
    if start + size < len(rows):
        headers["link"] = f'<{BASE}{path}?page={page + 1}&per_page={size}>; rel="next"'
    return Answer(200, {key: rows[start : start + size]}, headers)


def tickets(call: Call) -> Answer:
    since = datetime.fromisoformat(
        (call.query.get("updated_since") or ["1970-01-01T00:00:00Z"])[0].replace("Z", "+00:00")
    )
    ordered = sorted(cases(), key=lambda c: c.resolved)
    rows: list[dict[str, Any]] = []
    for case in ordered:
        if case.resolved >= since:
            rows.append(ticket(case))
            if case.n % 30 == 0:
                rows.append(_decoy(case.n, case))
    if (call.query.get("order_type") or ["desc"])[0] == "desc":
        rows.reverse()
    return _page(call, rows, "tickets", "/api/v2/tickets")


def solutions(call: Call) -> Answer | None:
    if call.path == "/api/v2/solutions/categories":
        return Answer(200, {"categories": [{"id": c, "name": f"Category {c}"} for c in CATEGORIES]})
    if call.path == "/api/v2/solutions/folders":
        folders = CATEGORIES.get(int((call.query.get("category_id") or ["0"])[0]), ())
        return Answer(200, {"folders": [{"id": f, "name": f"Folder {f}"} for f in folders]})
    if call.path == "/api/v2/solutions/articles":
        folder = int((call.query.get("folder_id") or ["0"])[0])
        all_folders = [f for fs in CATEGORIES.values() for f in fs]
        rows = [
            {
                "id": 14_000_000 + a.n,
                "title": None if a.malformed else a.title,
                "description": a.html,
                "status": 2 if a.published else 1,
                "folder_id": folder,
            }
            for a in articles()
            if all_folders[a.n % len(all_folders)] == folder
        ]
        return _page(call, rows, "articles", "/api/v2/solutions/articles")
    return None


def _group(name: str, group_id: int) -> dict[str, Any]:
    return {"id": group_id, "name": name, "description": f"{name} team", "restricted": False}


def groups(call: Call) -> Answer | None:
    """``GET /api/v2/groups/{id}`` (``{"group": ...}``, 404 when there is none) and the paged
    ``GET /api/v2/groups`` (``{"groups": [...]}``)."""
    if call.path == "/api/v2/groups":
        return _page(call, [_group(n, i) for n, i in GROUP_IDS.items()], "groups", call.path)
    if m := _GROUP.fullmatch(call.path):
        name = next((n for n, i in GROUP_IDS.items() if i == int(m[1])), None)
        if name is None:
            return Answer(404, {"message": "group not found"})
        return Answer(200, {"group": _group(name, int(m[1]))})
    return None


def route(call: Call) -> Answer | None:
    if call.method != "GET":
        return None
    if call.path == "/api/v2/tickets":
        return tickets(call)
    if (answer := groups(call)) is not None:
        return answer
    m = _CONVERSATIONS.fullmatch(call.path)
    if m and int(m[1]) in _by_id():
        return _page(call, conversations(_by_id()[int(m[1])]), "conversations", call.path)
    return solutions(call)
