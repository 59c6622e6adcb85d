"""ServiceDesk Plus's listings in the sandbox: requests by ``input_data.list_info`` (``row_count`` up
to 100, ``start_index``, ``search_criteria`` on status and resolved time, ``has_more_rows``), each
request's resolution, and solutions, rendered from ``sandbox.history``."""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime
from typing import Any

from ticket_enhancer.sandbox.history import GROUPS, SandboxCase, articles, cases
from ticket_enhancer.sandbox.model import Answer, Call

OK = {"status_code": 2000, "status": "success"}
MAX_ROWS = 100
PRIORITY = {"critical": "Urgent", "high": "High", "medium": "Medium", "low": "Low"}
GROUP_IDS = {name: str(100_000_000_000_301 + i) for i, name in enumerate(GROUPS.values())}
_RESOLUTION = re.compile(r"/api/v3/requests/(\d+)/resolutions")


def _time(moment: datetime) -> dict[str, str]:
    return {
        "value": str(int(moment.timestamp() * 1000)),
        "display_value": moment.strftime("%b %d, %Y %I:%M %p"),
    }


def request(case: SandboxCase) -> dict[str, Any]:
    return {
        "id": str(300_000 + case.n),
        "display_id": str(1_000 + case.n),
        "subject": "" if case.malformed else case.subject,
        "short_description": case.description[:100],
        "status": {"name": "Closed" if case.n % 3 == 0 else "Resolved"},
        "priority": {"name": PRIORITY[case.priority]},
        "category": {"name": case.category},
        "group": {"id": GROUP_IDS[case.group], "name": case.group},
        "site": {"name": case.scope_name},
        "created_time": _time(case.created),
        "resolved_time": _time(case.resolved),
        "requester": {"name": case.requester.title(), "email_id": f"{case.requester}@example.com"},
    }


@functools.cache
def _by_id() -> dict[str, SandboxCase]:
    return {str(300_000 + c.n): c for c in cases()}


def _list_info(call: Call) -> dict[str, Any]:
    raw = (call.query.get("input_data") or ["{}"])[0]
    info = json.loads(raw).get("list_info", {})
    return info if isinstance(info, dict) else {}


def _page(info: dict[str, Any], rows: list[dict[str, Any]], key: str) -> Answer:
    size = min(int(info.get("row_count", 10)), MAX_ROWS)
    start = int(info.get("start_index", 1))
    page = rows[start - 1 : start - 1 + size]
    more = start - 1 + size < len(rows)
    list_info = {"has_more_rows": more, "row_count": len(page), "start_index": start}
    return Answer(200, {key: page, "list_info": list_info, "response_status": [OK]})


def requests(call: Call) -> Answer:
    info = _list_info(call)
    since_ms = 0
    statuses: set[str] = set()
    for criterion in info.get("search_criteria", []):
        if criterion.get("field") == "resolved_time":
            since_ms = int(criterion.get("value", 0))
        if criterion.get("field") == "status.name":
            statuses = set(criterion.get("values", []))
    rows = [request(c) for c in sorted(cases(), key=lambda c: c.created)]
    rows = [
        r
        for r in rows
        if int(r["resolved_time"]["value"]) > since_ms and (not statuses or r["status"]["name"] in statuses)
    ]
    return _page(info, rows, "requests")


def resolution(case: SandboxCase) -> Answer:
    content = f"<p>{case.resolution}</p>"
    body = {"resolution": {"content": content, "submitted_on": _time(case.resolved)}, "response_status": OK}
    return Answer(200, body)


def solutions(call: Call) -> Answer:
    rows = [
        {
            "id": str(400_000 + a.n),
            "title": "" if a.malformed else a.title,
            "description": a.html,
            "approval_status": {"name": "Approved" if a.published else "Awaiting Approval"},
        }
        for a in articles()
    ]
    return _page(_list_info(call), rows, "solutions")


def route(call: Call) -> Answer | None:
    if call.method != "GET":
        return None
    if call.path == "/api/v3/requests":
        return requests(call)
    if call.path == "/api/v3/solutions":
        return solutions(call)
    m = _RESOLUTION.fullmatch(call.path)
    if m and m[1] in _by_id():
        return resolution(_by_id()[m[1]])
    return None
