"""Freshservice (API v2)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from ticket_enhancer.models import Priority, Ticket
from ticket_enhancer.plugins.base import TicketingToolPlugin, WebhookEvent, api_token, text_field
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
from ticket_enhancer.plugins.context import TenantContext, WebhookRequest
from ticket_enhancer.plugins.fields import first_text, obj, parse_datetime
from ticket_enhancer.plugins.requests import VendorRequest
from ticket_enhancer.urls import HostPolicy

# {{ticket.id}} renders as "123", "#INC-123" or "SR-123" depending on the placeholder used.
_TICKET_ID = re.compile(r"#?(?:[A-Za-z]+-)?(\d{1,20})")
PAGE_SIZE = 100  # conversations per page (Freshservice's maximum; its default is 30)
_STATUS = {"2": "Open", "3": "Pending", "4": "Resolved", "5": "Closed"}


class FreshservicePlugin(TicketingToolPlugin):
    __tool_type__ = "freshservice"
    __version__ = "1.0.0"
    __plugin_api__ = ">=1,<2"
    display_name = "Freshservice"
    resource_name = "Freshservice"
    host_policy = HostPolicy(patterns=("*.freshservice.com",))
    setup_where = (
        "Admin > Workflow Automator > new Ticket workflow 'Ticket is raised' > Action: Trigger "
        "Webhook, POST, JSON, custom header below, body template below."
    )
    setup_body_template = '{"ticket_id": "{{ticket.id}}", "event": "created"}'
    sample_user_agent = "Freshservice-Webhook"
    sample_webhook = {
        "freshservice_webhook": {
            "ticket_id": 123,
            "ticket_subject": "Laptop will not boot",
            "ticket_description": "Black screen after the BIOS update, power LED on.",
            "ticket_priority": 3,
            "ticket_status": "Open",
            "ticket_requester_email": "demo.user@example.com",
        }
    }

    priority_map = {
        "4": Priority.CRITICAL,
        "urgent": Priority.CRITICAL,
        "3": Priority.HIGH,
        "high": Priority.HIGH,
        "2": Priority.MEDIUM,
        "medium": Priority.MEDIUM,
        "1": Priority.LOW,
        "low": Priority.LOW,
    }

    # History and knowledge (``freshservice/history.py``): tickets 100 a page (the documented
    # maximum) plus one conversations call per resolved ticket; solution articles 25 a page (up
    # to 100), after one categories call and one folders call per category on the first page.
    # Calls per 100 history tickets: 1 + 100.
    history_page_size: ClassVar[int] = 100
    knowledge_page_size: ClassVar[int] = 25
    history_calls_per_100: ClassVar[int] = 101
    # api.freshservice.com "Rate limit": per account and minute by plan, 100 (Starter) to 500
    # (Enterprise); the lowest is the planning default.
    documented_rate_limit_per_minute: ClassVar[int] = 100

    async def history_page(
        self, tenant: TenantContext, *, since: datetime, cursor: str | None
    ) -> HistoryPage:
        from ticket_enhancer.plugins.freshservice import history

        return await history.history_page(self, tenant, since, cursor)

    async def knowledge_page(self, tenant: TenantContext, *, cursor: str | None) -> KnowledgePage:
        from ticket_enhancer.plugins.freshservice import history

        return await history.knowledge_page(self, tenant, cursor)

    def parse_webhook(self, payload: dict[str, Any], request: WebhookRequest) -> WebhookEvent:
        body = obj(payload.get("freshservice_webhook")) or payload
        raw_id = first_text(body, "ticket_id", "id").strip()
        match = _TICKET_ID.fullmatch(raw_id)
        return WebhookEvent(
            ticket_id=match.group(1) if match else raw_id,
            display_key=raw_id,
            subject=first_text(body, "ticket_subject", "subject"),
            description=first_text(body, "ticket_description", "description"),
            priority_raw=first_text(body, "ticket_priority", "priority") or None,
            requester=first_text(body, "ticket_requester_email", "requester") or None,
            status=first_text(body, "ticket_status", "status") or None,
            event_type=first_text(body, "event") or "created",
        )

    def ticket_request(self, ticket_id: str) -> VendorRequest:
        return VendorRequest("GET", f"/api/v2/tickets/{ticket_id}", idempotent=True)

    def parse_ticket(self, data: Any, tenant: TenantContext, ticket_id: str) -> Ticket:
        ticket = obj(obj(data).get("ticket"))
        priority = text_field(ticket.get("priority")) or None
        found_id = text_field(ticket.get("id")) or ticket_id
        status = text_field(ticket.get("status"))
        return Ticket(
            tool_type=self.__tool_type__,
            tenant_id=tenant.tenant_id,
            ticket_id=found_id,
            display_key=f"#{found_id}",
            subject=text_field(ticket.get("subject")),
            description=first_text(ticket, "description_text", "description"),
            priority=self.normalise_priority(priority),
            priority_raw=priority,
            requester=text_field(ticket.get("requester_id")) or None,
            created_at=parse_datetime(ticket.get("created_at")),
            status=_STATUS.get(status, status or None),
            url=f"{tenant.config.base_url.rstrip('/')}/helpdesk/tickets/{found_id}",
            scope=text_field(ticket.get("department_id")),
            category=text_field(ticket.get("category")),
            group=text_field(ticket.get("group_id")),
            group_id=text_field(ticket.get("group_id")),  # no names without a groups listing
        )

    def note_request(self, ticket_id: str, rendered: Any) -> VendorRequest:
        return VendorRequest(
            "POST", f"/api/v2/tickets/{ticket_id}/notes", json={"body": rendered, "private": True}
        )

    def notes_request(self, ticket_id: str) -> VendorRequest:
        # Oldest first, 30 a page by default (at most 100): every page is read until the footer.
        return VendorRequest(
            "GET",
            f"/api/v2/tickets/{ticket_id}/conversations",
            idempotent=True,
            params={"page": "1", "per_page": str(PAGE_SIZE)},
        )

    def next_notes_request(
        self, previous: VendorRequest, data: Any, headers: Mapping[str, str]
    ) -> VendorRequest | None:
        """The next page when the ``link`` header announces one (``rel="next"``), or when a full
        page came without a ``link`` header; never the link's own URL (only its page number)."""
        items = obj(data).get("conversations")
        link = headers.get("link")
        more = 'rel="next"' in link if link else isinstance(items, list) and len(items) >= PAGE_SIZE
        if not more or not isinstance(items, list) or not items:
            return None
        params = dict(previous.params or {})
        params["page"] = str(int(params.get("page", "1")) + 1)
        return dataclasses.replace(previous, params=params)

    def parse_notes(self, data: Any) -> list[str]:
        items = obj(data).get("conversations")
        return [first_text(obj(c), "body", "body_text") for c in items] if isinstance(items, list) else []

    def basic_credentials(self, tenant: TenantContext) -> tuple[str, str]:
        # Freshservice: Basic {api_key}:X
        return api_token(tenant), "X"
