"""Zendesk history (incremental ticket export) and knowledge (Help Center articles).

History: ``GET /api/v2/incremental/tickets/cursor.json?start_time=<unix>`` (then ``?cursor=``)
until ``end_of_stream``, ``per_page`` 100 (documented maximum 1,000; 100 keeps answers with long
descriptions under the 4 MiB body bound) with the groups sideloaded (``include=groups``) for their
names. Incremental exports are admin-only and limited to 10 requests/minute (Zendesk's
"Incremental Exports" reference). The export lists every changed ticket; solved and closed ones are
kept, and each costs one more call, ``GET /api/v2/tickets/{id}/comments?sort_order=desc`` (the
listing carries no comments): the resolution is the last public comment by someone other than the
requester that is not one of our notes. The ticket has no solved time of its own (that is in
ticket metrics): ``updated_at`` stands for it. Scope: ``organization_id``; category: ``type``;
group: the group's name (and its id, as the fetched ticket's).

Knowledge: Help Center ``GET /api/v2/help_center/articles.json?page[size]=25`` (cursor paging,
``meta.has_more`` / ``meta.after_cursor``; up to 100 a page); drafts are left out.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.plugins.base import text_field
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
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
    fetch_detail,
    is_our_note,
    iso_utc,
    last_resolution,
    own_url,
    parse_each,
    reduce_html,
    safe_url,
    segment,
)

if TYPE_CHECKING:
    from ticket_enhancer.plugins.context import TenantContext
    from ticket_enhancer.plugins.zendesk.plugin import ZendeskPlugin

EXPORT = "/api/v2/incremental/tickets/cursor.json"
EXPORT_PERMISSION = "an admin role (incremental exports are admin-only)"
COMMENTS_PERMISSION = "agent access to the ticket's group (tickets:read)"
ARTICLES = "/api/v2/help_center/articles.json"
ARTICLES_PERMISSION = "Help Center (Guide) viewer access for the API user (hc:read)"
RESOLVED = frozenset({"solved", "closed"})


def _comments(data: Any) -> list[Comment]:
    raw = obj(data).get("comments")
    found: list[Comment] = []
    for item in reversed(raw) if isinstance(raw, list) else []:  # asked newest first
        comment = obj(item)
        html_body = text_field(comment.get("html_body"))
        text = (
            text_field(comment.get("plain_body")) or text_field(comment.get("body")) or reduce_html(html_body)
        )
        public = comment.get("public") is True and not is_our_note(html_body)
        found.append(Comment(text[:TEXT_LIMIT], text_field(comment.get("author_id")), public))
    return found


def parse_ticket(data: Any, groups: dict[str, str], resolution: str, base_url: str) -> IndexedTicket:
    ticket = obj(data)
    ticket_id, subject = text_field(ticket.get("id")), text_field(ticket.get("subject"))
    if not ticket_id or not subject:
        raise MalformedRecordError("ticket without id or subject")
    group_id = text_field(ticket.get("group_id"))
    return IndexedTicket(
        ticket_id=ticket_id,
        display_key=f"#{ticket_id}",
        subject=subject,
        text=reduce_html(ticket.get("description"), TEXT_LIMIT),
        url=f"{base_url.rstrip('/')}/agent/tickets/{segment(ticket_id)}",
        created=iso_utc(ticket.get("created_at")),
        resolution=resolution,
        resolved=iso_utc(ticket.get("updated_at")),
        status="resolved",
        category=text_field(ticket.get("type")),
        group=groups.get(group_id, group_id),
        group_id=group_id,
        priority=text_field(ticket.get("priority")),
        scope=text_field(ticket.get("organization_id")),
    )


async def history_page(
    plugin: ZendeskPlugin, tenant: TenantContext, since: datetime, cursor: str | None
) -> HistoryPage:
    state = decode_cursor(cursor)
    params = {"per_page": str(plugin.history_page_size), "include": "groups"}
    if after := text_field(state.get("after")):
        params["cursor"] = after
    else:
        params["start_time"] = str(int(since.timestamp()))
    response = await fetch(
        plugin,
        tenant,
        VendorRequest("GET", EXPORT, params=params, idempotent=True),
        endpoint=f"GET {EXPORT}",
        permission=EXPORT_PERMISSION,
    )
    body = obj(response.json())
    sideloaded = body.get("groups")
    groups = {
        text_field(obj(g).get("id")): text_field(obj(g).get("name"))
        for g in (sideloaded if isinstance(sideloaded, list) else [])
    }
    tickets: list[IndexedTicket] = []
    skipped = 0
    listed = body.get("tickets")
    for item in listed if isinstance(listed, list) else []:
        ticket = obj(item)
        ticket_id = text_field(ticket.get("id"))
        if text_field(ticket.get("status")) not in RESOLVED:
            continue
        if not ticket_id.isdigit() or not text_field(ticket.get("subject")):
            skipped += 1
            continue
        path = f"/api/v2/tickets/{ticket_id}/comments"
        comments = await fetch_detail(
            plugin,
            tenant,
            VendorRequest("GET", path, params={"sort_order": "desc"}, idempotent=True),
            endpoint="GET /api/v2/tickets/{id}/comments",
            permission=COMMENTS_PERMISSION,
        )
        if comments is None:  # deleted since it was listed, or an unreadable answer
            skipped += 1
            continue
        resolution = last_resolution(_comments(comments), text_field(ticket.get("requester_id")))
        tickets.append(parse_ticket(ticket, groups, resolution, tenant.config.base_url))
    after_cursor = text_field(body.get("after_cursor"))
    done = body.get("end_of_stream") is not False or not after_cursor
    return HistoryPage(tuple(tickets), None if done else encode_cursor({"after": after_cursor}), skipped)


_LOCALE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*", re.IGNORECASE)


def parse_article(data: Any, base_url: str) -> Article:
    """An article; its link is its ``html_url`` when that is on the tenant's own Zendesk host,
    else ``{base}/hc/{locale}/articles/{id}`` there (a brand's mapped Help Center domain, or a
    tampered URL, never becomes a link: Zendesk redirects the subdomain's address to the mapped one)."""
    article = obj(data)
    article_id, title = text_field(article.get("id")), text_field(article.get("title"))
    if not (article_id.isascii() and article_id.isdigit()) or not title:
        raise MalformedRecordError("article without id or title")
    locale = text_field(article.get("locale"))
    path = (
        f"/hc/{locale}/articles/{article_id}" if _LOCALE.fullmatch(locale) else f"/hc/articles/{article_id}"
    )
    return Article(
        article_id=article_id,
        title=title,
        body=reduce_html(article.get("body"), ARTICLE_LIMIT),
        url=own_url(article.get("html_url"), base_url) or safe_url(f"{base_url.rstrip('/')}{path}"),
    )


async def knowledge_page(plugin: ZendeskPlugin, tenant: TenantContext, cursor: str | None) -> KnowledgePage:
    state = decode_cursor(cursor)
    params = {"page[size]": str(plugin.knowledge_page_size)}
    if after := text_field(state.get("after")):
        params["page[after]"] = after
    response = await fetch(
        plugin,
        tenant,
        VendorRequest("GET", ARTICLES, params=params, idempotent=True),
        endpoint=f"GET {ARTICLES}",
        permission=ARTICLES_PERMISSION,
    )
    body = obj(response.json())
    found, skipped = parse_each(
        body.get("articles"),
        lambda item: parse_article(item, tenant.config.base_url),
        keep=lambda item: obj(item).get("draft") is not True,
    )
    meta = obj(body.get("meta"))
    after_cursor = text_field(meta.get("after_cursor"))
    more = meta.get("has_more") is True and after_cursor
    return KnowledgePage(found, encode_cursor({"after": after_cursor}) if more else None, skipped)
