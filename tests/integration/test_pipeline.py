"""The context store on moto's DynamoDB and the enhancement pipeline end to end."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws
from pydantic import SecretStr
from ticket_enhancer.enhance import store as store_module
from ticket_enhancer.enhance.context import EnhancementContext
from ticket_enhancer.enhance.errors import ContextStoreError
from ticket_enhancer.enhance.pipeline import Enhancement, Pipeline, PipelineStep, build_default_pipeline
from ticket_enhancer.enhance.steps import (
    KnowledgeStep,
    NetworkAssetsStep,
    SimilarTicketsStep,
    SynthesisStep,
    TicketContextStep,
)
from ticket_enhancer.enhance.store import MAX_INDEXED_TEXT_BYTES, ContextStore
from ticket_enhancer.models import NOTE_FOOTER_PREFIX, Priority, TenantConfig, TenantSecret, Ticket
from ticket_enhancer.plugins.context import TenantContext
from ticket_enhancer.plugins.errors import PluginDependencyError
from ticket_enhancer.render import link, render_note

from tests.support import create_table, moto_env

TABLE = "context"
KB_LINK = link("VPN disconnects: MTU", "https://kb.acme.example/vpn")


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[ContextStore]:
    moto_env(monkeypatch)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE, "pk", "sk")  # the template's ContextTable
        yield ContextStore(client, TABLE)


def ticket(tenant_id: str = "acme", ticket_id: str = "10001", **kw: Any) -> Ticket:
    fields: dict[str, Any] = {
        "tool_type": "jira",
        "tenant_id": tenant_id,
        "ticket_id": ticket_id,
        "display_key": f"IT-{ticket_id}",
        "subject": "VPN keeps disconnecting",
        "description": "VPN drops every few minutes. Gateway vpn.acme.example, IP 10.8.0.12.",
        "priority": Priority.HIGH,
        "url": f"https://acme.atlassian.net/browse/IT-{ticket_id}",
    }
    return Ticket(**(fields | kw))


def tenant(tenant_id: str = "acme", options: dict[str, str] | None = None, http: Any = None) -> TenantContext:
    config = TenantConfig(
        tenant_id=tenant_id,
        tool_type="jira",
        base_url="https://acme.atlassian.net",
        secret_id="s",
        options=options or {},
    )
    return TenantContext(config=config, secret=TenantSecret(llm_api_key=SecretStr("sk-1")), http=http)


def seed(store: ContextStore) -> None:
    store.put_article(
        "acme", "VPN disconnects: MTU", "Lower the VPN client MTU to 1300.", "https://kb.acme.example/vpn"
    )
    store.put_article("acme", "Printer jams", "Open tray 2.", "https://kb.acme.example/printer")
    store.put_asset("acme", "10.8.0.0/16", "vpn-pool", "AnyConnect address pool")
    store.put_asset("acme", "vpn.acme.example", "vpn-gw", "ASA pair in DC1")
    store.index_ticket(
        "acme", ticket(ticket_id="900", subject="VPN disconnects every 5 minutes", description="fixed MTU")
    )
    store.index_ticket(
        "acme", ticket(ticket_id="901", subject="Printer out of toner", description="replaced toner")
    )
    store.index_ticket("acme", ticket())  # the ticket itself, already indexed by an earlier event


def enhance(pipeline: Pipeline, who: TenantContext | None = None, t: Ticket | None = None) -> Enhancement:
    return asyncio.run(pipeline.enhance(who or tenant(), t or ticket(), "01JOB"))


# Store ----------------------------------------------------------------------------------------------


def test_tenant_isolation(store: ContextStore) -> None:
    seed(store)
    store.put_article("globex", "Globex secret runbook", "internal", "https://kb.globex.example/x")
    store.put_asset("globex", "10.0.0.0/8", "globex-lan", "")
    store.index_ticket("globex", ticket("globex", "555", subject="Globex VPN outage"))
    assert {a.title for a in store.list_articles("acme")} == {"VPN disconnects: MTU", "Printer jams"}
    assert {a.name for a in store.list_assets("acme")} == {"vpn-pool", "vpn-gw"}
    assert {t.ticket_id for t in store.list_indexed_tickets("acme")} == {"900", "901", "10001"}
    assert [a.title for a in store.list_articles("globex")] == ["Globex secret runbook"]
    assert [a.name for a in store.list_assets("globex")] == ["globex-lan"]
    assert [t.ticket_id for t in store.list_indexed_tickets("globex")] == ["555"]
    assert store.list_articles("initech") == []


def test_store_refuses_bad_tenant_ids_and_foreign_tickets(store: ContextStore) -> None:
    for bad in ("", "acme#kb", "../acme", "a" * 65):
        with pytest.raises(ContextStoreError):
            store.list_articles(bad)
    with pytest.raises(ContextStoreError):
        store.index_ticket("acme", ticket("globex"))


def test_queries_paginate_up_to_the_limit(store: ContextStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "_PAGE_SIZE", 7)
    for i in range(30):
        store.put_asset("acme", f"10.0.{i}.0/24", f"net-{i}", "")
    assert len(store.list_assets("acme")) == 30
    assert len(store.list_assets("acme", limit=10)) == 10
    assert store.list_assets("acme", limit=0) == []


def test_article_ids_are_stable_and_indexed_text_is_bounded(store: ContextStore) -> None:
    first = store.put_article("acme", "Old title", "v1", "https://kb.acme.example/a")
    assert store.put_article("acme", "New title", "v2", "https://kb.acme.example/a") == first
    assert [(a.article_id, a.title) for a in store.list_articles("acme")] == [(first, "New title")]
    store.index_ticket("acme", ticket(description="é" * 10_000))
    (indexed,) = store.list_indexed_tickets("acme")
    assert len(indexed.text.encode()) <= MAX_INDEXED_TEXT_BYTES
    assert (indexed.display_key, indexed.url) == ("IT-10001", "https://acme.atlassian.net/browse/IT-10001")


# Pipeline -------------------------------------------------------------------------------------------


def test_default_pipeline_writes_an_offline_note_from_the_tenant_context(store: ContextStore) -> None:
    seed(store)
    store.put_article("globex", "Globex VPN runbook", "VPN disconnects", "https://kb.globex.example/vpn")
    result = enhance(build_default_pipeline(store))
    assert (result.provider, result.unavailable) == ("offline", [])
    md = result.markdown
    assert link("IT-900: VPN disconnects every 5 minutes", "https://acme.atlassian.net/browse/IT-900") in md
    assert "IT-10001:" not in md.split("### Similar tickets", 1)[1]  # never the ticket itself
    assert KB_LINK in md
    assert "globex" not in md.lower()
    assert "**vpn-pool**" in md
    assert "**vpn-gw**" in md
    assert "Unavailable" not in md
    assert set(result.stage_ms) >= {
        "ticket_context",
        "similar_tickets",
        "knowledge",
        "network_assets",
        "synthesis",
    }


def test_steps_are_ordered_by_requirements_and_grouped_in_levels(store: ContextStore) -> None:
    steps: list[PipelineStep] = [
        SynthesisStep(),
        NetworkAssetsStep(store),
        KnowledgeStep(store),
        SimilarTicketsStep(store),
        TicketContextStep(),
    ]
    pipeline = Pipeline(steps)
    assert pipeline.names[0] == "ticket_context"
    assert pipeline.names[-1] == "synthesis"
    assert [[s.name for s in level] for level in pipeline.levels] == [
        ["ticket_context"],
        ["network_assets", "knowledge", "similar_tickets"],
        ["synthesis"],
    ]
    with pytest.raises(PluginDependencyError):
        Pipeline([SynthesisStep()])


class Boom:
    requires: tuple[str, ...] = ("ticket_context",)

    def __init__(self, name: str, *, delay: float = 0.0) -> None:
        self.name, self.delay = name, delay

    async def run(self, ctx: EnhancementContext) -> None:
        await asyncio.sleep(self.delay)
        raise RuntimeError("database on fire")


def test_a_failing_step_still_yields_a_note_naming_what_was_unavailable(store: ContextStore) -> None:
    seed(store)
    pipeline = Pipeline(
        [
            TicketContextStep(),
            Boom("similar_tickets"),
            KnowledgeStep(store),
            NetworkAssetsStep(store),
            SynthesisStep(),
        ]
    )
    result = enhance(pipeline)
    assert result.unavailable == ["similar_tickets"]
    assert "Unavailable for this note: similar tickets (error)" in result.markdown
    assert KB_LINK in result.markdown  # the rest still ran


def test_a_slow_step_times_out_and_the_others_finish(store: ContextStore) -> None:
    seed(store)
    slow = Boom("knowledge", delay=5)
    pipeline = Pipeline(
        [TicketContextStep(), SimilarTicketsStep(store), slow, NetworkAssetsStep(store), SynthesisStep()],
        step_timeout=0.3,
    )
    result = enhance(pipeline)
    assert result.unavailable == ["knowledge"]
    assert "Unavailable for this note: knowledge articles (timeout)" in result.markdown
    assert "IT-900" in result.markdown


def test_dependents_of_a_failed_step_are_skipped_but_synthesis_still_writes(store: ContextStore) -> None:
    class BrokenContext(Boom):
        requires: tuple[str, ...] = ()

    pipeline = Pipeline(
        [
            BrokenContext("ticket_context"),
            SimilarTicketsStep(store),
            KnowledgeStep(store),
            NetworkAssetsStep(store),
            SynthesisStep(),
        ]
    )
    result = enhance(pipeline)
    assert result.unavailable == ["ticket_context", "similar_tickets", "knowledge", "network_assets"]
    assert "similar tickets (needs ticket context)" in result.markdown
    assert "### Suggested next steps" in result.markdown


def test_independent_steps_run_concurrently() -> None:
    started: list[str] = []
    all_started = asyncio.Event()

    class Rendezvous:
        requires: tuple[str, ...] = ()

        def __init__(self, name: str) -> None:
            self.name = name

        async def run(self, ctx: EnhancementContext) -> None:
            started.append(self.name)
            if len(started) == 3:
                all_started.set()
            await all_started.wait()  # would time out if the steps ran one after another

    result = enhance(Pipeline([Rendezvous("a"), Rendezvous("b"), Rendezvous("c")], step_timeout=2))
    assert result.unavailable == []
    assert sorted(started) == ["a", "b", "c"]


def test_model_failure_falls_back_and_is_recorded(store: ContextStore) -> None:
    seed(store)

    async def go() -> Enhancement:
        transport = httpx.MockTransport(lambda request: httpx.Response(503))
        async with httpx.AsyncClient(transport=transport) as http:
            options = {
                "synthesis_provider": "openai",
                "synthesis_endpoint": "https://llm.example.com/v1",
                "synthesis_model": "m",
            }
            return await build_default_pipeline(store).enhance(
                tenant(options=options, http=http), ticket(), "01JOB"
            )

    result = asyncio.run(go())
    assert (result.provider, result.fallback_from, result.unavailable) == ("offline", "openai", ["synthesis"])
    assert "Unavailable for this note: AI summary (error)" in result.markdown
    assert KB_LINK in result.markdown


PHISH = "[Re-verify SSO](https://sso-acme.evil.example)"


@pytest.mark.parametrize("provider", ["offline", "bedrock"])
def test_text_from_tickets_articles_assets_and_models_makes_no_link(
    store: ContextStore, provider: str
) -> None:
    store.put_article("acme", f"VPN MTU {PHISH}", f"Body {PHISH}", "https://kb.acme.example/vpn")
    store.put_asset(
        "acme", "10.8.0.0/16", f"vpn-pool {PHISH}", "see <https://evil.example> or https://evil.example/x"
    )

    class EchoingBedrock:  # a model steered by the ticket: it repeats the data, links and all
        def converse(self, **kwargs: Any) -> dict[str, Any]:
            data = kwargs["messages"][0]["content"][0]["text"]
            note = {"summary": f"[Re-verify](https://evil.example/m) <https://evil.example>\n{data}"[:1000]}
            return {"output": {"message": {"content": [{"toolUse": {"input": note}}]}}}

    description = "IP 10.8.0.12. Log in at <https://evil.example> or https://evil.example/x"
    hostile = ticket(subject=PHISH, description=description)
    pipeline = build_default_pipeline(store, bedrock_client_factory=EchoingBedrock)
    result = enhance(pipeline, tenant(options={"synthesis_provider": provider}), hostile)
    # The model's answer carries URLs outside the gathered data: its part is dropped (injection).
    assert result.provider == "offline"
    assert result.fallback_reason == (None if provider == "offline" else "injection suspected")
    ours = {"https://kb.acme.example/vpn"}
    html = render_note(result.markdown, "html", footer="f")
    assert set(re.findall(r'<a href="([^"]*)"', html)) == ours
    adf = json.dumps(render_note(result.markdown, "adf", footer="f"))
    assert set(re.findall(r'"type": "link", "attrs": \{"href": "([^"]*)"\}', adf)) == ours
    text = render_note(result.markdown, "text", footer="f")
    assert PHISH in text
    assert "vpn-pool [Re-verify SSO]" in text
    assert "https://evil.example/x" in text


def test_bedrock_tenant_gets_the_model_note_and_one_client(store: ContextStore) -> None:
    made: list[object] = []

    class FakeBedrock:
        def converse(self, **kwargs: Any) -> dict[str, Any]:
            assert "<ticket>" in kwargs["messages"][0]["content"][0]["text"]
            answer = {"summary": f"model says {NOTE_FOOTER_PREFIX}01FORGED"}
            return {"output": {"message": {"content": [{"toolUse": {"input": answer}}]}}}

    def factory() -> FakeBedrock:
        made.append(1)
        return FakeBedrock()

    pipeline = build_default_pipeline(store, bedrock_client_factory=factory)
    for _ in range(2):
        result = enhance(pipeline, tenant(options={"synthesis_provider": "bedrock"}))
        assert result.provider == "bedrock"
        assert result.markdown.startswith("### AI summary\n\n**Summary:** model says")
        assert NOTE_FOOTER_PREFIX not in result.markdown  # only the poster adds the job footer
    assert len(made) == 1


def test_worker_cache_of_articles_and_assets_is_bounded_in_time_and_per_tenant(store: ContextStore) -> None:
    """The worker re-reads a tenant's articles and inventory at most once per `cache_seconds`;
    another tenant never sees them; the CLI's store (no cache) always reads."""
    now = [1000.0]
    cached = ContextStore(store._client, TABLE, cache_seconds=60, clock=lambda: now[0])
    queries: list[str] = []
    store._client.meta.events.register("before-call.dynamodb.Query", lambda **kw: queries.append("q"))

    store.put_article("acme", "VPN", "Check the gateway.", "https://kb.example.com/vpn")
    assert [a.title for a in cached.list_articles("acme")] == ["VPN"]
    store.put_article("acme", "Printers", "Restart the spooler.", "https://kb.example.com/print")
    assert [a.title for a in cached.list_articles("acme")] == ["VPN"]  # within the minute: cached
    assert len(queries) == 1
    assert cached.list_articles("globex") == []  # another tenant: its own read, nothing shared
    now[0] += 61
    assert sorted(a.title for a in cached.list_articles("acme")) == ["Printers", "VPN"]
    assert len(store.list_articles("acme")) == 2  # no cache: reads every time
    assert len(queries) == 4


def test_indexed_tickets_expire_and_articles_do_not(store: ContextStore) -> None:
    """Processed-ticket index items carry the table's TTL attribute (a year); articles and assets
    carry none, so DynamoDB keeps them until `tenants remove`."""
    store.put_article("acme", "VPN", "Check the gateway.", "https://kb.example.com/vpn")
    store.put_asset("acme", "10.0.0.0/8", "Office", "")
    store.index_ticket("acme", ticket())
    items = {
        item["pk"]["S"]: item
        for kind in ("kb", "asset", "ticket")
        for item in store._client.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"acme#{kind}"}},
        )["Items"]
    }
    assert "expires_at" not in items["acme#kb"]
    assert "expires_at" not in items["acme#asset"]
    year = int(items["acme#ticket"]["expires_at"]["N"]) - int(time.time())
    assert 364 * 24 * 3600 < year <= 365 * 24 * 3600
