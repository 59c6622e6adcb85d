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
from ticket_enhancer.plugins.fields import first_text, obj
from ticket_enhancer.plugins.mapping import FieldMap, date, maybe, text
from ticket_enhancer.plugins.requests import VendorRequest
from ticket_enhancer.urls import HostPolicy
from ticket_enhancer.webhooks import schemes

EVENT_PREFIX = "zen:event-type:ticket."
# A trigger webhook's flat keys (admin-written) -> the ticket object's.
TRIGGER_KEYS = {
    "id": "ticket_id",
    "subject": "subject",
    "description": "description",
    "priority": "priority",
    "status": "status",
}


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

    fields = FieldMap(
        ticket_id=text("id"),
        subject=text("subject"),
        description=text("description"),
        priority=maybe("priority"),
        requester=maybe("requester_id"),
        created_at=date("created_at"),
        status=maybe("status"),
        scope=text("organization_id"),
        category=text("type"),
        group_id=text("group_id"),  # the group's name comes sideloaded (``parse_ticket``)
    )

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
        if event_type.startswith("zen:event-type:"):  # event webhooks: the ticket is ``detail``
            return self.webhook_event(
                obj(payload.get("detail")),
                event_type=event_type.removeprefix(EVENT_PREFIX),
                delivery_id=text_field(payload.get("id")) or None,
            )
        # Trigger webhooks: an admin-written body, flat keys (``setup_body_template``) before a
        # ``ticket`` object's; status only flat, requester and creation time never read.
        ticket = obj(payload.get("ticket"))
        flat = {key: first_text(payload, name) for key, name in TRIGGER_KEYS.items()}
        return self.webhook_event(
            flat,
            {key: ticket.get(key) for key in ("id", "subject", "description", "priority")},
            event_type=first_text(payload, "event") or "created",
        )

    def ticket_request(self, ticket_id: str) -> VendorRequest:
        # The ticket has its group's id only: its name sideloaded (include=groups, as the history's
        # export does), so both name the group alike (developer.zendesk.com, Side-loading).
        params = {"include": "groups"}
        return VendorRequest("GET", f"/api/v2/tickets/{ticket_id}", idempotent=True, params=params)

    def parse_ticket(self, data: Any, tenant: TenantContext, ticket_id: str) -> Ticket:
        ticket = obj(obj(data).get("ticket"))
        group_id = self.fields.group_id(ticket)
        sideloaded = obj(data).get("groups")
        groups = [obj(g) for g in (sideloaded if isinstance(sideloaded, list) else [])]
        named_as = {text_field(g.get("id")): text_field(g.get("name")) for g in groups}
        base = tenant.config.base_url.rstrip("/")
        return self.mapped_ticket(
            ticket,
            tenant,
            ticket_id,
            url=lambda found: f"{base}/agent/tickets/{found}",
            display_key=lambda found: f"#{found}",
            group=named_as.get(group_id) or group_id,  # the name; the id when none was sideloaded
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
