"""Jira Service Management Cloud."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from ticket_enhancer.models import Priority, Ticket
from ticket_enhancer.plugins.base import NoteFormat, TicketingToolPlugin, WebhookEvent, text_field
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
from ticket_enhancer.plugins.context import TenantContext, WebhookRequest
from ticket_enhancer.plugins.fields import adf_text, named, obj, parse_datetime
from ticket_enhancer.plugins.requests import VendorRequest
from ticket_enhancer.urls import HostPolicy
from ticket_enhancer.webhooks import schemes


class JiraPlugin(TicketingToolPlugin):
    __tool_type__ = "jira"
    __version__ = "1.0.0"
    __plugin_api__ = ">=1,<2"
    display_name = "Jira Service Management"
    resource_name = "Jira"
    host_policy = HostPolicy(patterns=("*.atlassian.net",))
    setup_where = (
        "Jira settings > System > WebHooks > Create a WebHook: URL below, Secret below, event "
        "'Issue: created' (JQL filter optional)."
    )
    sample_user_agent = "Atlassian Webhook HTTP Client"
    sample_webhook = {
        "timestamp": 1704164645000,
        "webhookEvent": "jira:issue_created",
        "issue_event_type_name": "issue_created",
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Demo Agent"},
        "issue": {
            "id": "10001",
            "key": "IT-1",
            "self": "https://demo.atlassian.net/rest/api/2/issue/10001",
            "fields": {
                "summary": "VPN drops every 10 minutes",
                "description": "The VPN disconnects every 10 minutes in the Berlin office.",
                "priority": {"name": "High", "id": "2"},
                "reporter": {
                    "accountId": "5b10a2844c20165700ede21g",
                    "displayName": "Demo User",
                    "emailAddress": "demo.user@example.com",
                },
                "created": "2024-01-02T04:04:05.000+0100",
                "status": {"name": "Open"},
                "project": {"key": "IT"},
            },
        },
    }

    default_auth_mode = schemes.JIRA_HMAC
    webhook_schemes = (schemes.JIRA,)
    note_format: ClassVar[NoteFormat] = "adf"
    priority_map = {
        "highest": Priority.CRITICAL,
        "blocker": Priority.CRITICAL,
        "critical": Priority.CRITICAL,
        "high": Priority.HIGH,
        "major": Priority.HIGH,
        "medium": Priority.MEDIUM,
        "low": Priority.LOW,
        "lowest": Priority.LOW,
        "minor": Priority.LOW,
        "trivial": Priority.LOW,
    }

    dedupe_on_body = True  # X-Atlassian-Webhook-Identifier is not signed, and no timestamp is
    tool_options = frozenset({"knowledge_space"})  # the Confluence space key of the knowledge base

    # History and knowledge (``jira/history.py``). Enhanced search: maxResults up to 5,000 for ids
    # only, fewer when fields are asked for; 100 with comments inline keeps each answer well under
    # the 4 MiB body bound. Confluence v2 pages: limit up to 250; 25 with storage bodies (bounded
    # answer size). Calls per 100 history tickets: 1 (comments inline).
    history_page_size: ClassVar[int] = 100
    knowledge_page_size: ClassVar[int] = 25
    history_calls_per_100: ClassVar[int] = 1
    # Jira Cloud publishes no fixed per-minute quota (cost-based points, burst limits, 429 with
    # Retry-After: developer.atlassian.com/cloud/jira/platform/rate-limiting/); 100 req/min is our
    # conservative planning figure for a sync sharing the tenant's budget.
    documented_rate_limit_per_minute: ClassVar[int] = 100

    def parse_webhook(self, payload: dict[str, Any], request: WebhookRequest) -> WebhookEvent:
        issue = obj(payload.get("issue"))
        fields = obj(issue.get("fields"))
        event = text_field(payload.get("webhookEvent")) or "jira:issue_created"
        return WebhookEvent(
            ticket_id=text_field(issue.get("id")) or text_field(issue.get("key")),
            display_key=text_field(issue.get("key")),
            subject=text_field(fields.get("summary")),
            description=adf_text(fields.get("description")),
            priority_raw=named(fields.get("priority")),
            requester=named(fields.get("reporter")),
            created_at=parse_datetime(fields.get("created")),
            status=named(fields.get("status")),
            event_type=event.removeprefix("jira:issue_"),
            delivery_id=request.headers.get("x-atlassian-webhook-identifier"),
        )

    def ticket_request(self, ticket_id: str) -> VendorRequest:
        return VendorRequest(
            "GET",
            f"/rest/api/3/issue/{ticket_id}",
            idempotent=True,
            params={
                "fields": "summary,description,priority,reporter,created,status,project,issuetype,components"
            },
        )

    def parse_ticket(self, data: Any, tenant: TenantContext, ticket_id: str) -> Ticket:
        issue = obj(data)
        fields = obj(issue.get("fields"))
        priority = named(fields.get("priority"))
        key = text_field(issue.get("key"))
        return Ticket(
            tool_type=self.__tool_type__,
            tenant_id=tenant.tenant_id,
            ticket_id=text_field(issue.get("id")) or ticket_id,
            display_key=key or ticket_id,
            subject=text_field(fields.get("summary")),
            description=adf_text(fields.get("description")),
            priority=self.normalise_priority(priority),
            priority_raw=priority,
            requester=named(fields.get("reporter")),
            created_at=parse_datetime(fields.get("created")),
            status=named(fields.get("status")),
            url=f"{tenant.config.base_url.rstrip('/')}/browse/{key}" if key else None,
            scope=text_field(obj(fields.get("project")).get("key")),
            category=named(fields.get("issuetype")) or "",
            group=_first_name(fields.get("components")),
        )

    async def history_page(
        self, tenant: TenantContext, *, since: datetime, cursor: str | None
    ) -> HistoryPage:
        from ticket_enhancer.plugins.jira import history

        return await history.history_page(self, tenant, since, cursor)

    async def knowledge_page(self, tenant: TenantContext, *, cursor: str | None) -> KnowledgePage:
        from ticket_enhancer.plugins.jira import history

        return await history.knowledge_page(self, tenant, cursor)

    def note_request(self, ticket_id: str, rendered: Any) -> VendorRequest:
        body = {"body": rendered, "properties": [{"key": "sd.public.comment", "value": {"internal": True}}]}
        return VendorRequest("POST", f"/rest/api/3/issue/{ticket_id}/comment", json=body)

    def notes_request(self, ticket_id: str) -> VendorRequest:
        return VendorRequest(
            "GET",
            f"/rest/api/3/issue/{ticket_id}/comment",
            idempotent=True,
            params={"orderBy": "-created", "maxResults": "100"},
        )

    def parse_notes(self, data: Any) -> list[str]:
        comments = obj(data).get("comments")
        return [adf_text(obj(c).get("body")) for c in comments] if isinstance(comments, list) else []


def _first_name(items: Any) -> str:
    """The name of a list's first ``{"name": ...}`` (Jira components: the group)."""
    return text_field(obj(items[0]).get("name")) if isinstance(items, list) and items else ""
