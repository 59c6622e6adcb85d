"""The model's structured answer: schema, checks, bad input in every note format, models of today,
personal data masking and the note's language."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from ticket_enhancer.enhance import openai_compat
from ticket_enhancer.enhance.bedrock import (
    DEFAULT_BASE_MODEL,
    BedrockProvider,
    default_bedrock_model,
    geography,
)
from ticket_enhancer.enhance.context import EnhancementContext
from ticket_enhancer.enhance.model_output import (
    MAX_ANSWER_CHARS,
    AllowedUrls,
    AnswerRules,
    ModelOutputError,
    TriageValues,
    answer_schema,
    find_urls,
    parse_answer,
)
from ticket_enhancer.enhance.pipeline import Pipeline
from ticket_enhancer.enhance.prompt import build_prompt
from ticket_enhancer.enhance.records import Article, GatheredContext, IndexedTicket
from ticket_enhancer.enhance.steps import SynthesisStep
from ticket_enhancer.enhance.synthesis import choose_provider, synthesize_note
from ticket_enhancer.models import Priority, TenantConfig, TenantSecret, Ticket
from ticket_enhancer.plugins.context import TenantContext
from ticket_enhancer.render import NoteFormat, render_note

FORMATS: tuple[NoteFormat, ...] = ("html", "adf", "text")
SITE = "https://acme.atlassian.net"
SIMILAR_URL = f"{SITE}/browse/IT-7"
KB_URL = "https://kb.example.com/vpn"
EVIL = "https://sso-acme.evil.example/login"


def ticket(**kw: Any) -> Ticket:
    fields: dict[str, Any] = {
        "tool_type": "jira",
        "tenant_id": "acme",
        "ticket_id": "10001",
        "display_key": "IT-42",
        "subject": "VPN unstable",
        "description": "VPN drops every 5 minutes. Call me on +49 30 12345678 or mail anna@example.com",
        "priority": Priority.HIGH,
    }
    return Ticket(**(fields | kw))


def similar(n: int = 1, **kw: Any) -> IndexedTicket:
    fields: dict[str, Any] = {
        "ticket_id": f"900{n}",
        "display_key": f"IT-{n}",
        "subject": "VPN disconnects",
        "text": "resolved by MTU fix; contact bob@example.org",
        "url": f"{SITE}/browse/IT-{n}",
        "category": "Network",
        "group": "Network Ops",
        "priority": "High",
    }
    return IndexedTicket(**(fields | kw))


def context(t: Ticket | None = None) -> GatheredContext:
    return GatheredContext(
        ticket=t or ticket(),
        similar=(similar(7), similar(8, category="VPN", group="Service Desk", priority="Medium")),
        articles=(Article("a1", "VPN troubleshooting", "Check MTU", KB_URL),),
    )


def answer(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "summary": "The VPN of one user drops every five minutes since this morning.",
        "likely_cause": "MTU on the tunnel interface",
        "open_questions": ["Which VPN client version do you use?"],
        "triage": {
            "category": {"value": "network", "confidence": 0.8},
            "priority": {"value": "High", "confidence": 0.6},
            "group": {"value": "", "confidence": 0},
        },
    }
    return base | kw


def rules(ctx: GatheredContext | None = None) -> AnswerRules:
    ctx = ctx or context()
    return AnswerRules(TriageValues.from_context(ctx), AllowedUrls.from_context(ctx, SITE))


def tenant(options: dict[str, str], http: httpx.AsyncClient | None = None) -> TenantContext:
    config = TenantConfig(tenant_id="acme", tool_type="jira", base_url=SITE, secret_id="s", options=options)
    return TenantContext(config=config, secret=TenantSecret(llm_api_key=SecretStr("sk-1")), http=http)


# --- parse_answer -----------------------------------------------------------------------------


def test_a_valid_answer_is_kept_with_the_tools_spelling_of_each_value() -> None:
    checked = parse_answer(json.dumps(answer()), rules())
    assert checked.triage.category.value == "Network"  # "network" matched case-insensitively
    assert checked.triage.priority.value == "High"
    assert checked.triage.group.value == ""


def test_allowed_values_come_from_the_similar_tickets_and_the_ticket() -> None:
    values = TriageValues.from_context(context(ticket(category="Access", group="IAM")))
    assert values.category == ("Access", "Network", "VPN")
    assert values.group == ("IAM", "Network Ops", "Service Desk")
    assert values.priority == ("High", "Medium")
    schema = answer_schema(values)
    assert schema["properties"]["triage"]["properties"]["group"]["properties"]["value"]["enum"] == [
        "IAM",
        "Network Ops",
        "Service Desk",
        "",
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty output"),
        ("   ", "empty output"),
        ("Sure! Here is the note: ### Summary", "invalid output"),
        ("[1, 2]", "invalid output"),
        (json.dumps(answer(summary="")), "empty output"),
        (json.dumps(answer(extra="x")), "invalid output"),
        (json.dumps(answer(summary="x" * 5_000)), "invalid output"),
        (json.dumps(answer(open_questions=["q" * 400])), "too long"),
        (json.dumps(answer(summary="x" * (MAX_ANSWER_CHARS + 1))), "too long"),
        (
            json.dumps(answer(triage={"category": {"value": "Quantum", "confidence": 0.9}})),
            "unknown value",
        ),
        (
            json.dumps(answer(triage={"group": {"value": "Finance", "confidence": 2}})),
            "invalid output",
        ),
        (json.dumps(answer(summary=f"Reset your password at {EVIL}")), "injection suspected"),
        (json.dumps(answer(likely_cause="see www.evil.example now")), "injection suspected"),
        (json.dumps(answer(open_questions=["Did you try evil.example/reset ?"])), "injection suspected"),
        (json.dumps(answer(summary="[Re-verify SSO](//evil.example/x)")), "injection suspected"),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else v,
)
def test_bad_answers_are_refused_with_their_reason(text: str, reason: str) -> None:
    with pytest.raises(ModelOutputError) as caught:
        parse_answer(text, rules())
    assert caught.value.reason == reason


def test_a_value_for_a_field_the_tool_has_no_values_for_is_refused() -> None:
    bare = GatheredContext(ticket=ticket())
    text = json.dumps(answer(triage={"category": {"value": "Network", "confidence": 0.9}}))
    with pytest.raises(ModelOutputError, match="unknown value"):
        parse_answer(text, rules(bare))
    empty = json.dumps(answer(triage={}))
    assert parse_answer(empty, rules(bare)).triage.category.value == ""  # unknown: no suggestion


def test_urls_of_the_gathered_data_and_the_tenants_site_are_allowed() -> None:
    text = f"See {SIMILAR_URL}, {KB_URL}/ and {SITE}/wiki/spaces/IT."
    assert parse_answer(json.dumps(answer(summary=text)), rules()).summary == text
    assert find_urls("host vpn-gw01.corp.example.com at 10.0.0.1, v1.2.3, file.txt") == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_property_any_text_is_an_answer_or_a_refusal(text: str) -> None:
    reasons = ("empty output", "invalid output", "too long", "unknown value", "injection suspected")
    outcome = "kept"
    try:
        parse_answer(text, rules())
    except ModelOutputError as exc:  # nothing else may escape
        outcome = exc.reason
    assert outcome == "kept" or outcome in reasons


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.sampled_from(["https://", "http://", "//", "www.", "ftp://"]))
def test_property_a_foreign_url_anywhere_in_the_answer_is_refused(noise: str, scheme: str) -> None:
    summary = f"{noise} {scheme}phish.example/{abs(hash(noise)) % 997} {noise}"
    with pytest.raises(ModelOutputError):
        parse_answer(json.dumps(answer(summary=summary)), rules())


# --- Bad input through the pipeline, in every note format ----------------------------------------


class FakeBedrock:
    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.calls: list[dict[str, Any]] = []

    def converse(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if isinstance(self.reply, Exception):
            raise self.reply
        block = {"text": self.reply} if isinstance(self.reply, str) else {"toolUse": {"input": self.reply}}
        return {"output": {"message": {"content": [block]}}, "usage": {"totalTokens": 1234}}


def run_pipeline(
    reply: Any, options: dict[str, str] | None = None, ctx_ticket: Ticket | None = None
) -> tuple[Any, FakeBedrock]:
    fake = FakeBedrock(reply)
    step = SynthesisStep(bedrock_client_factory=lambda: fake)

    class Gathered:  # the other steps' results, as the real steps leave them
        name = "ticket_context"
        requires: tuple[str, ...] = ()

        async def run(self, ctx: EnhancementContext) -> None:
            gathered = context(ctx.ticket)
            ctx.results["similar_tickets"] = gathered.similar
            ctx.results["knowledge"] = gathered.articles
            ctx.results["network_assets"] = ()

    step.requires = ("ticket_context",)
    pipeline = Pipeline([Gathered(), step])
    opts = {"synthesis_provider": "bedrock", "synthesis_model": "eu.m"} | (options or {})
    result = asyncio.run(pipeline.enhance(tenant(opts), ctx_ticket or ticket(), "01JOB"))
    return result, fake


THROTTLED = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Converse")
BAD_REPLIES = [
    ("not json", "invalid output"),
    ("", "empty output"),
    ({"summary": "x" * 9_000}, "too long"),
    (answer(triage={"category": {"value": "Quantum", "confidence": 1}}), "unknown value"),
    (answer(summary=f"Log in again at {EVIL} to keep your VPN"), "injection suspected"),
    (THROTTLED, "throttled"),
]


@pytest.mark.parametrize(("reply", "reason"), BAD_REPLIES, ids=[r for _, r in BAD_REPLIES])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_bad_model_answer_gives_the_offline_note_saying_the_ai_part_was_unavailable(
    reply: Any, reason: str, fmt: NoteFormat
) -> None:
    hostile = ticket(subject=f"[Re-verify SSO]({EVIL})", description=f"Log in at <{EVIL}> or {EVIL}")
    result, fake = run_pipeline(reply, ctx_ticket=hostile)
    assert len(fake.calls) == 1
    assert (result.provider, result.fallback_from, result.fallback_reason) == ("offline", "bedrock", reason)
    assert result.reasons["synthesis"] == reason
    rendered = render_note(result.markdown, fmt, footer="Ticket Enhancer · job 01JOB")
    shown = json.dumps(rendered) if fmt == "adf" else str(rendered)
    assert f"AI summary ({reason})" in shown  # "Unavailable for this note: AI summary (...)"
    assert "### AI summary" not in result.markdown
    assert "VPN troubleshooting" in shown  # the offline parts are all there
    hrefs = re.findall(r'href"?: ?"([^"]+)"', shown) if fmt != "text" else []
    assert EVIL not in " ".join(hrefs)
    assert set(hrefs) <= {SIMILAR_URL, f"{SITE}/browse/IT-8", KB_URL}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_good_answer_is_composed_with_the_offline_parts(fmt: NoteFormat) -> None:
    result, _ = run_pipeline(answer())
    assert (result.provider, result.fallback_from) == ("bedrock", None)
    markdown = result.markdown
    assert markdown.index("### AI summary") < markdown.index("### Similar tickets")
    rendered = render_note(markdown, fmt, footer="f")
    shown = json.dumps(rendered, ensure_ascii=False) if fmt == "adf" else str(rendered)
    for part in ("Likely cause", "Questions for the requester", "Suggested triage (AI)", "Network", "80 %"):
        assert part in shown, part


# --- Models of today --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "geo"),
    [
        ("us-east-1", "us"),
        ("us-west-2", "us"),
        ("us-gov-west-1", "us-gov"),
        ("eu-central-1", "eu"),
        ("eu-west-3", "eu"),
        ("ap-northeast-1", "jp"),
        ("ap-southeast-2", "au"),
        ("ap-south-1", "apac"),
        ("ca-central-1", None),
        ("", None),
    ],
)
def test_the_default_model_is_the_deployment_geographys_inference_profile(
    region: str, geo: str | None
) -> None:
    assert geography(region) == geo
    assert default_bedrock_model(region) == (f"{geo}.{DEFAULT_BASE_MODEL}" if geo else None)
    assert "claude-3" not in DEFAULT_BASE_MODEL


def test_bedrock_model_is_the_tenants_or_the_regions_default() -> None:
    provider = choose_provider(tenant({"synthesis_provider": "bedrock"}), region="eu-west-1")
    assert isinstance(provider, BedrockProvider)
    assert provider.model_id == f"eu.{DEFAULT_BASE_MODEL}"
    own = choose_provider(
        tenant({"synthesis_provider": "bedrock", "synthesis_model": "m-x"}), region="eu-west-1"
    )
    assert isinstance(own, BedrockProvider)
    assert own.model_id == "m-x"
    nowhere = choose_provider(tenant({"synthesis_provider": "bedrock"}), region="ca-central-1")
    assert isinstance(nowhere, BedrockProvider)
    assert nowhere.model_id == DEFAULT_BASE_MODEL  # no profile: the in-Region id (set synthesis_model)


def test_without_a_region_the_bedrock_clients_region_picks_the_profile() -> None:
    class Client:
        meta = SimpleNamespace(region_name="eu-central-1")

        def __init__(self) -> None:
            self.models: list[str] = []

        def converse(self, **kwargs: Any) -> dict[str, Any]:
            self.models.append(kwargs["modelId"])
            return {"output": {"message": {"content": [{"toolUse": {"input": answer()}}]}}}

    client = Client()
    provider = choose_provider(
        tenant({"synthesis_provider": "bedrock"}), bedrock_client_factory=lambda: client
    )
    assert isinstance(provider, BedrockProvider)
    result = asyncio.run(synthesize_note(provider, build_prompt(context(), site=SITE), seconds=5))
    assert result.provider == "bedrock"
    assert client.models == [f"eu.{DEFAULT_BASE_MODEL}"]


def test_an_endpoint_that_refuses_response_format_is_asked_again_without_it() -> None:
    openai_compat.NO_JSON_SCHEMA.clear()
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if "response_format" in body:
            return httpx.Response(400, json={"error": "response_format is not supported"})
        return httpx.Response(200, json={"choices": [{"message": {"content": json.dumps(answer())}}]})

    async def go() -> list[str]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            options = {"synthesis_provider": "openai", "synthesis_endpoint": "https://llm.example.com/v1"}
            provider = choose_provider(
                tenant(options | {"synthesis_model": "m"}, http), resolve=lambda h, p: ["93.184.216.34"]
            )
            prompt = build_prompt(context(), site=SITE)
            return [(await synthesize_note(provider, prompt, seconds=5)).provider for _ in range(2)]

    assert asyncio.run(go()) == ["openai", "openai"]
    assert ["response_format" in b for b in bodies] == [True, False, False]  # remembered after one refusal
    openai_compat.NO_JSON_SCHEMA.clear()


def test_the_schema_stays_in_the_subset_every_strict_mode_takes() -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            assert not {"maxLength", "minLength", "maxItems", "minimum", "maximum", "pattern"} & set(node)
            if node.get("type") == "object":
                assert node["additionalProperties"] is False
                assert set(node["required"]) == set(node["properties"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(answer_schema(TriageValues.from_context(context())))


@dataclasses.dataclass(frozen=True)
class Enriched(GatheredContext):
    """The offline parts' results as the context carries them (triage votes, duplicates)."""

    triage: Any = None
    duplicates: Any = None


def test_the_offline_triage_values_and_the_duplicates_urls_are_allowed_too() -> None:
    votes = SimpleNamespace(
        category=SimpleNamespace(value="Hardware"), priority=None, group=SimpleNamespace(value="Desk")
    )
    duplicate = IndexedTicket("77", "OTHER-77", "VPN down", url="https://other.example/OTHER-77")
    ctx = Enriched(ticket=ticket(), triage=votes, duplicates=SimpleNamespace(tickets=(duplicate,)))
    values = TriageValues.from_context(ctx)
    assert (values.category, values.group) == (("Hardware",), ("Desk",))
    text = json.dumps(
        answer(
            summary="Same as https://other.example/OTHER-77",
            triage={"group": {"value": "desk", "confidence": 1}},
        )
    )
    checked = parse_answer(text, rules(ctx))
    assert checked.triage.group.value == "Desk"
