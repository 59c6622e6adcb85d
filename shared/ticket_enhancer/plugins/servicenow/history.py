"""ServiceNow history (resolved incidents, Table API) and knowledge (``kb_knowledge``).

History: ``GET /api/now/table/incident`` with ``sysparm_query=stateIN6,7^resolved_at>=<date>
^ORDERBYresolved_at^ORDERBYsys_id``, the fields we read (``close_notes`` is the resolution, inline:
no call per incident), ``sysparm_display_value=all`` (labels for references and choices *and* the
raw values: dates stay in UTC, the company keeps its sys_id as the scope key),
``sysparm_limit``/``sysparm_offset`` paging. Vendor notes: ``vendor-facts.md`` filters on
``active=false``, but a Resolved incident stays active until it is closed (ServiceNow's incident
state model), so we ask for the states Resolved (6) and Closed (7); and it orders newest first,
while oldest first keeps offsets stable while new incidents are resolved during an import.

Knowledge: ``GET /api/now/table/kb_knowledge?sysparm_query=workflow_state=published`` (``number``,
``short_description``, ``text`` HTML), same paging; article URL ``/kb_view.do?sysparm_article=<number>``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.plugins.base import text_field
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
from ticket_enhancer.plugins.fields import obj
from ticket_enhancer.plugins.requests import VendorRequest
from ticket_enhancer.plugins.servicenow.records import field_part
from ticket_enhancer.plugins.sourcing import (
    ARTICLE_LIMIT,
    RESOLUTION_LIMIT,
    TEXT_LIMIT,
    MalformedRecordError,
    decode_cursor,
    encode_cursor,
    fetch,
    is_our_note,
    iso_utc,
    parse_each,
    reduce_html,
    segment,
)

if TYPE_CHECKING:
    from ticket_enhancer.plugins.context import TenantContext
    from ticket_enhancer.plugins.servicenow.plugin import ServiceNowPlugin

INCIDENTS = "/api/now/table/incident"
INCIDENT_FIELDS = (
    "sys_id,number,short_description,description,close_notes,close_code,category,subcategory,"
    "assignment_group,company,priority,opened_at,resolved_at,caller_id"
)
INCIDENT_PERMISSION = "the itil role (read on the incident table, including close_notes)"
ARTICLES = "/api/now/table/kb_knowledge"
ARTICLE_PERMISSION = "read on kb_knowledge (the knowledge role, and the knowledge bases' user criteria)"


def _offset(state: dict[str, Any]) -> int:
    offset = state.get("offset", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ValueError("not a cursor of this source")
    return offset


def parse_incident(data: Any, base_url: str) -> IndexedTicket:
    record = obj(data)
    sys_id = field_part(record, "sys_id", "value")
    subject = field_part(record, "short_description", "display_value")
    if not sys_id or not subject:
        raise MalformedRecordError("incident without sys_id or short description")
    close_notes = field_part(record, "close_notes", "value")
    return IndexedTicket(
        ticket_id=sys_id,
        display_key=field_part(record, "number", "value") or sys_id,
        subject=subject,
        text=reduce_html(field_part(record, "description", "value"), TEXT_LIMIT),
        url=f"{base_url.rstrip('/')}/nav_to.do?uri=incident.do?sys_id={segment(sys_id)}",
        created=iso_utc(field_part(record, "opened_at", "value")),
        resolution="" if is_our_note(close_notes) else reduce_html(close_notes, RESOLUTION_LIMIT),
        resolved=iso_utc(field_part(record, "resolved_at", "value")),
        status="resolved",
        category=field_part(record, "category", "display_value"),
        group=field_part(record, "assignment_group", "display_value"),
        group_id=field_part(record, "assignment_group", "value"),  # the group's sys_id
        priority=field_part(record, "priority", "display_value"),
        scope=field_part(record, "company", "value"),
    )


async def history_page(
    plugin: ServiceNowPlugin, tenant: TenantContext, since: datetime, cursor: str | None
) -> HistoryPage:
    offset = _offset(decode_cursor(cursor))
    size = plugin.history_page_size
    params = {
        "sysparm_query": f"stateIN6,7^resolved_at>={since:%Y-%m-%d %H:%M:%S}"
        "^ORDERBYresolved_at^ORDERBYsys_id",
        "sysparm_fields": INCIDENT_FIELDS,
        "sysparm_display_value": "all",
        "sysparm_exclude_reference_link": "true",
        "sysparm_limit": str(size),
        "sysparm_offset": str(offset),
    }
    response = await fetch(
        plugin,
        tenant,
        VendorRequest("GET", INCIDENTS, params=params, idempotent=True),
        endpoint=f"GET {INCIDENTS}",
        permission=INCIDENT_PERMISSION,
    )
    result = obj(response.json()).get("result")
    records = result if isinstance(result, list) else []
    tickets, skipped = parse_each(records, lambda record: parse_incident(record, tenant.config.base_url))
    following = encode_cursor({"offset": offset + len(records)}) if len(records) >= size else None
    return HistoryPage(tickets, following, skipped)


def parse_article(data: Any, base_url: str) -> Article:
    record = obj(data)
    number, title = text_field(record.get("number")), text_field(record.get("short_description"))
    if not number or not title:
        raise MalformedRecordError("article without number or title")
    return Article(
        article_id=text_field(record.get("sys_id")) or number,
        title=title,
        body=reduce_html(record.get("text"), ARTICLE_LIMIT),
        url=f"{base_url.rstrip('/')}/kb_view.do?sysparm_article={segment(number)}",
    )


async def knowledge_page(
    plugin: ServiceNowPlugin, tenant: TenantContext, cursor: str | None
) -> KnowledgePage:
    offset = _offset(decode_cursor(cursor))
    size = plugin.knowledge_page_size
    params = {
        "sysparm_query": "workflow_state=published^ORDERBYnumber",
        "sysparm_fields": "sys_id,number,short_description,text",
        "sysparm_limit": str(size),
        "sysparm_offset": str(offset),
    }
    response = await fetch(
        plugin,
        tenant,
        VendorRequest("GET", ARTICLES, params=params, idempotent=True),
        endpoint=f"GET {ARTICLES}",
        permission=ARTICLE_PERMISSION,
    )
    result = obj(response.json()).get("result")
    records = result if isinstance(result, list) else []
    found, skipped = parse_each(records, lambda record: parse_article(record, tenant.config.base_url))
    following = encode_cursor({"offset": offset + len(records)}) if len(records) >= size else None
    return KnowledgePage(found, following, skipped)
