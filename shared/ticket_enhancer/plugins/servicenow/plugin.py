"""ServiceNow (Table API): incidents, and requested items where the tenant enables them
(``records``); Basic auth, or OAuth client credentials (``POST /oauth_token.do``, then Bearer)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from ticket_enhancer.cache import TtlCache
from ticket_enhancer.models import Priority, Ticket, TicketMetadata
from ticket_enhancer.plugins.base import NoteFormat, TicketingToolPlugin, WebhookEvent
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
from ticket_enhancer.plugins.context import TenantContext, WebhookRequest
from ticket_enhancer.plugins.errors import VendorAuthError, VendorRequestError, WebhookPayloadError
from ticket_enhancer.plugins.fields import first_text, named, obj, parse_datetime
from ticket_enhancer.plugins.requests import VendorRequest
from ticket_enhancer.plugins.servicenow import records
from ticket_enhancer.urls import HostPolicy
from ticket_enhancer.webhooks import schemes

if TYPE_CHECKING:
    import asyncio

    import httpx

TOKEN_MARGIN_SECONDS = 60.0

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
    setup_body_template = (
        '{"sys_id": "${current.sys_id}", "number": "${current.number}", '
        '"table": "${current.sys_class_name}", "event": "created"}'
    )
    tool_options = frozenset({records.TABLES_OPTION})
    credential_keys = frozenset(
        {"oauth_client_id", "oauth_client_secret"}
    )  # OAuth client credentials (else Basic)
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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # (tenant, client id) -> OAuth access token, until TOKEN_MARGIN_SECONDS before it expires
        self._tokens: TtlCache[tuple[str, str], str] = TtlCache()
        self._token_locks: dict[tuple[int, str, str], asyncio.Lock] = {}

    def check_base_url(
        self,
        url: str,
        *,
        allow_custom_host: bool = False,
        local: bool = False,
        options: Mapping[str, str] | None = None,
    ) -> str:
        """Also the ``servicenow_tables`` option (known tables only)."""
        records.check_tables_option(options or {})
        return super().check_base_url(url, allow_custom_host=allow_custom_host, local=local, options=options)

    def parse_webhook(self, payload: dict[str, Any], request: WebhookRequest) -> WebhookEvent:
        record = records.flatten(obj(payload.get("result")) or payload)
        table = first_text(record, "table", "sys_class_name") or records.DEFAULT_TABLE
        if table not in records.KNOWN_TABLES:
            raise WebhookPayloadError(
                f"table {table[:40]!r} is not one of {', '.join(sorted(records.KNOWN_TABLES))}"
            )
        sys_id = first_text(record, "sys_id")
        return WebhookEvent(
            ticket_id=records.job_ticket_id(table, sys_id) if sys_id else "",
            display_key=first_text(record, "number"),
            subject=first_text(record, "short_description"),
            description=first_text(record, "description"),
            priority_raw=named(record.get("priority")),
            requester=next((named(record.get(k)) for k in records.REQUESTER_FIELDS if record.get(k)), None),
            created_at=parse_datetime(record.get("opened_at") or record.get("sys_created_on")),
            status=named(record.get("state")),
            event_type=first_text(payload, "event") or "created",
        )

    def extract_metadata(self, request: WebhookRequest, tenant: TenantContext) -> TicketMetadata:
        """A table the tenant has not enabled (``servicenow_tables``) is refused: nothing queued."""
        metadata = super().extract_metadata(request, tenant)
        table, _ = records.split(metadata.ticket_id)
        if table not in records.enabled_tables(tenant.config.options):
            raise WebhookPayloadError(
                f"table {table!r} is not enabled for this tenant ({records.TABLES_OPTION})"
            )
        return metadata

    async def get_ticket(self, tenant: TenantContext, ticket_id: str) -> Ticket:
        table, _ = records.split(ticket_id)
        if table not in records.enabled_tables(tenant.config.options):
            raise VendorRequestError(
                f"table {table!r} is not enabled for this tenant ({records.TABLES_OPTION})",
                tool_type=self.__tool_type__,
                operation="get_ticket",
            )
        return await super().get_ticket(tenant, ticket_id)

    @staticmethod
    def _record_path(ticket_id: str) -> str:
        table, sys_id = records.split(ticket_id)
        return f"/api/now/table/{table}/{quote(sys_id, safe='')}"

    def ticket_request(self, ticket_id: str) -> VendorRequest:
        # display_value=all: names to read (caller, state, priority) beside the stored values
        return VendorRequest(
            "GET",
            self._record_path(ticket_id),
            idempotent=True,
            params={"sysparm_display_value": "all", "sysparm_exclude_reference_link": "true"},
        )

    def parse_ticket(self, data: Any, tenant: TenantContext, ticket_id: str) -> Ticket:
        raw = obj(obj(data).get("result"))  # sysparm_display_value=all: {"display_value", "value"} pairs
        record = records.flatten(raw)
        table, _ = records.split(ticket_id)
        priority = named(record.get("priority"))
        sys_id = first_text(record, "sys_id") or records.split(ticket_id)[1]
        return Ticket(
            tool_type=self.__tool_type__,
            tenant_id=tenant.tenant_id,
            ticket_id=records.job_ticket_id(table, sys_id),
            display_key=first_text(record, "number") or sys_id,
            subject=first_text(record, "short_description"),
            description=first_text(record, "description"),
            priority=self.normalise_priority(priority),
            priority_raw=priority,
            requester=next((named(record.get(k)) for k in records.REQUESTER_FIELDS if record.get(k)), None),
            created_at=parse_datetime(record.get("opened_at") or record.get("sys_created_on")),
            status=named(record.get("state")),
            url=f"{tenant.config.base_url.rstrip('/')}/nav_to.do?uri={table}.do?sys_id={sys_id}",
            scope=records.field_part(raw, "company", "value"),  # the company's sys_id, as the history's
            category=records.field_part(raw, "category", "display_value"),
            group=records.field_part(raw, "assignment_group", "display_value"),
            group_id=records.field_part(raw, "assignment_group", "value"),  # its sys_id, as the history's
        )

    def note_request(self, ticket_id: str, rendered: Any) -> VendorRequest:
        return VendorRequest("PATCH", self._record_path(ticket_id), json={"work_notes": rendered})

    def notes_request(self, ticket_id: str) -> VendorRequest:
        """The record's own ``work_notes`` (every entry, as display text): a least-privilege user
        can read it where ``sys_journal_field`` is often closed to them. One answer, no paging."""
        return VendorRequest(
            "GET",
            self._record_path(ticket_id),
            idempotent=True,
            params={"sysparm_fields": "work_notes", "sysparm_display_value": "true"},
        )

    def parse_notes(self, data: Any) -> list[str]:
        notes = records.flatten(obj(obj(data).get("result"))).get("work_notes")
        return [notes] if isinstance(notes, str) and notes else []

    # -- auth: Basic, or OAuth client credentials --------------------------------------------------
    async def auth_headers(self, tenant: TenantContext) -> dict[str, str]:
        secret = tenant.secret
        if not (secret.oauth_client_id and secret.oauth_client_secret):
            return await super().auth_headers(tenant)
        return {"Authorization": f"Bearer {await self._oauth_token(tenant)}", "Accept": "application/json"}

    async def _oauth_token(self, tenant: TenantContext) -> str:
        """The tenant's access token: cached until shortly before it expires; one request at a time
        per tenant (records of a batch share the answer)."""
        from ticket_enhancer.plugins.http import send  # worker-only
        from ticket_enhancer.plugins.requests import RetryPolicy

        secret = tenant.secret
        client_id = secret.oauth_client_id or ""
        key = (tenant.tenant_id, client_id)
        cached = self._tokens.get(key)
        if cached is not None:
            return cached
        import asyncio  # on first use: the webhook function imports this module but never waits

        lock = self._token_locks.setdefault((id(asyncio.get_running_loop()), *key), asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)
            if cached is not None:
                return cached
            if tenant.http is None or secret.oauth_client_secret is None:
                raise RuntimeError("TenantContext.http and the OAuth client secret are required")
            form = {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret.oauth_client_secret.get_secret_value(),
            }
            response = await send(
                tenant.http,
                tenant.config.base_url,
                VendorRequest("POST", "/oauth_token.do", form=form, idempotent=True),
                headers={"Accept": "application/json"},
                tool=self.__tool_type__,
                operation="oauth",
                policy=self._retry or RetryPolicy(),
                sleep=self._sleep,
                connect_to=tenant.pinned_address,
            )
            body = obj(response.json())
            token, expires = body.get("access_token"), body.get("expires_in", 1800)
            if not isinstance(token, str) or not token:
                raise VendorAuthError(
                    "OAuth token endpoint answered no access_token",
                    tool_type=self.__tool_type__,
                    operation="oauth",
                )
            seconds = (
                float(expires)
                if isinstance(expires, int | float | str) and str(expires).isdigit()
                else 1800.0
            )
            self._tokens.put(key, token, seconds - TOKEN_MARGIN_SECONDS)
            return token

    async def _call(self, tenant: TenantContext, request: VendorRequest, operation: str) -> httpx.Response:
        """With OAuth, a 401 drops the cached token and the call is tried once with a new one."""
        try:
            return await super()._call(tenant, request, operation)
        except VendorAuthError as exc:
            key = (tenant.tenant_id, tenant.secret.oauth_client_id or "")
            if exc.status != 401 or not tenant.secret.oauth_client_id or self._tokens.get(key) is None:
                raise
            self._tokens.drop(key)
            return await super()._call(tenant, request, operation)
