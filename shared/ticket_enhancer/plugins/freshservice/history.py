"""Freshservice history (resolved and closed tickets) and knowledge (solution articles).

History: ``GET /api/v2/tickets?updated_since=<iso>&per_page=100&page=N&order_type=asc`` (100 is the
documented maximum; the next page is announced in the ``link`` header). The listing carries no
conversations: each resolved (4) or closed (5) ticket costs one more call,
``GET /api/v2/tickets/{id}/conversations?per_page=100`` (oldest first; a longer conversation is
followed to its last page). The resolution is the last public conversation by someone other than
the requester that is not one of our notes. Resolved time: ``stats.resolved_at`` when the answer
has it, else ``updated_at``. Scope: ``department_id``; category: ``category``;
group: ``group_id``, named from one groups listing a run (``groups.py``; the id when the groups
cannot be listed, as the ticket the worker fetches falls back to it).

Knowledge: ``GET /api/v2/solutions/categories``, ``GET /api/v2/solutions/folders?category_id=``
(once, on the first page; the folder ids travel in the cursor), then
``GET /api/v2/solutions/articles?folder_id=&per_page=25&page=N`` folder by folder; ``status`` 2 =
published. Article URL ``/support/solutions/articles/{id}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.plugins.base import text_field
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
from ticket_enhancer.plugins.errors import VendorNotFoundError
from ticket_enhancer.plugins.fields import obj
from ticket_enhancer.plugins.requests import VendorRequest
from ticket_enhancer.plugins.sourcing import (
    ARTICLE_LIMIT,
    TEXT_LIMIT,
    Comment,
    MalformedRecordError,
    decode_cursor,
    encode_cursor,
    fetch,
    is_our_note,
    iso_utc,
    last_resolution,
    parse_each,
    reduce_html,
    segment,
)

if TYPE_CHECKING:
    import httpx

    from ticket_enhancer.plugins.context import TenantContext
    from ticket_enhancer.plugins.freshservice.plugin import FreshservicePlugin

TICKETS = "/api/v2/tickets"
TICKETS_PERMISSION = "an agent role with 'View tickets' on all tickets (global access)"
SOLUTIONS_PERMISSION = "an agent role with access to Solutions (view articles)"
PRIORITY = {"1": "Low", "2": "Medium", "3": "High", "4": "Urgent"}
RESOLVED = frozenset({"4", "5"})
MAX_CONVERSATION_PAGES = 10


async def _fetch_or_none(
    plugin: FreshservicePlugin,
    tenant: TenantContext,
    request: VendorRequest,
    *,
    endpoint: str,
    permission: str,
) -> httpx.Response | None:
    try:
        return await fetch(plugin, tenant, request, endpoint=endpoint, permission=permission)
    except VendorNotFoundError:
        return None


def _has_next(response: httpx.Response) -> bool:
    return 'rel="next"' in response.headers.get("link", "")


def _page_number(state: dict[str, Any], key: str = "page") -> int:
    page = state.get(key, 1)
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise ValueError("not a cursor of this source")
    return page


async def _conversations(
    plugin: FreshservicePlugin, tenant: TenantContext, ticket_id: str
) -> list[Comment] | None:
    """The ticket's conversations, oldest first; None when the ticket is gone or unreadable."""
    found: list[Comment] = []
    for page in range(1, MAX_CONVERSATION_PAGES + 1):
        response = await _fetch_or_none(
            plugin,
            tenant,
            VendorRequest(
                "GET",
                f"{TICKETS}/{ticket_id}/conversations",
                params={"per_page": "100", "page": str(page)},
                idempotent=True,
            ),
            endpoint="GET /api/v2/tickets/{id}/conversations",
            permission=TICKETS_PERMISSION,
        )
        if response is None:
            return None
        try:
            items = obj(response.json()).get("conversations")
        except ValueError:
            return None
        for item in items if isinstance(items, list) else []:
            conversation = obj(item)
            html_body = text_field(conversation.get("body"))
            text = text_field(conversation.get("body_text")) or reduce_html(html_body)
            public = conversation.get("private") is False and not is_our_note(html_body)
            found.append(Comment(text[:TEXT_LIMIT], text_field(conversation.get("user_id")), public))
        if not _has_next(response):
            break
    return found


def parse_ticket(
    data: Any, resolution: str, base_url: str, groups: Mapping[str, str] | None = None
) -> IndexedTicket:
    """``groups``: the groups' names by id (the id is the name of a group not in it)."""
    ticket = obj(data)
    group_id = text_field(ticket.get("group_id"))
    ticket_id, subject = text_field(ticket.get("id")), text_field(ticket.get("subject"))
    if not ticket_id or not subject:
        raise MalformedRecordError("ticket without id or subject")
    priority = text_field(ticket.get("priority"))
    return IndexedTicket(
        ticket_id=ticket_id,
        display_key=f"#{ticket_id}",
        subject=subject,
        text=text_field(ticket.get("description_text"))[:TEXT_LIMIT]
        or reduce_html(ticket.get("description")),
        url=f"{base_url.rstrip('/')}/helpdesk/tickets/{segment(ticket_id)}",
        created=iso_utc(ticket.get("created_at")),
        resolution=resolution,
        resolved=iso_utc(obj(ticket.get("stats")).get("resolved_at") or ticket.get("updated_at")),
        status="resolved",
        category=text_field(ticket.get("category")),
        group=(groups or {}).get(group_id) or group_id,
        group_id=group_id,
        priority=PRIORITY.get(priority, priority),
        scope=text_field(ticket.get("department_id")),
    )


async def history_page(
    plugin: FreshservicePlugin, tenant: TenantContext, since: datetime, cursor: str | None
) -> HistoryPage:
    page = _page_number(decode_cursor(cursor))
    params = {
        "updated_since": f"{since:%Y-%m-%dT%H:%M:%SZ}",
        "per_page": str(plugin.history_page_size),
        "page": str(page),
        "order_type": "asc",
    }
    response = await fetch(
        plugin,
        tenant,
        VendorRequest("GET", TICKETS, params=params, idempotent=True),
        endpoint=f"GET {TICKETS}",
        permission=TICKETS_PERMISSION,
    )
    listed = obj(response.json()).get("tickets")
    resolved = [obj(i) for i in (listed if isinstance(listed, list) else [])]
    resolved = [t for t in resolved if text_field(t.get("status")) in RESOLVED]
    grouped = any(text_field(t.get("group_id")) for t in resolved)
    groups = await plugin.groups.listing(plugin, tenant) if grouped else {}
    tickets: list[IndexedTicket] = []
    skipped = 0
    for ticket in resolved:
        ticket_id = text_field(ticket.get("id"))
        if not ticket_id.isdigit() or not text_field(ticket.get("subject")):
            skipped += 1
            continue
        comments = await _conversations(plugin, tenant, ticket_id)
        if comments is None:  # deleted since it was listed, or an unreadable answer
            skipped += 1
            continue
        resolution = last_resolution(comments, text_field(ticket.get("requester_id")))
        tickets.append(parse_ticket(ticket, resolution, tenant.config.base_url, groups))
    following = encode_cursor({"page": page + 1}) if _has_next(response) else None
    return HistoryPage(tuple(tickets), following, skipped)


async def _folders(plugin: FreshservicePlugin, tenant: TenantContext) -> list[int]:
    async def listing(path: str, key: str, params: dict[str, str]) -> list[int]:
        response = await fetch(
            plugin,
            tenant,
            VendorRequest("GET", path, params={**params, "per_page": "100"}, idempotent=True),
            endpoint=f"GET {path}",
            permission=SOLUTIONS_PERMISSION,
        )
        items = obj(response.json()).get(key)
        ids = (obj(i).get("id") for i in (items if isinstance(items, list) else []))
        return [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]

    folders: list[int] = []
    for category in await listing("/api/v2/solutions/categories", "categories", {}):
        folders += await listing("/api/v2/solutions/folders", "folders", {"category_id": str(category)})
    return folders


def parse_article(data: Any, base_url: str) -> Article:
    article = obj(data)
    article_id, title = text_field(article.get("id")), text_field(article.get("title"))
    if not article_id or not title:
        raise MalformedRecordError("article without id or title")
    return Article(
        article_id=article_id,
        title=title,
        body=reduce_html(article.get("description"), ARTICLE_LIMIT),
        url=f"{base_url.rstrip('/')}/support/solutions/articles/{segment(article_id)}",
    )


async def knowledge_page(
    plugin: FreshservicePlugin, tenant: TenantContext, cursor: str | None
) -> KnowledgePage:
    state = decode_cursor(cursor)
    folders = state.get("folders")
    if not isinstance(folders, list):
        folders = await _folders(plugin, tenant)
    if not folders:
        return KnowledgePage()
    folder, page = folders[0], _page_number(state)
    response = await fetch(
        plugin,
        tenant,
        VendorRequest(
            "GET",
            "/api/v2/solutions/articles",
            params={"folder_id": str(folder), "per_page": str(plugin.knowledge_page_size), "page": str(page)},
            idempotent=True,
        ),
        endpoint="GET /api/v2/solutions/articles",
        permission=SOLUTIONS_PERMISSION,
    )
    found, skipped = parse_each(
        obj(response.json()).get("articles"),
        lambda item: parse_article(item, tenant.config.base_url),
        keep=lambda item: text_field(obj(item).get("status")) == "2",  # 1 draft, 2 published
    )
    if _has_next(response):
        following: str | None = encode_cursor({"folders": folders, "page": page + 1})
    else:
        following = encode_cursor({"folders": folders[1:], "page": 1}) if folders[1:] else None
    return KnowledgePage(found, following, skipped)
