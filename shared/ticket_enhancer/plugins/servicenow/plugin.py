"""ServiceNow (incident table)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from ticket_enhancer.models import Priority, Ticket
from ticket_enhancer.plugins.base import NoteFormat, TicketingToolPlugin, WebhookEvent
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
from ticket_enhancer.plugins.context import TenantContext, WebhookRequest
from ticket_enhancer.plugins.fields import first_text, named, obj, parse_datetime
from ticket_enhancer.plugins.requests import VendorRequest
from ticket_enhancer.plugins.servicenow.history import field_part
from ticket_enhancer.urls import HostPolicy
from ticket_enhancer.webhooks import schemes

_BY_DIGIT = {
    "1": Priority.CRITICAL,
    "2": Priority.HIGH,
    "3": Priority.MEDIUM,
    "4": Priority.LOW,
    "5": Priority.LOW,
}


class ServiceNowPlugin(TicketingToolPlugin):
    __tool_type__ = "servicenow"
    __version__ = "1.0.0"
    __plugin_api__ = ">=1,<2"
    display_name = "ServiceNow"
    resource_name = "ServiceNow"
    host_policy = HostPolicy(patterns=("*.service-now.com",))
    setup_where = (
        "System Definition > Business Rules (incident, after insert): a script using RESTMessageV2 "
        "that POSTs the body below and signs it with Standard Webhooks "
        "(GlideCertificateEncryption.generateMac over '<id>.<timestamp>.<body>')."
    )
    setup_body_template = '{"sys_id": "${current.sys_id}", "number": "${current.number}", "event": "created"}'
    sample_user_agent = "ServiceNow/1.0"
    sample_webhook = {
        "sys_id": "9d385017c611228701d22104cc95c371",
        "number": "INC0010001",
        "short_description": "Email not syncing on mobile",
        "description": "Outlook on my phone stopped syncing after the password change.",
        "priority": "2",
        "state": "1",
        "caller_id": "Abel Tuter",
        "opened_at": "2024-01-02 03:04:05",
    }

    default_auth_mode = schemes.STANDARD_WEBHOOKS
    note_format: ClassVar[NoteFormat] = "text"  # work notes are plain text
    priority_map = {
        **_BY_DIGIT,
        "critical": Priority.CRITICAL,
        "high": Priority.HIGH,
        "moderate": Priority.MEDIUM,
        "low": Priority.LOW,
        "planning": Priority.LOW,
    }

    # History and knowledge (``servicenow/history.py``): close_notes come in the listing, so one
    # call per page. sysparm_limit has no documented maximum (instances cap rows per answer,
    # glide.json.return_limit); 100 keeps answers bounded. Calls per 100 history tickets: 1.
    history_page_size: ClassVar[int] = 100
    knowledge_page_size: ClassVar[int] = 25
    history_calls_per_100: ClassVar[int] = 1
    # No default limit is documented: rate limit rules are admin-defined, per hour (System Web
    # Services > REST > Rate Limit Rules, docs.servicenow.com "Rate limiting"). 300/min is our
    # conservative planning figure; a 429 with Retry-After is honoured either way.
    documented_rate_limit_per_minute: ClassVar[int] = 300

    async def history_page(
        self, tenant: TenantContext, *, since: datetime, cursor: str | None
    ) -> HistoryPage:
        from ticket_enhancer.plugins.servicenow import history

        return await history.history_page(self, tenant, since, cursor)

    async def knowledge_page(self, tenant: TenantContext, *, cursor: str | None) -> KnowledgePage:
        from ticket_enhancer.plugins.servicenow import history

        return await history.knowledge_page(self, tenant, cursor)

    @classmethod
    def normalise_priority(cls, raw: str | None) -> Priority:
        # "1", "1 - Critical" and "Critical" all mean P1.
        text = (raw or "").strip()
        if text[:1] in _BY_DIGIT:
            return _BY_DIGIT[text[:1]]
        return super().normalise_priority(raw)

    def parse_webhook(self, payload: dict[str, Any], request: WebhookRequest) -> WebhookEvent:
        record = obj(payload.get("result")) or payload
        return WebhookEvent(
            ticket_id=first_text(record, "sys_id"),
            display_key=first_text(record, "number"),
            subject=first_text(record, "short_description"),
            description=first_text(record, "description"),
            priority_raw=named(record.get("priority")),
            requester=named(record.get("caller_id")),
            created_at=parse_datetime(record.get("opened_at") or record.get("sys_created_on")),
            status=named(record.get("state")),
            event_type=first_text(payload, "event") or "created",
        )

    def ticket_request(self, ticket_id: str) -> VendorRequest:
        return VendorRequest(
            "GET",
            f"/api/now/table/incident/{ticket_id}",
            idempotent=True,
            params={"sysparm_exclude_reference_link": "true"},
        )

    def parse_ticket(self, data: Any, tenant: TenantContext, ticket_id: str) -> Ticket:
        record = obj(obj(data).get("result"))
        priority = named(record.get("priority"))
        sys_id = first_text(record, "sys_id") or ticket_id
        return Ticket(
            tool_type=self.__tool_type__,
            tenant_id=tenant.tenant_id,
            ticket_id=sys_id,
            display_key=first_text(record, "number") or sys_id,
            subject=first_text(record, "short_description"),
            description=first_text(record, "description"),
            priority=self.normalise_priority(priority),
            priority_raw=priority,
            requester=named(record.get("caller_id")),
            created_at=parse_datetime(record.get("opened_at") or record.get("sys_created_on")),
            status=named(record.get("state")),
            url=f"{tenant.config.base_url.rstrip('/')}/nav_to.do?uri=incident.do?sys_id={sys_id}",
            scope=field_part(record, "company", "value"),  # the company's sys_id, as the history's
            category=field_part(record, "category", "display_value"),
            group=field_part(record, "assignment_group", "display_value"),
        )

    def note_request(self, ticket_id: str, rendered: Any) -> VendorRequest:
        return VendorRequest("PATCH", f"/api/now/table/incident/{ticket_id}", json={"work_notes": rendered})

    def notes_request(self, ticket_id: str) -> VendorRequest:
        query = f"element_id={ticket_id}^element=work_notes^ORDERBYDESCsys_created_on"
        return VendorRequest(
            "GET",
            "/api/now/table/sys_journal_field",
            idempotent=True,
            params={"sysparm_query": query, "sysparm_fields": "value", "sysparm_limit": "100"},
        )

    def parse_notes(self, data: Any) -> list[str]:
        result = obj(data).get("result")
        return [first_text(obj(r), "value") for r in result] if isinstance(result, list) else []
