"""Zendesk Support."""

from __future__ import annotations

import dataclasses
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
from ticket_enhancer.webhooks import schemes

EVENT_PREFIX = "zen:event-type:ticket."


class ZendeskPlugin(TicketingToolPlugin):
    __tool_type__ = "zendesk"
    __version__ = "1.0.0"
    __plugin_api__ = ">=1,<2"
    display_name = "Zendesk"
    resource_name = "Zendesk"
    host_policy = HostPolicy(patterns=("*.zendesk.com",))
    setup_where = (
        "Admin Center > Apps and integrations > Webhooks > Create webhook: 'Zendesk events', event "
        "'Ticket created', endpoint below, POST JSON; copy Zendesk's signing secret into "
        "`--webhook-secret`. (Or a trigger webhook with the body template below.)"
    )
    setup_body_template = '{"ticket_id": "{{ticket.id}}", "event": "created"}'
    sample_user_agent = "Zendesk Webhook"
    sample_webhook = {
        "type": "zen:event-type:ticket.created",
        "account_id": 22129848,
        "id": "2b1c8e5e-6d0a-4c59-9f3e-3f0d7c1a9b01",
        "time": "2024-01-02T03:04:05Z",
        "zendesk_event_version": "2022-11-06",
        "subject": "zen:ticket:123",
        "detail": {
            "id": "123",
            "subject": "Printer on floor 3 prints blank pages",
            "description": "Every job sent to PRN-3F comes out blank since the toner was replaced.",
            "priority": "HIGH",
            "status": "NEW",
            "requester_id": "8193592318236",
            "created_at": "2024-01-02T03:04:05Z",
        },
        "event": {},
    }

    default_auth_mode = schemes.ZENDESK_HMAC
    webhook_schemes = (schemes.ZENDESK,)
    priority_map = {
        "urgent": Priority.CRITICAL,
        "high": Priority.HIGH,
        "normal": Priority.MEDIUM,
        "low": Priority.LOW,
    }

    # History and knowledge (``zendesk/history.py``): the incremental export (per_page up to 1,000;
    # 100 for bounded answers) plus one comments call per solved ticket; Help Center articles
    # (page[size] up to 100; 25 for bounded answers). Calls per 100 history tickets: 1 + 100.
    history_page_size: ClassVar[int] = 100
    knowledge_page_size: ClassVar[int] = 25
    history_calls_per_100: ClassVar[int] = 101
    # developer.zendesk.com/api-reference/introduction/rate-limits/: 200 (Team) to 2,500 requests/min
    # by plan; incremental exports 10/min. The lowest plan's figure is the planning default.
    documented_rate_limit_per_minute: ClassVar[int] = 200

    async def history_page(
        self, tenant: TenantContext, *, since: datetime, cursor: str | None
    ) -> HistoryPage:
        from ticket_enhancer.plugins.zendesk import history

        return await history.history_page(self, tenant, since, cursor)

    async def knowledge_page(self, tenant: TenantContext, *, cursor: str | None) -> KnowledgePage:
        from ticket_enhancer.plugins.zendesk import history

        return await history.knowledge_page(self, tenant, cursor)

    def parse_webhook(self, payload: dict[str, Any], request: WebhookRequest) -> WebhookEvent:
        event_type = text_field(payload.get("type"))
        if event_type.startswith("zen:event-type:"):  # event webhooks
            detail = obj(payload.get("detail"))
            return WebhookEvent(
                ticket_id=text_field(detail.get("id")),
                subject=text_field(detail.get("subject")),
                description=text_field(detail.get("description")),
                priority_raw=text_field(detail.get("priority")) or None,
                requester=text_field(detail.get("requester_id")) or None,
                created_at=parse_datetime(detail.get("created_at")),
                status=text_field(detail.get("status")) or None,
                event_type=event_type.removeprefix(EVENT_PREFIX),
                delivery_id=text_field(payload.get("id")) or None,
            )
        ticket = obj(payload.get("ticket"))  # trigger webhooks: an admin-written body
        return WebhookEvent(
            ticket_id=first_text(payload, "ticket_id") or text_field(ticket.get("id")),
            subject=first_text(payload, "subject") or text_field(ticket.get("subject")),
            description=first_text(payload, "description") or text_field(ticket.get("description")),
            priority_raw=first_text(payload, "priority") or text_field(ticket.get("priority")) or None,
            status=first_text(payload, "status") or None,
            event_type=first_text(payload, "event") or "created",
        )

    def ticket_request(self, ticket_id: str) -> VendorRequest:
        # The ticket has its group's id only: its name sideloaded (include=groups, as the history's
        # export does), so both name the group alike (developer.zendesk.com, Side-loading).
        params = {"include": "groups"}
        return VendorRequest("GET", f"/api/v2/tickets/{ticket_id}", idempotent=True, params=params)

    def parse_ticket(self, data: Any, tenant: TenantContext, ticket_id: str) -> Ticket:
        ticket = obj(obj(data).get("ticket"))
        priority = text_field(ticket.get("priority")) or None
        found_id = text_field(ticket.get("id")) or ticket_id
        group_id = text_field(ticket.get("group_id"))
        sideloaded = obj(data).get("groups")
        groups = [obj(g) for g in (sideloaded if isinstance(sideloaded, list) else [])]
        named_as = {text_field(g.get("id")): text_field(g.get("name")) for g in groups}
        return Ticket(
            tool_type=self.__tool_type__,
            tenant_id=tenant.tenant_id,
            ticket_id=found_id,
            display_key=f"#{found_id}",
            subject=text_field(ticket.get("subject")),
            description=text_field(ticket.get("description")),
            priority=self.normalise_priority(priority),
            priority_raw=priority,
            requester=text_field(ticket.get("requester_id")) or None,
            created_at=parse_datetime(ticket.get("created_at")),
            status=text_field(ticket.get("status")) or None,
            url=f"{tenant.config.base_url.rstrip('/')}/agent/tickets/{found_id}",
            scope=text_field(ticket.get("organization_id")),
            category=text_field(ticket.get("type")),
            group=named_as.get(group_id) or group_id,  # the name; the id when none was sideloaded
            group_id=group_id,
        )

    def note_request(self, ticket_id: str, rendered: Any) -> VendorRequest:
        body = {"ticket": {"comment": {"html_body": rendered, "public": False}}}
        return VendorRequest("PUT", f"/api/v2/tickets/{ticket_id}", json=body)

    def notes_request(self, ticket_id: str) -> VendorRequest:
        return VendorRequest(
            "GET",
            f"/api/v2/tickets/{ticket_id}/comments",
            idempotent=True,
            params={"sort_order": "desc", "page[size]": "100"},  # cursor pagination, newest first
        )

    def next_notes_request(
        self, previous: VendorRequest, data: Any, headers: Mapping[str, str]
    ) -> VendorRequest | None:
        """Cursor pagination: ``page[after]`` = ``meta.after_cursor`` while ``meta.has_more``."""
        meta = obj(obj(data).get("meta"))
        cursor = text_field(meta.get("after_cursor"), limit=2048)
        if meta.get("has_more") is not True or not cursor:
            return None
        return dataclasses.replace(previous, params={**(previous.params or {}), "page[after]": cursor})

    def parse_notes(self, data: Any) -> list[str]:
        comments = obj(data).get("comments")
        if not isinstance(comments, list):
            return []
        return [first_text(obj(c), "html_body", "body", "plain_body") for c in comments]

    def basic_credentials(self, tenant: TenantContext) -> tuple[str, str]:
        # Zendesk API tokens: Basic {email}/token:{api_token}
        return f"{tenant.secret.api_user or ''}/token", api_token(tenant)
