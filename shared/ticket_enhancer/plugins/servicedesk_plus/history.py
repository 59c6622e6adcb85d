"""ServiceDesk Plus history (resolved and closed requests) and knowledge (solutions), API v3.

History: ``GET /api/v3/requests`` with ``input_data={"list_info": {...}}`` as a URL parameter (the
vendor's rule for lists): ``row_count`` 100 (the documented maximum), ``start_index``,
``search_criteria`` on ``status.name`` (Resolved, Closed) and ``resolved_time``, sorted by
``created_time`` ascending (``vendor-facts.md`` says descending; ascending keeps the offsets of pages
already read stable while new requests arrive), ``has_more_rows`` for the next page. The list view
carries no resolution: each request costs one more call, ``GET /api/v3/requests/{id}/resolutions``
(``resolution.content``, HTML). Scope: the site's name; category, group, priority: their names.

Knowledge: ``GET /api/v3/solutions`` with the same ``list_info`` paging (``title``, ``description``
HTML); solutions awaiting approval or rejected are left out.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.plugins.base import text_field
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
from ticket_enhancer.plugins.fields import named, obj
from ticket_enhancer.plugins.requests import VendorRequest
from ticket_enhancer.plugins.sourcing import (
    ARTICLE_LIMIT,
    RESOLUTION_LIMIT,
    TEXT_LIMIT,
    MalformedRecordError,
    decode_cursor,
    encode_cursor,
    fetch,
    fetch_detail,
    is_our_note,
    iso_utc,
    parse_each,
    reduce_html,
    segment,
)

if TYPE_CHECKING:
    from ticket_enhancer.plugins.context import TenantContext
    from ticket_enhancer.plugins.servicedesk_plus.plugin import ServiceDeskPlusPlugin

REQUESTS = "/api/v3/requests"
REQUESTS_PERMISSION = "a technician role with 'View requests' (cloud OAuth scope SDPOnDemand.requests.READ)"
SOLUTIONS = "/api/v3/solutions"
SOLUTIONS_PERMISSION = (
    "a technician role with 'View solutions' (cloud OAuth scope SDPOnDemand.solutions.READ)"
)
FIELDS = (
    "id", "display_id", "subject", "description", "short_description", "status", "priority", "category",
    "group", "site", "created_time", "resolved_time", "requester",
)  # fmt: skip
UNPUBLISHED = frozenset({"awaiting approval", "rejected", "unapproved", "draft"})


def _start(state: dict[str, Any]) -> int:
    start = state.get("start", 1)
    if not isinstance(start, int) or isinstance(start, bool) or start < 1:
        raise ValueError("not a cursor of this source")
    return start


def _list_info(params: dict[str, Any]) -> dict[str, str]:
    return {"input_data": json.dumps({"list_info": params}, separators=(",", ":"))}


async def _resolution(plugin: ServiceDeskPlusPlugin, tenant: TenantContext, request_id: str) -> str:
    data = await fetch_detail(
        plugin,
        tenant,
        VendorRequest("GET", f"{REQUESTS}/{request_id}/resolutions", idempotent=True),
        endpoint="GET /api/v3/requests/{id}/resolutions",
        permission=REQUESTS_PERMISSION,
    )
    # None: resolved without a resolution (404) or an unreadable answer: the request still counts.
    content = text_field(obj(obj(data).get("resolution")).get("content"))
    return "" if is_our_note(content) else reduce_html(content, RESOLUTION_LIMIT)


def parse_request(data: Any, resolution: str, base_url: str) -> IndexedTicket:
    request = obj(data)
    request_id, subject = text_field(request.get("id")), text_field(request.get("subject"))
    if not request_id.isdigit() or not subject:
        raise MalformedRecordError("request without id or subject")
    text = reduce_html(request.get("description"), TEXT_LIMIT) or text_field(request.get("short_description"))
    return IndexedTicket(
        ticket_id=request_id,
        display_key=text_field(request.get("display_id")) or request_id,
        subject=subject,
        text=text,
        url=f"{base_url.rstrip('/')}/WorkOrder.do?woMode=viewWO&woID={segment(request_id)}",
        created=iso_utc(obj(request.get("created_time")).get("value")),
        resolution=resolution,
        resolved=iso_utc(obj(request.get("resolved_time")).get("value")),
        status="resolved",
        category=named(request.get("category")) or "",
        group=named(request.get("group")) or "",
        group_id=text_field(obj(request.get("group")).get("id")),
        priority=named(request.get("priority")) or "",
        scope=named(request.get("site")) or "",
    )


async def history_page(
    plugin: ServiceDeskPlusPlugin, tenant: TenantContext, since: datetime, cursor: str | None
) -> HistoryPage:
    start = _start(decode_cursor(cursor))
    size = plugin.history_page_size
    list_info = {
        "row_count": size,
        "start_index": start,
        "sort_field": "created_time",
        "sort_order": "asc",
        "get_total_count": False,
        "fields_required": list(FIELDS),
        "search_criteria": [
            {"field": "status.name", "condition": "is", "values": ["Resolved", "Closed"]},
            {
                "field": "resolved_time",
                "condition": "greater than",
                "value": str(int(since.timestamp() * 1000)),
                "logical_operator": "AND",
            },
        ],
    }
    response = await fetch(
        plugin,
        tenant,
        VendorRequest("GET", REQUESTS, params=_list_info(list_info), idempotent=True),
        endpoint=f"GET {REQUESTS}",
        permission=REQUESTS_PERMISSION,
    )
    body = obj(response.json())
    listed = body.get("requests")
    tickets: list[IndexedTicket] = []
    skipped = 0
    for item in listed if isinstance(listed, list) else []:
        request_id = text_field(obj(item).get("id"))
        if not request_id.isdigit() or not text_field(obj(item).get("subject")):
            skipped += 1
            continue
        resolution = await _resolution(plugin, tenant, request_id)
        tickets.append(parse_request(item, resolution, tenant.config.base_url))
    more = obj(body.get("list_info")).get("has_more_rows") is True
    return HistoryPage(tuple(tickets), encode_cursor({"start": start + size}) if more else None, skipped)


def parse_solution(data: Any, base_url: str) -> Article:
    solution = obj(data)
    solution_id, title = text_field(solution.get("id")), text_field(solution.get("title"))
    if not solution_id or not title:
        raise MalformedRecordError("solution without id or title")
    return Article(
        article_id=solution_id,
        title=title,
        body=reduce_html(solution.get("description"), ARTICLE_LIMIT),
        url=f"{base_url.rstrip('/')}/ui/solutions/{segment(solution_id)}/details",
    )


async def knowledge_page(
    plugin: ServiceDeskPlusPlugin, tenant: TenantContext, cursor: str | None
) -> KnowledgePage:
    start = _start(decode_cursor(cursor))
    size = plugin.knowledge_page_size
    list_info = {"row_count": size, "start_index": start, "sort_field": "id", "sort_order": "asc"}
    response = await fetch(
        plugin,
        tenant,
        VendorRequest("GET", SOLUTIONS, params=_list_info(list_info), idempotent=True),
        endpoint=f"GET {SOLUTIONS}",
        permission=SOLUTIONS_PERMISSION,
    )
    body = obj(response.json())
    found, skipped = parse_each(
        body.get("solutions"),
        lambda item: parse_solution(item, tenant.config.base_url),
        keep=lambda item: (named(obj(item).get("approval_status")) or "").lower() not in UNPUBLISHED,
    )
    more = obj(body.get("list_info")).get("has_more_rows") is True
    return KnowledgePage(found, encode_cursor({"start": start + size}) if more else None, skipped)
