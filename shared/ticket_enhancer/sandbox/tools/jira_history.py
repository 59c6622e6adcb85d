"""Jira Cloud's listings in the sandbox: the enhanced JQL search over resolved issues (comments
inline, ``nextPageToken``/``isLast``) and the Confluence v2 pages of the knowledge space
(``_links.next`` cursor), rendered from ``sandbox.history``."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Any

from ticket_enhancer.sandbox.history import GROUPS, OUR_NOTE, THANKS, SandboxCase, articles, cases
from ticket_enhancer.sandbox.model import Answer, Call

PROJECTS = ("IT", "SALES", "ENG")  # IT: the finance scope the seed ticket is in
PRIORITY = {"critical": "Highest", "high": "High", "medium": "Medium", "low": "Low"}
SPACE_KEY, SPACE_ID = "KB", "98304"
MAX_RESULTS, MAX_PAGES = 5000, 250  # documented maxima (search: ids only; Confluence pages)
_COMMENTS = re.compile(r"/rest/api/3/issue/(\d+)/comment")
_SINCE = re.compile(r'resolved\s*>=\s*"(\d{4}-\d{2}-\d{2})')


def _adf(text: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _comment(n: int, author: str, text: str, moment: datetime, public: bool = True) -> dict[str, Any]:
    return {
        "id": str(n),
        "author": {"accountId": author},
        "body": _adf(text),
        "created": _when(moment),
        "jsdPublic": public,
    }


def comments_of(case: SandboxCase) -> list[dict[str, Any]]:
    """Every comment of a history issue, oldest first."""
    requester, agent = f"acc-{case.requester}", f"acc-{case.agent.split()[0].lower()}"
    comments = [
        _comment(1, requester, "Any news? This is blocking me.", case.created),
        _comment(2, agent, case.resolution, case.resolved),
    ]
    if case.requester_last:
        comments.append(_comment(3, requester, THANKS, case.resolved))
    if case.our_note_last:
        comments.append(
            _comment(4, "acc-ticket-enhancer", OUR_NOTE.format(n=case.n), case.resolved, public=False)
        )
        comments.append(_comment(5, "acc-ticket-enhancer", OUR_NOTE.format(n=case.n), case.resolved))
    return comments


def component_id(scope: int, group: str) -> str:
    """A component's id: each project has components of its own (the same name, another id)."""
    return str(10_100 + 10 * scope + list(GROUPS.values()).index(group))


def issue(case: SandboxCase) -> dict[str, Any]:
    requester = f"acc-{case.requester}"
    comments = comments_of(case)
    project = PROJECTS[case.scope]
    inline = comments[:1] if case.n % 23 == 1 else comments  # a long conversation: cut short
    fields: Any = {
        "summary": case.subject,
        "description": _adf(case.description),
        "status": {"name": "Resolved", "statusCategory": {"key": "done"}},
        "resolution": {"name": "Done"},
        "resolutiondate": _when(case.resolved),
        "created": _when(case.created),
        "priority": {"name": PRIORITY[case.priority]},
        "project": {"key": project, "name": case.scope_name},
        "issuetype": {"name": case.category},
        "components": [{"id": component_id(case.scope, case.group), "name": case.group}],
        "reporter": {"accountId": requester, "displayName": case.requester.title()},
        "comment": {"comments": inline, "startAt": 0, "maxResults": len(inline), "total": len(comments)},
    }
    if case.malformed:
        fields = "unavailable"
    return {"id": str(20_000 + case.n), "key": f"{project}-{case.n + 1}", "fields": fields}


@functools.cache
def _issues() -> tuple[tuple[datetime, dict[str, Any]], ...]:
    return tuple((case.resolved, issue(case)) for case in sorted(cases(), key=lambda c: c.resolved))


@functools.cache
def _by_id() -> dict[int, SandboxCase]:
    return {20_000 + c.n: c for c in cases()}


def comment_listing(case: SandboxCase, call: Call) -> Answer:
    """``GET /rest/api/3/issue/{id}/comment`` (``orderBy=-created``: newest first)."""
    found = comments_of(case)
    if (call.query.get("orderBy") or [""])[0] == "-created":
        found = found[::-1]
    size = int((call.query.get("maxResults") or ["50"])[0])
    page = found[:size]
    return Answer(200, {"comments": page, "startAt": 0, "maxResults": size, "total": len(found)})


def search(call: Call) -> Answer:
    jql = (call.query.get("jql") or [""])[0]
    found = _SINCE.search(jql)
    since = (
        datetime.fromisoformat(found[1]).replace(tzinfo=UTC) if found else datetime.min.replace(tzinfo=UTC)
    )
    size = min(int((call.query.get("maxResults") or ["50"])[0]), MAX_RESULTS)
    start = int((call.query.get("nextPageToken") or ["0"])[0].removeprefix("tok-") or 0)
    matching = [item for when, item in _issues() if when >= since]
    page = matching[start : start + size]
    last = start + size >= len(matching)
    body: dict[str, Any] = {"issues": page, "isLast": last}
    if not last:
        body["nextPageToken"] = f"tok-{start + size}"
    return Answer(200, body)


def spaces(call: Call) -> Answer:
    keys = (call.query.get("keys") or [""])[0].split(",")
    results = [{"id": SPACE_ID, "key": SPACE_KEY, "name": "IT Knowledge Base", "type": "global"}]
    return Answer(200, {"results": [s for s in results if s["key"] in keys], "_links": {}})


def pages(call: Call) -> Answer:
    statuses = (call.query.get("status") or ["current"])[0].split(",")
    size = min(int((call.query.get("limit") or ["25"])[0]), MAX_PAGES)
    start = int((call.query.get("cursor") or ["0"])[0].removeprefix("c") or 0)
    listed = [
        {
            "id": str(500_000 + a.n),
            "status": "current" if a.published else "draft",
            "title": None if a.malformed else a.title,
            "spaceId": SPACE_ID,
            "body": {"storage": {"representation": "storage", "value": a.html}},
            "_links": {"webui": f"/spaces/{SPACE_KEY}/pages/{500_000 + a.n}"},
        }
        for a in articles()
    ]
    listed = [p for p in listed if p["status"] in statuses]
    links: dict[str, Any] = {}
    if start + size < len(listed):
        links["next"] = (
            f"/wiki/api/v2/spaces/{SPACE_ID}/pages?cursor=c{start + size}&limit={size}&body-format=storage"
        )
    return Answer(200, {"results": listed[start : start + size], "_links": links})


def route(call: Call) -> Answer | None:
    """The listing this call asks for, or None when it is not one."""
    if call.method != "GET":
        return None
    m = _COMMENTS.fullmatch(call.path)
    if m and int(m[1]) in _by_id():
        return comment_listing(_by_id()[int(m[1])], call)
    if call.path == "/rest/api/3/search/jql":
        return search(call)
    if call.path == "/wiki/api/v2/spaces":
        return spaces(call)
    if call.path == f"/wiki/api/v2/spaces/{SPACE_ID}/pages":
        return pages(call)
    return None
