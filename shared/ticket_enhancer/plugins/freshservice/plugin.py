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
from ticket_enhancer.plugins.fields import first_text, obj
from ticket_enhancer.plugins.freshservice.groups import GroupNames
from ticket_enhancer.plugins.mapping import FieldMap, date, field, maybe, text
from ticket_enhancer.plugins.requests import VendorRequest
from ticket_enhancer.urls import HostPolicy

# {{ticket.id}} renders as "123", "#INC-123" or "SR-123" depending on the placeholder used.
_TICKET_ID = re.compile(r"#?(?:[A-Za-z]+-)?(\d{1,20})")
PAGE_SIZE = 100  # conversations per page (Freshservice's maximum; its default is 30)
_STATUS = {"2": "Open", "3": "Pending", "4": "Resolved", "5": "Closed"}


def _status(value: Any) -> str | None:
    """A status as its name: the API's number (2..5) named, a name (webhook bodies) as it is."""
    status = text_field(value)
    return _STATUS.get(status, status or None)


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

    # The API's keys, and where webhook bodies (admin-written Workflow Automator bodies: the
    # ``ticket_*`` names of ``sample_webhook``) differ. Statuses are numbers in the API, names in bodies.
    fields = FieldMap(
        ticket_id=text("id", webhook=("ticket_id", "id")),
        subject=text("subject", webhook=("ticket_subject", "subject")),
        description=text("description_text", "description", webhook=("ticket_description", "description")),
        priority=maybe("priority", webhook=("ticket_priority", "priority")),
        requester=maybe("requester_id", webhook=("ticket_requester_email", "requester")),
        created_at=date("created_at", webhook=()),
        status=field("status", read=_status, webhook=("ticket_status", "status")),
        scope=text("department_id"),
        category=text("category"),
        group=text("group_id"),  # the id until ``get_ticket`` names it (``groups.py``)
        group_id=text("group_id"),
    )

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
    # Calls per 100 history tickets: 1 + 100 (and, once a run, a groups listing: 100 groups a call).
    history_page_size: ClassVar[int] = 100
    knowledge_page_size: ClassVar[int] = 25
    history_calls_per_100: ClassVar[int] = 101
    # api.freshservice.com "Rate limit": per account and minute by plan, 100 (Starter) to 500
    # (Enterprise); the lowest is the planning default.
    documented_rate_limit_per_minute: ClassVar[int] = 100

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.groups = GroupNames()  # group names per tenant, an hour in this container

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
        raw_id = self.fields.ticket_id(body, webhook=True).strip()
        match = _TICKET_ID.fullmatch(raw_id)
        return self.webhook_event(
            body,
            ticket_id=match.group(1) if match else raw_id,
            display_key=raw_id,
            event_type=first_text(body, "event") or "created",
        )

    def ticket_request(self, ticket_id: str) -> VendorRequest:
        return VendorRequest("GET", f"/api/v2/tickets/{ticket_id}", idempotent=True)

    async def get_ticket(self, tenant: TenantContext, ticket_id: str) -> Ticket:
        """The ticket, its group named: ``group_id`` keeps the id (what triage matches on), ``group``
        gets the name (``GET /api/v2/groups/{id}``, cached); the id when the name cannot be read.
        A ticket without a group costs no call."""
        ticket = await super().get_ticket(tenant, ticket_id)
        if not ticket.group_id:
            return ticket
        name = await self.groups.name(self, tenant, ticket.group_id)
        return ticket.model_copy(update={"group": name}) if name else ticket

    def parse_ticket(self, data: Any, tenant: TenantContext, ticket_id: str) -> Ticket:
        base = tenant.config.base_url.rstrip("/")
        return self.mapped_ticket(
            obj(obj(data).get("ticket")),
            tenant,
            ticket_id,
            url=lambda found: f"{base}/helpdesk/tickets/{found}",
            display_key=lambda found: f"#{found}",
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
