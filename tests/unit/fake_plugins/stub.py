"""A plugin base implementing every abstract primitive trivially (no tool type or version)."""

from __future__ import annotations

from typing import Any

from ticket_enhancer.models import Ticket
from ticket_enhancer.plugins.base import TicketingToolPlugin, WebhookEvent
from ticket_enhancer.plugins.context import TenantContext, WebhookRequest
from ticket_enhancer.plugins.requests import VendorRequest


class StubPlugin(TicketingToolPlugin):
    """Counts its lifecycle calls; the REST primitives are trivial."""

    def __init__(self) -> None:
        super().__init__()
        self.setup_calls = 0
        self.teardown_calls = 0

    def setup(self) -> None:
        self.setup_calls += 1

    def teardown(self) -> None:
        self.teardown_calls += 1

    def parse_webhook(self, payload: dict[str, Any], request: WebhookRequest) -> WebhookEvent:
        return WebhookEvent(ticket_id=str(payload.get("id", "")))

    def ticket_request(self, ticket_id: str) -> VendorRequest:
        return VendorRequest("GET", f"/tickets/{ticket_id}", idempotent=True)

    def parse_ticket(self, data: Any, tenant: TenantContext, ticket_id: str) -> Ticket:
        return Ticket(tool_type=self.__tool_type__, tenant_id=tenant.tenant_id, ticket_id=ticket_id)

    def note_request(self, ticket_id: str, rendered: Any) -> VendorRequest:
        return VendorRequest("POST", f"/tickets/{ticket_id}/notes", json={"body": rendered})

    def notes_request(self, ticket_id: str) -> VendorRequest:
        return VendorRequest("GET", f"/tickets/{ticket_id}/notes", idempotent=True)

    def parse_notes(self, data: Any) -> list[str]:
        return [str(note) for note in data] if isinstance(data, list) else []
