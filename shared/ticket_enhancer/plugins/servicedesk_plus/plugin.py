"""ManageEngine ServiceDesk Plus (API v3): on-prem (``authtoken``) and cloud (Zoho OAuth)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from ticket_enhancer.models import Priority, Ticket
from ticket_enhancer.plugins.base import TicketingToolPlugin, WebhookEvent, api_token, text_field
from ticket_enhancer.plugins.capabilities import HistoryPage, KnowledgePage
from ticket_enhancer.plugins.context import TenantContext, WebhookRequest
from ticket_enhancer.plugins.errors import VendorAuthError, VendorRequestError
from ticket_enhancer.plugins.fields import first_text, named, obj, parse_datetime
from ticket_enhancer.plugins.requests import VendorRequest
from ticket_enhancer.plugins.servicedesk_plus.datacentres import (
    SDP_CLOUD_HOSTS,
    ZOHO_DATA_CENTRE_OPTION,
    DataCentre,
    sdp_data_centre,
)
from ticket_enhancer.plugins.servicedesk_plus.zoho import ZohoTokens
from ticket_enhancer.urls import BaseUrlError, HostPolicy

if TYPE_CHECKING:
    import httpx

ACCEPT = "application/vnd.manageengine.sdp.v3+json"
NOTES_PAGE_SIZE = 100  # list_info.row_count: the notes list's default is 10 rows


def data_centre(base_url: str, options: Mapping[str, str] | None = None) -> DataCentre | None:
    """The tenant's Zoho data centre (``datacentres.SDP_CLOUD_DATA_CENTRES``), ``None`` when on-prem.

    By the base URL's exact cloud host, or for a custom domain the ``zoho_data_centre`` option;
    a host that merely looks like a cloud host is on-prem and never gets Zoho credentials.
    """
    return sdp_data_centre(base_url, (options or {}).get(ZOHO_DATA_CENTRE_OPTION))


def zoho_accounts_url(base_url: str, options: Mapping[str, str] | None = None) -> str:
    """Zoho's token endpoint for a cloud tenant: the data centre's fixed accounts host, never one
    derived from the base URL. ``BaseUrlError`` for a tenant that is not on ServiceDesk Plus Cloud."""
    centre = data_centre(base_url, options)
    if centre is None:
        raise BaseUrlError(f"{base_url!r} is not a ServiceDesk Plus Cloud portal")
    return centre.token_url


class ServiceDeskPlusPlugin(TicketingToolPlugin):
    __tool_type__ = "servicedesk_plus"
    __version__ = "1.0.0"
    __plugin_api__ = ">=1,<2"
    display_name = "ManageEngine ServiceDesk Plus"
    resource_name = "ServiceDeskPlus"
    host_policy = HostPolicy(
        patterns=tuple(SDP_CLOUD_HOSTS),
        custom_host=True,  # on-prem, or a cloud portal on a custom domain (zoho_data_centre)
        expected="one of the ServiceDesk Plus Cloud hosts " + ", ".join(SDP_CLOUD_HOSTS),
    )
    setup_where = (
        "Admin > Automation > Custom Triggers / Webhooks: POST to the URL below, custom header "
        "below, body template below."
    )
    setup_body_template = '{"request": {"id": "${##ID##}"}, "event": "created"}'
    sample_user_agent = "ServiceDeskPlus-Webhook"
    sample_webhook = {
        "request": {
            "id": "123",
            "display_id": "123",
            "subject": "Cannot access the shared drive",
            "description": "<p>Mapping \\\\fs01\\shared fails with access denied.</p>",
            "priority": {"name": "High", "id": "3"},
            "requester": {"name": "Demo User", "email_id": "demo.user@example.com"},
            "created_time": {"value": "1704164645000", "display_value": "Jan 2, 2024 03:04 AM"},
            "status": {"name": "Open"},
        }
    }

    priority_map = {
        "urgent": Priority.CRITICAL,
        "critical": Priority.CRITICAL,
        "highest": Priority.CRITICAL,
        "high": Priority.HIGH,
        "medium": Priority.MEDIUM,
        "normal": Priority.MEDIUM,
        "low": Priority.LOW,
    }

    tool_options = frozenset({ZOHO_DATA_CENTRE_OPTION})
    credential_keys = frozenset({"zoho_client_id", "zoho_client_secret", "zoho_refresh_token"})  # Cloud

    # History and knowledge (``servicedesk_plus/history.py``): row_count 100 (the documented
    # maximum) plus one resolutions call per request; solutions 25 a page.
    # Calls per 100 history tickets: 1 + 100.
    history_page_size: ClassVar[int] = 100
    knowledge_page_size: ClassVar[int] = 25
    history_calls_per_100: ClassVar[int] = 101
    # ManageEngine documents no per-minute API quota for v3 (on-prem: none; Cloud: Zoho's
    # per-portal throttling, 429 when exceeded). 60/min is our conservative planning figure.
    documented_rate_limit_per_minute: ClassVar[int] = 60

    async def history_page(
        self, tenant: TenantContext, *, since: datetime, cursor: str | None
    ) -> HistoryPage:
        from ticket_enhancer.plugins.servicedesk_plus import history

        return await history.history_page(self, tenant, since, cursor)

    async def knowledge_page(self, tenant: TenantContext, *, cursor: str | None) -> KnowledgePage:
        from ticket_enhancer.plugins.servicedesk_plus import history

        return await history.knowledge_page(self, tenant, cursor)

    def check_base_url(
        self,
        url: str,
        *,
        allow_custom_host: bool = False,
        local: bool = False,
        options: Mapping[str, str] | None = None,
    ) -> str:
        """Also the data centre: an unknown ``zoho_data_centre``, or one contradicting the cloud
        host, is refused."""
        data_centre(url, options)
        return super().check_base_url(url, allow_custom_host=allow_custom_host, local=local, options=options)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # The tenant's Zoho access token: in memory, shared by the deployment's containers (zoho.py)
        self._zoho = ZohoTokens(sleep=self._sleep)

    def parse_webhook(self, payload: dict[str, Any], request: WebhookRequest) -> WebhookEvent:
        body = obj(payload.get("request")) or payload
        return WebhookEvent(
            ticket_id=first_text(body, "id"),
            display_key=first_text(body, "display_id"),
            subject=first_text(body, "subject"),
            description=first_text(body, "description"),
            priority_raw=named(body.get("priority")),
            requester=named(body.get("requester")),
            created_at=parse_datetime(obj(body.get("created_time")).get("value")),
            status=named(body.get("status")),
            event_type=first_text(payload, "event") or "created",
        )

    def ticket_request(self, ticket_id: str) -> VendorRequest:
        return VendorRequest("GET", f"/api/v3/requests/{ticket_id}", idempotent=True)

    def parse_ticket(self, data: Any, tenant: TenantContext, ticket_id: str) -> Ticket:
        body = obj(data)
        self._check_status(body, "get_ticket")
        request = obj(body.get("request"))
        priority = named(request.get("priority"))
        found_id = first_text(request, "id") or ticket_id
        return Ticket(
            tool_type=self.__tool_type__,
            tenant_id=tenant.tenant_id,
            ticket_id=found_id,
            display_key=first_text(request, "display_id") or found_id,
            subject=first_text(request, "subject"),
            description=first_text(request, "description"),
            priority=self.normalise_priority(priority),
            priority_raw=priority,
            requester=named(request.get("requester")),
            created_at=parse_datetime(obj(request.get("created_time")).get("value")),
            status=named(request.get("status")),
            url=f"{tenant.config.base_url.rstrip('/')}/WorkOrder.do?woMode=viewWO&woID={found_id}",
            scope=named(request.get("site")) or "",
            category=named(request.get("category")) or "",
            group=named(request.get("group")) or "",
            group_id=text_field(obj(request.get("group")).get("id")),  # as the history's
        )

    def _check_status(self, body: dict[str, Any], operation: str) -> None:
        statuses = body.get("response_status")
        status = obj(statuses[0] if isinstance(statuses, list) and statuses else statuses)
        code = status.get("status_code")
        if code is not None and text_field(code) != "2000":
            raise VendorRequestError(
                f"response_status {text_field(code)}", tool_type=self.__tool_type__, operation=operation
            )

    def note_request(self, ticket_id: str, rendered: Any) -> VendorRequest:
        """Cloud (``sdpod-v3-api``): the note travels under ``request_note``."""
        note = {
            "request_note": {
                "description": rendered,
                "show_to_requester": False,
                "notify_technician": False,
                "mark_first_response": False,
                "add_to_linked_requests": False,
            }
        }
        return VendorRequest(
            "POST", f"/api/v3/requests/{ticket_id}/notes", form={"input_data": json.dumps(note)}
        )

    def tenant_note_request(self, tenant: TenantContext, ticket_id: str, rendered: Any) -> VendorRequest:
        """On-prem (``sdpop-v3-api``) names the wrapper ``note`` and documents no ``notify_technician``."""
        if self.is_cloud(tenant.config.base_url, tenant.config.options):
            return self.note_request(ticket_id, rendered)
        note = {
            "note": {
                "description": rendered,
                "show_to_requester": False,
                "mark_first_response": False,
                "add_to_linked_requests": False,
            }
        }
        return VendorRequest(
            "POST", f"/api/v3/requests/{ticket_id}/notes", form={"input_data": json.dumps(note)}
        )

    def notes_request(self, ticket_id: str) -> VendorRequest:
        # The notes list answers 10 rows unless list_info asks for more (at most 100 a page).
        return self._notes_page(ticket_id, 1)

    @staticmethod
    def _notes_page(ticket_id: str, start_index: int) -> VendorRequest:
        list_info = {"list_info": {"row_count": NOTES_PAGE_SIZE, "start_index": start_index}}
        return VendorRequest(
            "GET",
            f"/api/v3/requests/{ticket_id}/notes",
            idempotent=True,
            params={"input_data": json.dumps(list_info, separators=(",", ":"))},
        )

    def next_notes_request(
        self, previous: VendorRequest, data: Any, headers: Mapping[str, str]
    ) -> VendorRequest | None:
        """The next ``list_info`` page while ``list_info.has_more_rows`` is true."""
        body = obj(data)
        info = obj(body.get("list_info"))
        notes = body.get("notes")
        if info.get("has_more_rows") is not True or not isinstance(notes, list) or not notes:
            return None
        ticket_id = previous.path.split("/")[-2]
        start = info.get("start_index")
        start = start if isinstance(start, int) and not isinstance(start, bool) else 1
        return self._notes_page(ticket_id, start + len(notes))

    def parse_notes(self, data: Any) -> list[str]:
        notes = obj(data).get("notes")
        return [first_text(obj(n), "description") for n in notes] if isinstance(notes, list) else []

    @staticmethod
    def is_cloud(base_url: str, options: Mapping[str, str] | None = None) -> bool:
        """On ServiceDesk Plus Cloud: an exact cloud host, or a custom domain with ``zoho_data_centre``."""
        try:
            return data_centre(base_url, options) is not None
        except BaseUrlError:
            return True  # an unknown data centre is still a cloud tenant; its token refresh fails

    async def auth_headers(self, tenant: TenantContext) -> dict[str, str]:
        headers = {"Accept": ACCEPT}
        if self.is_cloud(tenant.config.base_url, tenant.config.options):
            headers["Authorization"] = f"Zoho-oauthtoken {await self._zoho_token(tenant)}"
        else:
            headers["authtoken"] = api_token(tenant)
        return headers

    async def _zoho_token(self, tenant: TenantContext) -> str:
        centre = None
        try:
            centre = data_centre(tenant.config.base_url, tenant.config.options)
        except BaseUrlError as exc:
            raise VendorAuthError(str(exc), tool_type=self.__tool_type__, operation="oauth") from None
        if centre is None:  # is_cloud said so: cannot happen
            raise VendorAuthError("not a cloud tenant", tool_type=self.__tool_type__, operation="oauth")
        return await self._zoho.token(tenant, centre)

    async def _call(self, tenant: TenantContext, request: VendorRequest, operation: str) -> httpx.Response:
        """Cloud: a 401 drops the access token (revoked, or invalidated by Zoho's 16th) everywhere
        and the call is tried once with a new one."""
        try:
            return await super()._call(tenant, request, operation)
        except VendorAuthError as exc:
            token = self._zoho.cached(tenant)
            if (
                exc.status != 401
                or token is None
                or not self.is_cloud(tenant.config.base_url, tenant.config.options)
            ):
                raise
            if not await self._zoho.forget(tenant, token):
                raise
            return await super()._call(tenant, request, operation)
