"""The vendor-call half of :class:`~ticket_enhancer.plugins.base.TicketingToolPlugin` (its REST side).

:class:`VendorCalls` owns the template methods that call the tool's REST API: fetch a ticket, post
a note (with the exactly-once footer check after an unknown outcome, paging through the notes),
authenticate, retry and map errors (``plugins.http``), and record each call's latency. A tool
implements the primitives: its REST requests, its field mapping and its note list.
"""

from __future__ import annotations

import base64
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol
from urllib.parse import quote

from ticket_enhancer.models import Note, Ticket
from ticket_enhancer.plugins.context import TenantContext
from ticket_enhancer.plugins.errors import VendorOutcomeUnknownError, VendorRequestError

if TYPE_CHECKING:
    import httpx

    from ticket_enhancer.plugins.http import Sleep
    from ticket_enhancer.plugins.requests import RetryPolicy, VendorRequest

NoteFormat = Literal["html", "adf", "text"]
# The footer check reads at most this many pages of a ticket's notes (100 a page: 10,000 notes).
MAX_NOTE_PAGES = 100


class MetricsSink(Protocol):
    def add_metric(self, name: str, unit: Any, value: float) -> Any: ...


def api_token(tenant: TenantContext) -> str:
    """The tenant's API token (empty when not set)."""
    return tenant.secret.api_token.get_secret_value() if tenant.secret.api_token else ""


def _segment(ticket_id: str) -> str:
    """A ticket id made safe as one URL path segment (defence in depth behind TICKET_ID_RE)."""
    return quote(ticket_id, safe="")


class VendorCalls(ABC):
    """A plugin's REST side (the rest is :class:`~ticket_enhancer.plugins.base.TicketingToolPlugin`)."""

    __tool_type__: ClassVar[str]
    note_format: ClassVar[NoteFormat]
    _retry: RetryPolicy | None
    _metrics: MetricsSink | None
    _sleep: Sleep | None

    async def get_ticket(self, tenant: TenantContext, ticket_id: str) -> Ticket:
        """Fetch the full ticket from the tool."""
        response = await self._call(tenant, self.ticket_request(_segment(ticket_id)), "get_ticket")
        return self.parse_ticket(response.json(), tenant, ticket_id)

    async def update_ticket(self, tenant: TenantContext, ticket_id: str, note: Note) -> bool:
        """Post ``note`` as an internal note. Safe to call again after an unknown outcome."""
        request = self.tenant_note_request(tenant, _segment(ticket_id), self.render_note(note))
        try:
            response = await self._call(tenant, request, "update_ticket")
        except VendorOutcomeUnknownError:
            if await self.has_note(tenant, ticket_id, note.job_id):
                return True
            raise
        await self.check_posted(tenant, _segment(ticket_id), response)
        return True

    async def check_posted(self, tenant: TenantContext, ticket_id: str, response: httpx.Response) -> None:  # noqa: B027
        """Look at the tool's answer to a posted note (Jira: was it made public?); raise to fail."""

    async def check_listed(self, tenant: TenantContext, ticket_id: str, page: Any, job_id: str) -> None:  # noqa: B027
        """The same check for our note found in a page of the tool's note list (after a POST whose
        answer was lost, or a redelivered job): ``page`` is the listing's JSON; raise to fail."""

    async def has_note(self, tenant: TenantContext, ticket_id: str, job_id: str) -> bool:
        """Whether a note carrying ``job_id``'s footer is already on the ticket.

        Pages through the tool's note list (``next_notes_request``) until the footer is found or
        the list ends: a ticket with more notes than one page must not get a second note. A list
        longer than ``MAX_NOTE_PAGES`` pages ends the job (final) rather than risk a duplicate."""
        request: VendorRequest | None = self.tenant_notes_request(tenant, _segment(ticket_id))
        pages = 0
        while request is not None:
            if pages >= MAX_NOTE_PAGES:
                raise VendorRequestError(
                    f"more than {MAX_NOTE_PAGES} pages of notes: cannot tell whether the note is there",
                    tool_type=self.__tool_type__,
                    operation="list_notes",
                )
            response = await self._call(tenant, request, "list_notes")
            data = response.json()
            if any(job_id in body for body in self.parse_notes(data)):
                await self.check_listed(tenant, _segment(ticket_id), data, job_id)
                return True
            request = self.next_notes_request(request, data, response.headers)
            pages += 1
        return False

    def tenant_notes_request(self, tenant: TenantContext, ticket_id: str) -> VendorRequest:
        """``notes_request`` (the first page); a tool whose deployments differ overrides this."""
        return self.notes_request(ticket_id)

    def next_notes_request(
        self, previous: VendorRequest, data: Any, headers: Mapping[str, str]
    ) -> VendorRequest | None:
        """The request for the page after ``previous`` (whose answer was ``data``), or ``None`` at
        the end of the list. Default: the list is one page."""
        return None

    def tenant_note_request(self, tenant: TenantContext, ticket_id: str, rendered: Any) -> VendorRequest:
        """``note_request``; a tool whose deployments differ (cloud or on-prem) overrides this."""
        return self.note_request(ticket_id, rendered)

    def render_note(self, note: Note) -> Any:
        """The note in this tool's format (HTML, ADF or plain text), footer included."""
        from ticket_enhancer.render import render_note  # type: ignore[import-not-found,unused-ignore]  # worker-only

        return render_note(note.markdown, self.note_format, footer=note.footer)

    async def auth_headers(self, tenant: TenantContext) -> dict[str, str]:
        """HTTP Basic over ``basic_credentials``; tools with other schemes override this."""
        user, password = self.basic_credentials(tenant)
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {encoded}", "Accept": "application/json"}

    def basic_credentials(self, tenant: TenantContext) -> tuple[str, str]:
        """``(user, password)`` for HTTP Basic: ``api_user`` and ``api_token`` by default."""
        return tenant.secret.api_user or "", api_token(tenant)

    @abstractmethod
    def ticket_request(self, ticket_id: str) -> VendorRequest:
        """The REST call that fetches a ticket."""

    @abstractmethod
    def parse_ticket(self, data: Any, tenant: TenantContext, ticket_id: str) -> Ticket:
        """Map the tool's ticket JSON to ``Ticket``."""

    @abstractmethod
    def note_request(self, ticket_id: str, rendered: Any) -> VendorRequest:
        """The REST call that adds an internal note with the rendered body."""

    @abstractmethod
    def notes_request(self, ticket_id: str) -> VendorRequest:
        """The REST call that lists a ticket's notes (for the footer check)."""

    @abstractmethod
    def parse_notes(self, data: Any) -> list[str]:
        """The note bodies in the list-notes answer."""

    async def _call(self, tenant: TenantContext, request: VendorRequest, operation: str) -> httpx.Response:
        from ticket_enhancer.plugins.http import send  # worker-only: httpx stays off the webhook path
        from ticket_enhancer.plugins.requests import RetryPolicy

        client = tenant.http
        if client is None:
            raise RuntimeError("TenantContext.http is required for REST calls")
        started = time.perf_counter()
        try:
            return await send(
                client,
                tenant.config.base_url,
                request,
                connect_to=tenant.pinned_address,
                headers=await self.auth_headers(tenant),
                tool=self.__tool_type__,
                operation=operation,
                policy=self._retry or RetryPolicy(),
                sleep=self._sleep,
            )
        finally:
            self._record_latency(operation, (time.perf_counter() - started) * 1000)

    def _record_latency(self, operation: str, millis: float) -> None:
        if self._metrics is None:
            from aws_lambda_powertools.metrics import Metrics

            self._metrics = Metrics()
        self._metrics.add_metric(
            name=f"{self.__tool_type__}_{operation}_latency", unit="Milliseconds", value=millis
        )
