"""Zammad (REST API v1): hosted (``*.zammad.com``) or self-hosted.

Facts from Zammad's documentation (docs.zammad.org, admin-docs.zammad.org) and its source
(``lib/user_agent.rb``, ``app/jobs/trigger_webhook_job.rb``):

* A webhook (Manage > Webhook) fired by a trigger POSTs ``{"ticket": {...}, "article": {...}}``
  (or an admin-written custom payload with ``#{ticket.id}``-style placeholders). With an "HMAC
  SHA1 Signature Token" set, it adds ``X-Hub-Signature: sha1=<hex HMAC-SHA1(token, raw body)>``;
  ``X-Zammad-Delivery`` is the job id (retries repeat it) and is not signed; no timestamp is sent.
* ``GET /api/v1/tickets/{id}?expand=true``: the ticket with names beside ids (``priority``
  "2 normal", ``state``, ``group``, ``organization``, ``customer``). A ticket has no description
  field: its text is its first article, read from ``GET /api/v1/ticket_articles/by_ticket/{id}``.
* Internal note: ``POST /api/v1/ticket_articles`` with ``type: note`` and ``internal: true``.
* Auth: ``Authorization: Token token=<access token>``.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

from ticket_enhancer.models import Priority, Ticket
from ticket_enhancer.plugins.base import NoteFormat, TicketingToolPlugin, WebhookEvent, api_token, text_field
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
from ticket_enhancer.plugins.context import TenantContext, WebhookRequest
from ticket_enhancer.plugins.errors import WebhookPayloadError
from ticket_enhancer.plugins.fields import first_text, named, obj, parse_datetime
from ticket_enhancer.plugins.requests import VendorRequest
from ticket_enhancer.urls import HostPolicy
from ticket_enhancer.webhooks.schemes import hmac_hex_scheme

ZAMMAD_HMAC = "zammad-hmac"
ZAMMAD_SCHEME = hmac_hex_scheme(
    ZAMMAD_HMAC,
    header="X-Hub-Signature",
    prefix="sha1=",
    algorithm="sha1",
    delivery_id_header="X-Zammad-Delivery",
    setup_line="Secret:  paste the secret above into the webhook's 'HMAC SHA1 Signature Token' field "
    "(Zammad signs X-Hub-Signature)",
)

_TAG = re.compile(r"<[^>]*>")
_BLOCK_END = re.compile(r"(?i)<\s*(br\s*/?|/p|/div|/li|/h[1-6]|/tr)\s*>")
_BLANKS = re.compile(r"[ \t\r\f\v]+")


def html_text(value: str, limit: int = 65_536) -> str:
    """An article body (HTML) as plain text: tags dropped, entities decoded, lines kept."""
    text = html.unescape(_TAG.sub("", _BLOCK_END.sub("\n", value)))
    lines = (_BLANKS.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)[:limit]


def person(value: Any) -> str | None:
    """A user as Zammad sends one: an object (``firstname``, ``lastname``, ``email``) in webhook
    bodies, the login or email (a string) in expanded tickets."""
    if isinstance(value, dict):
        name = " ".join(
            p for p in (text_field(value.get("firstname")), text_field(value.get("lastname"))) if p
        )
        email = first_text(value, "email", "login")
        if name and email:
            return f"{name} <{email}>"
        return name or email or None
    return text_field(value) or None


def article_text(article: dict[str, Any]) -> str:
    body = text_field(article.get("body"))
    return html_text(body) if text_field(article.get("content_type")) == "text/html" else body


class ZammadPlugin(TicketingToolPlugin):
    __tool_type__ = "zammad"
    __version__ = "1.0.0"
    __plugin_api__ = ">=1,<2"
    display_name = "Zammad"
    resource_name = "Zammad"
    # Hosted: <name>.zammad.com. Self-hosted: any host with --allow-custom-host (public addresses
    # only, checked and pinned by the worker).
    host_policy = HostPolicy(patterns=("*.zammad.com",), custom_host=True)
    setup_where = (
        "Manage > Webhook > New Webhook: Endpoint below, 'HMAC SHA1 Signature Token' below, default "
        "payload (or a custom payload: the body below); then Manage > Trigger > New Trigger: "
        "activator Action, condition 'Action is created', action Webhook: the webhook above."
    )
    setup_body_template = (
        '{"ticket": {"id": "#{ticket.id}", "number": "#{ticket.number}", "title": "#{ticket.title}", '
        '"priority": "#{ticket.priority.name}"}, "event": "created"}'
    )
    sample_user_agent = "Zammad User Agent"
    sample_webhook = {
        "ticket": {
            "id": 81,
            "number": "10081",
            "title": "Shared mailbox not syncing in Outlook",
            "group": {"id": 3, "name": "Service Desk"},
            "group_id": 3,
            "state": "new",
            "state_id": 1,
            "priority": {"id": 3, "name": "3 high"},
            "priority_id": 3,
            "customer": {
                "id": 8,
                "firstname": "Demo",
                "lastname": "User",
                "email": "demo.user@example.com",
                "login": "demo.user@example.com",
            },
            "customer_id": 8,
            "organization": {"id": 3, "name": "Demo Corp"},
            "organization_id": 3,
            "article_count": 1,
            "article_ids": [104],
            "create_article_type": "email",
            "create_article_sender": "Customer",
            "created_at": "2024-01-02T03:04:05.282Z",
            "updated_at": "2024-01-02T03:04:05.333Z",
        },
        "article": {
            "id": 104,
            "ticket_id": 81,
            "from": "Demo User <demo.user@example.com>",
            "to": "Service Desk",
            "subject": "Shared mailbox not syncing in Outlook",
            "body": "<div>The finance shared mailbox stopped syncing in Outlook this morning.</div>",
            "content_type": "text/html",
            "type": "email",
            "sender": "Customer",
            "internal": False,
            "created_at": "2024-01-02T03:04:05.318Z",
        },
    }

    webhook_schemes = (ZAMMAD_SCHEME,)
    default_auth_mode = ZAMMAD_HMAC
    note_format: ClassVar[NoteFormat] = "html"
    priority_map = {
        "1 low": Priority.LOW,
        "low": Priority.LOW,
        "2 normal": Priority.MEDIUM,
        "normal": Priority.MEDIUM,
        "3 high": Priority.HIGH,
        "high": Priority.HIGH,
    }
    # X-Zammad-Delivery is not signed and no timestamp is: a replay with a fresh delivery id is
    # the same delivery (the body hash), whatever the header says.
    dedupe_on_body = True

    # History and knowledge (``zammad/history.py``): ticket search 100 a page plus one article
    # listing per ticket; knowledge answers 25 a page (one call each, after one init call).
    # Calls per 100 history tickets: 1 + 100.
    history_page_size: ClassVar[int] = 100
    knowledge_page_size: ClassVar[int] = 25
    history_calls_per_100: ClassVar[int] = 101
    # Zammad documents no API rate limit (self-hosted: none; hosted: fair use). 100/min is our
    # conservative planning figure.
    documented_rate_limit_per_minute: ClassVar[int] = 100

    async def history_page(
        self, tenant: TenantContext, *, since: datetime, cursor: str | None
    ) -> HistoryPage:
        from ticket_enhancer.plugins.zammad import history

        return await history.history_page(self, tenant, since, cursor)

    async def knowledge_page(self, tenant: TenantContext, *, cursor: str | None) -> KnowledgePage:
        from ticket_enhancer.plugins.zammad import history

        return await history.knowledge_page(self, tenant, cursor)

    def parse_webhook(self, payload: dict[str, Any], request: WebhookRequest) -> WebhookEvent:
        """The default body (``ticket`` and ``article`` objects) or a custom payload: ``ticket``
        with placeholders as strings, or flat ``ticket_id``; ``event`` when the admin adds one."""
        ticket = obj(payload.get("ticket"))
        article = obj(payload.get("article"))
        raw_id = text_field(ticket.get("id")) or first_text(payload, "ticket_id")
        if raw_id and not raw_id.strip().isdigit():
            raise WebhookPayloadError("Zammad ticket ids are numbers")
        number = text_field(ticket.get("number")) or first_text(payload, "number")
        return WebhookEvent(
            ticket_id=raw_id.strip(),
            display_key=f"#{number}" if number else "",
            subject=text_field(ticket.get("title")) or first_text(payload, "title"),
            description=article_text(article),
            priority_raw=named(ticket.get("priority")) or first_text(payload, "priority") or None,
            requester=person(ticket.get("customer")),
            created_at=parse_datetime(ticket.get("created_at")),
            status=named(ticket.get("state")),
            event_type=first_text(payload, "event") or "created",
            delivery_id=request.headers.get("x-zammad-delivery"),
        )

    def ticket_request(self, ticket_id: str) -> VendorRequest:
        return VendorRequest(
            "GET", f"/api/v1/tickets/{ticket_id}", idempotent=True, params={"expand": "true"}
        )

    async def get_ticket(self, tenant: TenantContext, ticket_id: str) -> Ticket:
        """The expanded ticket, its description being its first article (Zammad's tickets have no
        description field of their own)."""
        ticket = await super().get_ticket(tenant, ticket_id)
        listing = self.notes_request(quote(ticket_id, safe=""))
        data = (await self._call(tenant, listing, "list_articles")).json()
        articles = [obj(a) for a in data] if isinstance(data, list) else []
        first = next((a for a in articles if a.get("internal") is not True), articles[0] if articles else {})
        return ticket.model_copy(update={"description": article_text(first)})

    def parse_ticket(self, data: Any, tenant: TenantContext, ticket_id: str) -> Ticket:
        ticket = obj(data)
        priority = named(ticket.get("priority"))
        found_id = text_field(ticket.get("id")) or ticket_id
        number = text_field(ticket.get("number"))
        return Ticket(
            tool_type=self.__tool_type__,
            tenant_id=tenant.tenant_id,
            ticket_id=found_id,
            display_key=f"#{number}" if number else found_id,
            subject=text_field(ticket.get("title")),
            priority=self.normalise_priority(priority),
            priority_raw=priority,
            requester=person(ticket.get("customer")),
            created_at=parse_datetime(ticket.get("created_at")),
            status=named(ticket.get("state")),
            url=f"{tenant.config.base_url.rstrip('/')}/#ticket/zoom/{found_id}",
            scope=named(ticket.get("organization")) or "",  # expanded: the organisation's name
            group=named(ticket.get("group")) or "",
            group_id=text_field(ticket.get("group_id")),  # as the history's
        )

    def note_request(self, ticket_id: str, rendered: Any) -> VendorRequest:
        body = {
            "ticket_id": int(ticket_id) if ticket_id.isdigit() else ticket_id,
            "body": rendered,
            "content_type": "text/html",
            "type": "note",
            "internal": True,
        }
        return VendorRequest("POST", "/api/v1/ticket_articles", json=body)

    def notes_request(self, ticket_id: str) -> VendorRequest:
        # Every article in one answer: Zammad's index_by_ticket renders ticket.articles unpaged.
        return VendorRequest("GET", f"/api/v1/ticket_articles/by_ticket/{ticket_id}", idempotent=True)

    def parse_notes(self, data: Any) -> list[str]:
        return [text_field(obj(a).get("body")) for a in data] if isinstance(data, list) else []

    async def auth_headers(self, tenant: TenantContext) -> dict[str, str]:
        return {"Authorization": f"Token token={api_token(tenant)}", "Accept": "application/json"}
