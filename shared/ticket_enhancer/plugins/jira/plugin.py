"""Jira Service Management Cloud: on the site (classic API tokens) or through Atlassian's API gateway
(scoped tokens, service accounts: ``plugins.jira.sites``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from ticket_enhancer.cache import TtlCache
from ticket_enhancer.models import Priority, Ticket
from ticket_enhancer.plugins.base import NoteFormat, TicketingToolPlugin, WebhookEvent, text_field
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
from ticket_enhancer.plugins.context import TenantContext, WebhookRequest
from ticket_enhancer.plugins.errors import VendorAuthError, VendorError, VendorNotePublicError
from ticket_enhancer.plugins.fields import adf_text, named, obj, parse_datetime
from ticket_enhancer.plugins.jira import sites
from ticket_enhancer.plugins.requests import VendorRequest
from ticket_enhancer.urls import HostPolicy
from ticket_enhancer.webhooks import schemes

if TYPE_CHECKING:
    import httpx

SITE_CACHE_SECONDS = 3600.0
REFUSED_MESSAGE = (
    "the tenant's Jira token was refused (HTTP 401): API tokens expire (scoped and classic alike); "
    "set a new one with `ticket-enhancer tenants update <tenant> --api-token -`"
)


class JiraPlugin(TicketingToolPlugin):
    __tool_type__ = "jira"
    __version__ = "1.0.0"
    __plugin_api__ = ">=1,<2"
    display_name = "Jira Service Management"
    resource_name = "Jira"
    host_policy = HostPolicy(
        patterns=(sites.SITE_PATTERN, sites.GATEWAY_HOST),
        expected="https://<site>.atlassian.net or https://api.atlassian.com/ex/jira/<cloudId>",
    )
    tool_options = frozenset({sites.SITE_URL_OPTION})
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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sites: TtlCache[tuple[str, str], str] = TtlCache()  # (tenant, API base) -> site URL

    def check_base_url(
        self,
        url: str,
        *,
        allow_custom_host: bool = False,
        local: bool = False,
        options: Mapping[str, str] | None = None,
    ) -> str:
        """The site, or the API gateway with exactly ``/ex/jira/<cloudId>``; ``site_url`` checked."""
        checked = super().check_base_url(
            url, allow_custom_host=allow_custom_host, local=local, options=options
        )
        if sites.is_gateway(checked):
            sites.check_gateway_path(checked)
        site = (options or {}).get(sites.SITE_URL_OPTION)
        if site is not None:
            sites.check_site_option(site)
        return checked

    def parse_webhook(self, payload: dict[str, Any], request: WebhookRequest) -> WebhookEvent:
        # System webhooks and Automation's "Issue data (Jira format)": {"issue": {...}}; Automation's
        # "Issue data (Automation format)": the issue itself at the top level.
        issue = obj(payload.get("issue"))
        if (
            not issue
            and isinstance(payload.get("fields"), dict)
            and (payload.get("id") or payload.get("key"))
        ):
            issue = payload
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
            group_id=_first_name(fields.get("components"), "id"),  # as the history's
        )

    async def get_ticket(self, tenant: TenantContext, ticket_id: str) -> Ticket:
        """The issue, its link on the site (not on the API gateway)."""
        ticket = await super().get_ticket(tenant, ticket_id)
        if not sites.is_gateway(tenant.config.base_url) or not ticket.url:
            return ticket
        site = await self.site_url(tenant)
        url = f"{site}/browse/{ticket.display_key}" if site else None
        return ticket.model_copy(update={"url": url})

    async def site_url(self, tenant: TenantContext) -> str | None:
        """The site for links: the base URL itself, the ``site_url`` option, or through the gateway
        ``serverInfo``'s ``baseUrl`` (cached); None when none of them is an atlassian.net site."""
        base = tenant.config.base_url
        if not sites.is_gateway(base):
            return base.rstrip("/")
        option = tenant.config.options.get(sites.SITE_URL_OPTION)
        if option:
            return sites.site_url(option)
        key = (tenant.tenant_id, base)
        found = self._sites.get(key)
        if found is None:
            info = VendorRequest("GET", "/rest/api/3/serverInfo", idempotent=True)
            data = obj((await self._call(tenant, info, "server_info")).json())
            found = sites.site_url(text_field(data.get("baseUrl"))) or ""
            self._sites.put(key, found, SITE_CACHE_SECONDS)
        return found or None

    async def check_posted(self, tenant: TenantContext, ticket_id: str, response: httpx.Response) -> None:
        """``jsdPublic: true``: the customer can see the note. Delete it and fail (alarmed); a missing
        ``jsdPublic`` (not a service project) is fine."""
        try:
            comment = obj(response.json())
        except ValueError:
            return
        await self._unpublish(tenant, ticket_id, comment)

    async def check_listed(self, tenant: TenantContext, ticket_id: str, page: Any, job_id: str) -> None:
        """Our comment found by listing (its POST's answer was lost): the same ``jsdPublic`` check."""
        comments = obj(page).get("comments")
        for comment in comments if isinstance(comments, list) else []:
            if job_id in adf_text(obj(comment).get("body")):
                await self._unpublish(tenant, ticket_id, obj(comment))

    async def _unpublish(self, tenant: TenantContext, ticket_id: str, comment: dict[str, Any]) -> None:
        """A comment of ours with ``jsdPublic: true``: delete it and fail (alarmed)."""
        if comment.get("jsdPublic") is not True:
            return
        comment_id = text_field(comment.get("id"))
        outcome = "it was deleted"
        try:
            if not comment_id.isdigit():
                raise ValueError("the answer names no comment id")
            delete = VendorRequest(
                "DELETE", f"/rest/api/3/issue/{ticket_id}/comment/{comment_id}", idempotent=True
            )
            await self._call(tenant, delete, "delete_comment")
        except (VendorError, ValueError) as exc:
            outcome = f"deleting it failed ({exc}): delete comment {comment_id or '?'} by hand"
        raise VendorNotePublicError(
            f"the note was posted as a public comment (jsdPublic: true) despite sd.public.comment "
            f"internal; {outcome}. Check the service project's comment permissions",
            tool_type=self.__tool_type__,
            operation="update_ticket",
        )

    async def _call(self, tenant: TenantContext, request: VendorRequest, operation: str) -> httpx.Response:
        try:
            return await super()._call(tenant, request, operation)
        except VendorAuthError as exc:
            if exc.status != 401:
                raise
            raise VendorAuthError(
                f"{REFUSED_MESSAGE} ({request.method} {request.path})",
                tool_type=self.__tool_type__,
                operation=operation,
                status=401,
            ) from None

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
            params={"orderBy": "-created", "startAt": "0", "maxResults": "100"},
        )

    def next_notes_request(
        self, previous: VendorRequest, data: Any, headers: Mapping[str, str]
    ) -> VendorRequest | None:
        """Newest first, paged by ``startAt`` until ``total`` (Jira may answer fewer than asked)."""
        page = obj(data)
        comments = page.get("comments")
        total, start = page.get("total"), page.get("startAt", 0)
        if not isinstance(comments, list) or not comments or not isinstance(total, int):
            return None
        following = (start if isinstance(start, int) else 0) + len(comments)
        if following >= total:
            return None
        return dataclasses.replace(previous, params={**(previous.params or {}), "startAt": str(following)})

    def parse_notes(self, data: Any) -> list[str]:
        comments = obj(data).get("comments")
        return [adf_text(obj(c).get("body")) for c in comments] if isinstance(comments, list) else []


def _first_name(items: Any, field: str = "name") -> str:
    """The name (or other ``field``) of a list's first ``{"name": ...}`` (Jira components: the group)."""
    return text_field(obj(items[0]).get(field)) if isinstance(items, list) and items else ""
