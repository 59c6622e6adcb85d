"""Triage, duplicates/bursts and language through the default pipeline on moto's DynamoDB."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from moto import mock_aws
from pydantic import SecretStr
from ticket_enhancer.enhance.context import EnhancementContext
from ticket_enhancer.enhance.duplicates import DuplicatesStep
from ticket_enhancer.enhance.index import build_index
from ticket_enhancer.enhance.note import compose_offline_note
from ticket_enhancer.enhance.pipeline import Pipeline, build_default_pipeline
from ticket_enhancer.enhance.records import IndexedTicket, TriageSuggestion
from ticket_enhancer.enhance.steps import IndexedTicketsStep
from ticket_enhancer.enhance.store import ContextStore
from ticket_enhancer.enhance.synthesis import SynthesisResult
from ticket_enhancer.enhance.triage import TriageStep
from ticket_enhancer.models import Priority, TenantConfig, TenantSecret, Ticket
from ticket_enhancer.plugins.context import TenantContext
from ticket_enhancer.render import link

from tests.support import create_table, moto_env

if TYPE_CHECKING:
    from ticket_enhancer.enhance.index_store import IndexStore

TABLE = "context"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[ContextStore]:
    moto_env(monkeypatch)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE, "pk", "sk")
        yield ContextStore(client, TABLE)


def ticket(ticket_id: str, subject: str, description: str, minutes_ago: int = 0, **kw: Any) -> Ticket:
    fields: dict[str, Any] = {
        "tool_type": "jira",
        "tenant_id": "acme",
        "ticket_id": ticket_id,
        "display_key": f"IT-{ticket_id}",
        "subject": subject,
        "description": description,
        "priority": Priority.MEDIUM,
        "url": f"https://acme.atlassian.net/browse/IT-{ticket_id}",
        "created_at": NOW - timedelta(minutes=minutes_ago),
        "scope": "IT",
        "status": "Open",
    }
    return Ticket(**(fields | kw))


def tenant(options: dict[str, str] | None = None) -> TenantContext:
    config = TenantConfig(
        tenant_id="acme",
        tool_type="jira",
        base_url="https://acme.atlassian.net",
        secret_id="s",
        options=options or {},
    )
    return TenantContext(config=config, secret=TenantSecret(llm_api_key=SecretStr("sk-1")))


def resolved(n: int, subject: str, *, category: str, group: str, priority: str) -> IndexedTicket:
    """A resolved ticket as the history sync puts it in the tenant's index."""
    return IndexedTicket(
        ticket_id=f"h{n:04d}",
        display_key=f"IT-{n}",
        subject=subject,
        text=f"{subject}\nResolved by restarting the service.",
        url=f"https://acme.atlassian.net/browse/IT-{n}",
        created=(NOW - timedelta(days=30)).isoformat(),
        status="resolved",
        resolved=(NOW - timedelta(days=29)).isoformat(),
        category=category,
        group=group,
        priority=priority,
        scope="IT",
    )


class LoadedIndex:
    """Stands in for the worker's IndexStore: the tenant's index, already loaded."""

    def __init__(self, history: list[IndexedTicket]) -> None:
        self._index = build_index("acme", history, []) if history else None

    def load(self, tenant_id: str) -> Any:
        return self._index if tenant_id == "acme" else None


def run(
    store: ContextStore,
    me: Ticket,
    options: dict[str, str] | None = None,
    history: list[IndexedTicket] | None = None,
) -> tuple[str, EnhancementContext]:
    pipeline = build_default_pipeline(store, index=cast("IndexStore", LoadedIndex(history or [])))
    ctx = asyncio.run(pipeline.run(EnhancementContext(tenant=tenant(options), ticket=me, job_id="job-1")))
    result = asyncio.run(pipeline.enhance(tenant(options), me, "job-1"))
    assert result.unavailable == []
    return result.markdown, ctx


VPN = "VPN disconnects with error 809 on the AnyConnect client"


def test_a_burst_leads_the_note_with_links_and_triage_comes_from_history(store: ContextStore) -> None:
    history = [
        resolved(
            100 + n, f"AnyConnect VPN error 809 ({n})", category="Network", group="Network Ops", priority="P2"
        )
        for n in range(6)
    ]
    history += [
        resolved(
            200 + n, f"Printer jammed on floor {n}", category="Hardware", group="Desk Support", priority="P4"
        )
        for n in range(4)
    ]
    for n in range(3):
        store.index_ticket(
            "acme", ticket(f"5{n}", VPN, f"{VPN}. Since 8:00 all users.", minutes_ago=10 * (n + 1))
        )
    store.index_ticket("acme", ticket("60", "New laptop for Sam", "Please order a laptop.", minutes_ago=5))

    me = ticket("70", VPN, f"{VPN}. Started at 8:00 for all users on floor 3.")
    markdown, ctx = run(store, me, history=history)

    first = markdown.split("\n", 1)[0]
    assert first.startswith("**4 similar tickets in the last 60 minutes: possible major incident**")
    for n in range(3):
        assert link(f"IT-5{n}", f"https://acme.atlassian.net/browse/IT-5{n}") in first
    assert "IT-60" not in first
    triage = markdown.split("### Triage suggestion", 1)[1].split("###", 1)[0]
    assert re.search(
        r"Category: \*\*Network\*\* \(confidence 0\.(9\d|8\d); 6 of \d+ similar resolved tickets\)", triage
    )
    assert "Assignment group: **Network Ops**" in triage
    assert "Priority: **P2**" in triage
    assert ctx.language is not None
    assert ctx.language.code == "en"
    assert "**Language:** English (`en`)" in markdown
    summary = ctx.gathered().summary  # the summary step's result, for the note and the model side
    assert summary is not None
    assert "error 809" in summary.codes
    assert "**Errors and codes:** `error 809`" in markdown


def test_triage_off_and_old_index_items_still_read(store: ContextStore) -> None:
    history = [
        resolved(
            100 + n, f"AnyConnect VPN error 809 ({n})", category="Network", group="Network Ops", priority="P2"
        )
        for n in range(6)
    ]
    # An item indexed before scope and status were stored reads them as "" and open.
    store._client.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "acme#ticket"},
            "sk": {"S": "old1"},
            "subject": {"S": VPN},
            "text": {"S": VPN},
            "created": {"S": (NOW - timedelta(minutes=20)).isoformat()},
        },
    )
    (old,) = store.list_indexed_tickets("acme")
    assert (old.status, old.scope, old.category, old.priority) == ("open", "", "", "")
    store.index_ticket("acme", ticket("61", VPN, f"{VPN}. Since 8:00.", minutes_ago=20, url=None))

    markdown, _ = run(store, ticket("70", VPN, f"{VPN}. Nobody can work."), {"triage": "off"}, history)
    assert "### Triage suggestion" not in markdown
    assert markdown.startswith("**Possible duplicate of IT-61**")  # no stored URL: no link


def test_the_stored_processed_ticket_keeps_scope_status_and_fields(store: ContextStore) -> None:
    store.index_ticket(
        "acme",
        ticket("80", "Mail down", "Outlook fails", category="Email", group="Messaging", priority_raw="P1"),
    )
    (item,) = store.list_indexed_tickets("acme")
    assert (item.scope, item.status, item.category, item.group, item.priority) == (
        "IT",
        "Open",
        "Email",
        "Messaging",
        "P1",
    )
    assert datetime.fromisoformat(item.created) <= NOW


def test_a_german_ticket_is_detected_for_the_model_side(store: ContextStore) -> None:
    me = ticket(
        "90", "Drucker druckt nicht", "Der Drucker im dritten Stock druckt seit gestern keine Seiten mehr."
    )
    markdown, ctx = run(store, me)
    assert ctx.language is not None
    assert ctx.language.code == "de"
    assert "**Language:** German (`de`)" in markdown


class ModelSynthesis:
    """Stands in for a model provider's synthesis step: its note knows nothing of duplicates."""

    name = "synthesis"
    requires: tuple[str, ...] = ("duplicates",)
    always_run = True

    async def run(self, ctx: EnhancementContext) -> None:
        # As compose_model_note does: the model's part, then the offline note (which leads with the
        # burst line itself).
        offline = compose_offline_note(ctx.gathered())
        ctx.results[self.name] = SynthesisResult(
            f"### AI summary\n\nThe VPN gateway rejects clients.\n\n{offline}", "bedrock"
        )


def test_a_model_note_also_starts_with_the_burst_line(store: ContextStore) -> None:
    for n in range(3):
        store.index_ticket(
            "acme", ticket(f"5{n}", VPN, f"{VPN}. Since 8:00 all users.", minutes_ago=10 * (n + 1))
        )
    pipeline = Pipeline([IndexedTicketsStep(store), DuplicatesStep(), ModelSynthesis()])
    me = ticket("70", VPN, f"{VPN}. Started at 8:00 for all users on floor 3.")
    result = asyncio.run(pipeline.enhance(tenant(), me, "job-2"))
    assert result.provider == "bedrock"
    lead, rest = result.markdown.split("\n\n", 1)
    assert lead.startswith("**4 similar tickets in the last 60 minutes: possible major incident**")
    assert rest.startswith("### AI summary")
    assert result.markdown.count("possible major incident") == 1  # once, at the top


def test_triage_votes_with_what_the_similar_step_found_when_the_index_read_failed() -> None:
    history = [
        IndexedTicket(
            ticket_id=f"h{n}",
            subject=f"AnyConnect VPN error 809 ({n})",
            text="VPN error 809",
            status="resolved",
            category="Network",
            group="Network Ops",
            priority="P2",
        )
        for n in range(3)
    ]
    ctx = EnhancementContext(tenant=tenant(), ticket=ticket("70", VPN, VPN), job_id="j")
    ctx.results["similar_tickets"] = tuple(history)
    ctx.mark_unavailable("indexed_tickets", "error")
    asyncio.run(TriageStep().run(ctx))
    suggestion = ctx.results["triage"]
    assert isinstance(suggestion, TriageSuggestion)
    assert suggestion.category is not None
    assert (suggestion.category.value, suggestion.category.votes) == ("Network", 3)
    ctx.mark_unavailable("similar_tickets", "timeout")
    asyncio.run(TriageStep().run(ctx))
    assert ctx.reasons["triage"] == "needs ticket history"


def test_the_index_keeps_the_triage_fields_and_reads_an_index_written_without_them() -> None:
    import json
    import struct
    import zlib

    from ticket_enhancer.enhance import index_codec

    history = [resolved(1, "VPN error 809", category="Network", group="Network Ops", priority="P2")]
    blob = index_codec.encode_index(build_index("acme", history, []))
    (hit, _), *_ = index_codec.decode_index(blob, tenant_id="acme").similar_tickets("VPN", scope=None, k=1)
    assert (hit.category, hit.group, hit.priority, hit.status) == ("Network", "Network Ops", "P2", "resolved")
    # The same index as written before the triage fields were kept.
    raw = zlib.decompress(blob)
    size = struct.unpack(">Q", raw[5:13])[0]
    header = json.loads(raw[13 : 13 + size])
    for name in ("category", "group", "priority"):
        del header["tickets"][name]
    new_header = json.dumps(header).encode()
    old = zlib.compress(raw[:5] + struct.pack(">Q", len(new_header)) + new_header + raw[13 + size :])
    (hit, _), *_ = index_codec.decode_index(old, tenant_id="acme").similar_tickets("VPN", scope=None, k=1)
    assert (hit.category, hit.group, hit.priority, hit.subject) == ("", "", "", "VPN error 809")
