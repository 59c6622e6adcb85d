"""The processed-ticket index (``ContextStore.index_ticket``) beside the history sync's items."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ticket_enhancer.enhance.records import IndexedTicket
from ticket_enhancer.enhance.store import ContextStore
from ticket_enhancer.models import Ticket
from ticket_enhancer.sync.store import DynamoRecordStore

from tests.support import CONTEXT_TABLE as TABLE


def ticket(subject: str, status: str = "open") -> Ticket:
    return Ticket(
        tool_type="jira",
        tenant_id="acme",
        ticket_id="10042",
        display_key="IT-42",
        subject=subject,
        description="The VPN client drops every few minutes.",
        status=status,
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


def test_processing_an_imported_ticket_keeps_its_resolution(context_table: Any) -> None:
    """A webhook for a ticket the history sync already imported (reopened, an update trigger, a
    late job): the worker's write refreshes the ticket's fields and keeps how it was resolved."""
    resolved = datetime.now(UTC).isoformat()
    imported = IndexedTicket(
        ticket_id="10042",
        display_key="IT-42",
        subject="VPN drops",
        text="VPN drops\nThe VPN client drops every few minutes.",
        resolution="Replaced the expired VPN certificate.",
        resolved=resolved,
        status="resolved",
    )
    DynamoRecordStore(context_table, TABLE).put_tickets("acme", [imported], retention_days=365)
    store = ContextStore(context_table, TABLE)

    store.index_ticket("acme", ticket("VPN drops again", status="open"))

    key = {"pk": {"S": "acme#ticket"}, "sk": {"S": "10042"}}
    item = context_table.get_item(TableName=TABLE, Key=key)["Item"]
    assert item["resolution"]["S"] == "Replaced the expired VPN certificate."
    assert item["resolved"]["S"] == resolved
    assert item["origin"]["S"] == "history"
    assert (item["subject"]["S"], item["status"]["S"]) == ("VPN drops again", "open")  # refreshed
    assert int(item["expires_at"]["N"]) > int(datetime.now(UTC).timestamp()) + 300 * 86_400
    (recent,) = store.recent_tickets("acme")
    assert (recent.ticket_id, recent.resolution) == ("10042", "Replaced the expired VPN certificate.")


def test_a_new_ticket_is_indexed_with_its_pointer(context_table: Any) -> None:
    store = ContextStore(context_table, TABLE)
    store.index_ticket("acme", ticket("Printer jam"))
    store.index_ticket("acme", ticket("Printer jam, still"))  # processed twice: one item, two pointers

    items = context_table.scan(TableName=TABLE)["Items"]
    assert sorted(i["pk"]["S"] for i in items) == ["acme#recent", "acme#recent", "acme#ticket"]
    (recent,) = store.recent_tickets("acme")
    assert (recent.subject, recent.resolution, recent.status) == ("Printer jam, still", "", "open")
    assert "origin" not in next(i for i in items if i["pk"]["S"] == "acme#ticket")
