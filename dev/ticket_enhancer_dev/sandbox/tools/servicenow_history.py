"""ServiceNow's listings in the sandbox: the Table API over resolved incidents (``sysparm_query``
with a state and resolved-at filter, ``sysparm_display_value=all``, ``sysparm_limit`` /
``sysparm_offset``, ``X-Total-Count`` and ``Link`` headers) and ``kb_knowledge``, rendered from
``sandbox.history``."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from ticket_enhancer_dev.sandbox.history import SCOPES, SandboxCase, articles, cases
from ticket_enhancer_dev.sandbox.model import Answer, Call

PRIORITY = {"critical": "1 - Critical", "high": "2 - High", "medium": "3 - Moderate", "low": "4 - Low"}
MAX_LIMIT = 10_000  # the instance's default cap on rows per answer (glide.json.return_limit)
_SINCE = re.compile(r"resolved_at>=(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")


def sys_id(kind: str, key: object) -> str:
    return hashlib.sha256(f"{kind}:{key}".encode()).hexdigest()[:32]


COMPANIES = tuple(sys_id("company", name) for name in SCOPES)


def _both(value: str, display: str | None = None) -> dict[str, str]:
    return {"value": value, "display_value": value if display is None else display}


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def incident(case: SandboxCase) -> dict[str, Any]:
    return {
        "sys_id": _both(sys_id("incident", case.n)),
        "number": _both(f"INC{20000 + case.n:07d}"),
        "short_description": _both("" if case.malformed else case.subject),
        "description": _both(case.description),
        "close_notes": _both(case.resolution),
        "close_code": _both("Solved (Permanently)"),
        "category": _both(case.category.lower(), case.category),
        "subcategory": _both(""),
        "assignment_group": _both(sys_id("group", case.group), case.group),
        "company": _both(COMPANIES[case.scope], case.scope_name),
        "priority": _both(PRIORITY[case.priority][0], PRIORITY[case.priority]),
        "opened_at": _both(_when(case.created)),
        "resolved_at": _both(_when(case.resolved)),
        "caller_id": _both(sys_id("user", case.requester), case.requester.title()),
    }


def _page(call: Call, rows: list[dict[str, Any]], path: str) -> Answer:
    limit = min(int((call.query.get("sysparm_limit") or ["10000"])[0]), MAX_LIMIT)
    offset = int((call.query.get("sysparm_offset") or ["0"])[0])
    headers = {"X-Total-Count": str(len(rows))}
    if offset + limit < len(rows):
        headers["Link"] = f'<{path}?sysparm_offset={offset + limit}&sysparm_limit={limit}>;rel="next"'
    return Answer(200, {"result": rows[offset : offset + limit]}, headers)


def incidents(call: Call) -> Answer:
    query = (call.query.get("sysparm_query") or [""])[0]
    found = _SINCE.search(query)
    since = (
        datetime.fromisoformat(found[1]).replace(tzinfo=UTC) if found else datetime.min.replace(tzinfo=UTC)
    )
    rows = [incident(c) for c in sorted(cases(), key=lambda c: c.resolved) if c.resolved >= since]
    return _page(call, rows, "/api/now/table/incident")


def knowledge(call: Call) -> Answer:
    published_only = "workflow_state=published" in (call.query.get("sysparm_query") or [""])[0]
    rows = [
        {
            "sys_id": sys_id("kb", a.n),
            "number": f"KB{10000 + a.n:07d}",
            "short_description": "" if a.malformed else a.title,
            "text": a.html,
            "workflow_state": "published" if a.published else "draft",
        }
        for a in articles()
        if a.published or not published_only
    ]
    return _page(call, rows, "/api/now/table/kb_knowledge")


def route(call: Call) -> Answer | None:
    if call.method != "GET":
        return None
    if (
        call.path == "/api/now/table/incident"
        and "resolved_at>=" in (call.query.get("sysparm_query") or [""])[0]
    ):
        return incidents(call)
    if call.path == "/api/now/table/kb_knowledge":
        return knowledge(call)
    return None
