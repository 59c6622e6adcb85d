"""Zammad's listings in the sandbox: the expanded ticket search (``limit``/``page``), each closed
ticket's articles, and the knowledge base (``init``, then each answer with its translation and
content), rendered from ``sandbox.history``."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Any

from ticket_enhancer.sandbox.history import GROUPS, OUR_NOTE, THANKS, SandboxCase, articles, cases
from ticket_enhancer.sandbox.model import Answer, Call

ORGANISATIONS = ("Finance", "Sales", "Engineering")
PRIORITY = {"critical": "3 high", "high": "3 high", "medium": "2 normal", "low": "1 low"}
GROUP_IDS = {name: 3 + i for i, name in enumerate(GROUPS.values())}  # 2: the seed's Service Desk
KB_ID, AGENT_ID, OURS_ID = 1, 3, 99
MAX_LIMIT = 100
_SINCE = re.compile(r"close_at:>=(\d{4}-\d{2}-\d{2})")
_BY_TICKET = re.compile(r"/api/v1/ticket_articles/by_ticket/(\d+)")
_ANSWER = re.compile(rf"/api/v1/knowledge_bases/{KB_ID}/answers/(\d+)")


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _customer(case: SandboxCase) -> int:
    return 1000 + sum(map(ord, case.requester))


def ticket(case: SandboxCase) -> dict[str, Any]:
    return {
        "id": 60_000 + case.n,
        "number": str(70_000 + case.n),
        "title": "" if case.malformed else case.subject,
        "group_id": GROUP_IDS[case.group],
        "group": case.group,
        "organization": ORGANISATIONS[case.scope],
        "priority": PRIORITY[case.priority],
        "state": "closed",
        "customer_id": _customer(case),
        "created_at": _when(case.created),
        "close_at": _when(case.resolved),
        "updated_at": _when(case.resolved),
    }


def ticket_articles(case: SandboxCase) -> list[dict[str, Any]]:
    customer = _customer(case)
    found = [
        (customer, "Customer", f"<div>{case.description}</div>", False),
        (AGENT_ID, "Agent", f"<p>{case.resolution}</p>", False),
    ]
    if case.requester_last:
        found.append((customer, "Customer", f"<p>{THANKS}</p>", False))
    if case.our_note_last:  # an internal note, or (posted by hand) a public copy of one
        found.append((OURS_ID, "Agent", OUR_NOTE.format(n=case.n), case.n % 2 == 0))
    return [
        {
            "id": i + 1,
            "ticket_id": 60_000 + case.n,
            "created_by_id": who,
            "sender": sender,
            "body": body,
            "content_type": "text/html",
            "internal": internal,
        }
        for i, (who, sender, body, internal) in enumerate(found)
    ]


@functools.cache
def _by_id() -> dict[int, SandboxCase]:
    return {60_000 + c.n: c for c in cases()}


def search(call: Call) -> Answer:
    query = (call.query.get("query") or [""])[0]
    found = _SINCE.search(query)
    since = (
        datetime.fromisoformat(found[1]).replace(tzinfo=UTC) if found else datetime.min.replace(tzinfo=UTC)
    )
    limit = min(int((call.query.get("limit") or ["10"])[0]), MAX_LIMIT)
    page = int((call.query.get("page") or ["1"])[0])
    rows = [ticket(c) for c in sorted(cases(), key=lambda c: c.resolved) if c.resolved >= since]
    return Answer(200, rows[(page - 1) * limit : page * limit])


def kb_init() -> Answer:
    answer_ids = [a.n + 1 for a in articles()]
    return Answer(
        200,
        {
            "KnowledgeBase": {str(KB_ID): {"id": KB_ID, "active": True, "answer_ids": answer_ids}},
            "KnowledgeBaseLocale": {"1": {"id": 1, "knowledge_base_id": KB_ID, "system_locale_id": 1}},
        },
    )


def kb_answer(answer_id: int) -> Answer:
    found = next((a for a in articles() if a.n + 1 == answer_id), None)
    if found is None:
        return Answer(404, {"error": "Not found"})
    translation_id = 1000 + answer_id
    answer = {
        "id": answer_id,
        "category_id": 1,
        "published_at": "2026-01-05T10:00:00.000Z" if found.published else None,
        "archived_at": None,
        "translation_ids": [translation_id],
    }
    translation = {
        "id": translation_id,
        "title": "" if found.malformed else found.title,
        "answer_id": answer_id,
        "content_id": translation_id,
        "kb_locale_id": 1,
    }
    return Answer(
        200,
        {
            "id": answer_id,
            "assets": {
                "KnowledgeBaseAnswer": {str(answer_id): answer},
                "KnowledgeBaseAnswerTranslation": {str(translation_id): translation},
                "KnowledgeBaseAnswerTranslationContent": {
                    str(translation_id): {"id": translation_id, "body": found.html}
                },
            },
        },
    )


def route(call: Call) -> Answer | None:
    if call.method == "POST" and call.path == "/api/v1/knowledge_bases/init":
        return kb_init()
    if call.method != "GET":
        return None
    if call.path == "/api/v1/tickets/search":
        return search(call)
    m = _BY_TICKET.fullmatch(call.path)
    if m and int(m[1]) in _by_id():
        return Answer(200, ticket_articles(_by_id()[int(m[1])]))
    m = _ANSWER.fullmatch(call.path)
    return kb_answer(int(m[1])) if m else None
