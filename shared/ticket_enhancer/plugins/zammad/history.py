"""Zammad history (closed tickets, ticket search) and knowledge (knowledge base answers).

History: ``GET /api/v1/tickets/search?query=state.name:closed AND close_at:>=<date>&limit=100&page=N
&expand=true&sort_by=close_at&order_by=asc`` (the expanded answer is a list of tickets with names
beside ids; a short page ends the listing). The query syntax needs Zammad's Elasticsearch (the
default and hosted set-up); without it Zammad searches titles only. A ticket has no description
or resolution of its own: each costs one more call, ``GET /api/v1/ticket_articles/by_ticket/{id}``,
the first public article being its text and the last public article not from the customer (and
not one of our notes) its resolution. Scope: the organisation's name; group: the group's name;
Zammad has no category.

Knowledge: ``POST /api/v1/knowledge_bases/init`` (needs ``knowledge_base.editor``; read-only) for
the knowledge base and its answer ids, carried in the cursor; then per answer
``GET /api/v1/knowledge_bases/{kb}/answers/{id}?full=1&include_contents=1`` (``knowledge_base.reader``)
for its translation (title) and content (HTML body). Published answers only (``published_at`` set,
not archived). Links open the answer in the agent interface, in the primary locale ``en-us``
(the init answer names locales by id only).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.plugins.base import text_field
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
from ticket_enhancer.plugins.fields import named, obj
from ticket_enhancer.plugins.requests import VendorRequest
from ticket_enhancer.plugins.sourcing import (
    ARTICLE_LIMIT,
    TEXT_LIMIT,
    Comment,
    MalformedRecordError,
    decode_cursor,
    encode_cursor,
    fetch,
    fetch_detail,
    is_our_note,
    iso_utc,
    last_resolution,
    numeric_id,
    reduce_html,
    segment,
)

if TYPE_CHECKING:
    from ticket_enhancer.plugins.context import TenantContext
    from ticket_enhancer.plugins.zammad.plugin import ZammadPlugin

SEARCH = "/api/v1/tickets/search"
TICKET_PERMISSION = "ticket.agent with read access to the tickets' groups"
KB_INIT = "/api/v1/knowledge_bases/init"
KB_INIT_PERMISSION = "knowledge_base.editor (to list the answers; the sync only reads)"
ANSWER_PERMISSION = "knowledge_base.reader"


def _article_text(article: dict[str, Any]) -> str:
    body = text_field(article.get("body"))
    html_body = text_field(article.get("content_type")) == "text/html"
    return reduce_html(body, TEXT_LIMIT) if html_body else body[:TEXT_LIMIT]


def _page_number(state: dict[str, Any]) -> int:
    page = state.get("page", 1)
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise ValueError("not a cursor of this source")
    return page


def parse_ticket(data: Any, articles: list[dict[str, Any]], base_url: str) -> IndexedTicket:
    ticket = obj(data)
    ticket_id, subject = text_field(ticket.get("id")), text_field(ticket.get("title"))
    if not ticket_id.isdigit() or not subject:
        raise MalformedRecordError("ticket without id or title")
    customer = text_field(ticket.get("customer_id"))
    public = [a for a in articles if a.get("internal") is not True]
    comments = [
        Comment(
            _article_text(a),
            customer if text_field(a.get("sender")) == "Customer" else text_field(a.get("created_by_id")),
            not is_our_note(text_field(a.get("body"))),
        )
        for a in public[1:]  # the first public article is the request itself
    ]
    number = text_field(ticket.get("number"))
    return IndexedTicket(
        ticket_id=ticket_id,
        display_key=f"#{number}" if number else ticket_id,
        subject=subject,
        text=_article_text(public[0]) if public else "",
        url=f"{base_url.rstrip('/')}/#ticket/zoom/{segment(ticket_id)}",
        created=iso_utc(ticket.get("created_at")),
        resolution=last_resolution(comments, customer),
        resolved=iso_utc(ticket.get("close_at") or ticket.get("updated_at")),
        status="resolved",
        category="",
        group=named(ticket.get("group")) or "",
        group_id=text_field(ticket.get("group_id")),
        priority=named(ticket.get("priority")) or "",
        scope=named(ticket.get("organization")) or "",
    )


async def history_page(
    plugin: ZammadPlugin, tenant: TenantContext, since: datetime, cursor: str | None
) -> HistoryPage:
    page = _page_number(decode_cursor(cursor))
    size = plugin.history_page_size
    params = {
        "query": f"state.name:closed AND close_at:>={since:%Y-%m-%d}",
        "limit": str(size),
        "page": str(page),
        "expand": "true",
        "sort_by": "close_at",
        "order_by": "asc",
    }
    response = await fetch(
        plugin,
        tenant,
        VendorRequest("GET", SEARCH, params=params, idempotent=True),
        endpoint=f"GET {SEARCH}",
        permission=TICKET_PERMISSION,
    )
    listed = response.json()
    listed = listed if isinstance(listed, list) else []
    tickets: list[IndexedTicket] = []
    skipped = 0
    for item in listed:
        ticket_id = text_field(obj(item).get("id"))
        if not ticket_id.isdigit() or not text_field(obj(item).get("title")):
            skipped += 1
            continue
        data = await fetch_detail(
            plugin,
            tenant,
            VendorRequest("GET", f"/api/v1/ticket_articles/by_ticket/{ticket_id}", idempotent=True),
            endpoint="GET /api/v1/ticket_articles/by_ticket/{id}",
            permission=TICKET_PERMISSION,
        )
        if not isinstance(data, list):  # deleted since it was listed, or an unreadable answer
            skipped += 1
            continue
        articles = [obj(a) for a in data] if isinstance(data, list) else []
        tickets.append(parse_ticket(item, articles, tenant.config.base_url))
    following = encode_cursor({"page": page + 1}) if len(listed) >= size else None
    return HistoryPage(tuple(tickets), following, skipped)


def _answer_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _assets(data: Any, kind: str) -> dict[str, dict[str, Any]]:
    found = obj(obj(obj(data).get("assets")).get(kind) or obj(data).get(kind))
    return {key: obj(value) for key, value in found.items()}


def parse_answer(
    data: Any, kb_id: str, answer_id: str, base_url: str, locale: str = "en-us"
) -> Article | None:
    """The answer's article; None when it is not published. MalformedRecordError when unreadable."""
    answer = _assets(data, "KnowledgeBaseAnswer").get(answer_id)
    if answer is None:
        raise MalformedRecordError("answer missing from its own answer")
    if not answer.get("published_at") or answer.get("archived_at"):
        return None
    translations = [
        t
        for t in _assets(data, "KnowledgeBaseAnswerTranslation").values()
        if text_field(t.get("answer_id")) == answer_id
    ]
    if not translations or not text_field(translations[0].get("title")):
        raise MalformedRecordError("answer without a titled translation")
    translation = translations[0]
    content = _assets(data, "KnowledgeBaseAnswerTranslationContent").get(
        text_field(translation.get("content_id")), {}
    )
    return Article(
        article_id=answer_id,
        title=text_field(translation.get("title")),
        body=reduce_html(content.get("body"), ARTICLE_LIMIT),
        url=f"{base_url.rstrip('/')}/#knowledge_base/{segment(kb_id)}/locale/{segment(locale)}/answer/{segment(answer_id)}",
    )


async def knowledge_page(plugin: ZammadPlugin, tenant: TenantContext, cursor: str | None) -> KnowledgePage:
    state = decode_cursor(cursor)
    kb_id, remaining = numeric_id(state.get("kb")), state.get("answers")
    if cursor is not None and not (kb_id and isinstance(remaining, list) and all(map(_answer_id, remaining))):
        raise ValueError("not a cursor of this source")  # ids from it go into request paths
    if not kb_id or not isinstance(remaining, list):
        response = await fetch(
            plugin,
            tenant,
            VendorRequest("POST", KB_INIT, idempotent=True),  # reads only: safe to repeat
            endpoint=f"POST {KB_INIT}",
            permission=KB_INIT_PERMISSION,
        )
        bases = _assets(response.json(), "KnowledgeBase")
        if not bases:
            return KnowledgePage()  # no knowledge base
        kb_id, base = next(iter(bases.items()))
        if not numeric_id(kb_id):
            return KnowledgePage()
        answer_ids = base.get("answer_ids")
        remaining = sorted(i for i in (answer_ids if isinstance(answer_ids, list) else []) if _answer_id(i))
    size = plugin.knowledge_page_size
    found: list[Article] = []
    skipped = 0
    for answer_id in remaining[:size]:
        data = await fetch_detail(
            plugin,
            tenant,
            VendorRequest(
                "GET",
                f"/api/v1/knowledge_bases/{kb_id}/answers/{answer_id}",
                params={"full": "1", "include_contents": "1"},
                idempotent=True,
            ),
            endpoint="GET /api/v1/knowledge_bases/{kb}/answers/{id}",
            permission=ANSWER_PERMISSION,
        )
        try:
            if data is None:
                raise MalformedRecordError("answer gone or unreadable")
            article = parse_answer(data, kb_id, str(answer_id), tenant.config.base_url)
        except MalformedRecordError:
            skipped += 1
            continue
        if article is not None:
            found.append(article)
    rest = remaining[size:]
    return KnowledgePage(
        tuple(found), encode_cursor({"kb": kb_id, "answers": rest}) if rest else None, skipped
    )
