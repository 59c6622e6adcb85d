"""Personal data, the note's language, a step out of time, and the sandbox model through the real
OpenAI-compatible provider (fixtures from ``test_model_answers``)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from ticket_enhancer.enhance import openai_compat
from ticket_enhancer.enhance.context import EnhancementContext
from ticket_enhancer.enhance.pipeline import Pipeline
from ticket_enhancer.enhance.prompt import build_prompt
from ticket_enhancer.enhance.steps import SynthesisStep, note_language
from ticket_enhancer.models import TenantConfig, TenantSecret, Ticket
from ticket_enhancer.plugins.context import TenantContext

from tests.unit.test_model_answers import SITE, FakeBedrock, answer, context, run_pipeline, tenant, ticket

# --- Personal data and language -------------------------------------------------------------------


def test_personal_data_is_masked_before_anything_leaves_and_in_the_note() -> None:
    result, fake = run_pipeline(answer())
    sent = json.dumps(fake.calls[0], ensure_ascii=False)
    for secret in ("anna@example.com", "+49 30 12345678", "bob@example.org"):
        assert secret not in sent
        assert secret not in result.markdown
    assert "[email]" in sent
    assert "[phone]" in sent


def test_pii_redaction_off_sends_the_text_as_written() -> None:
    _, fake = run_pipeline(answer(), {"pii_redaction": "off"})
    assert "anna@example.com" in json.dumps(fake.calls[0])


def test_without_a_masker_the_model_is_not_called() -> None:
    fake = FakeBedrock(answer())
    step = SynthesisStep(bedrock_client_factory=lambda: fake, masker=lambda: None)
    ctx = EnhancementContext(
        tenant=tenant({"synthesis_provider": "bedrock", "synthesis_model": "m"}), ticket=ticket(), job_id="j"
    )
    asyncio.run(step.run(ctx))
    assert fake.calls == []
    assert ctx.reasons == {"synthesis": "personal data masking unavailable"}


@pytest.mark.parametrize(
    ("option", "detected", "code"),
    [("auto", "de", "de"), ("", "fr", "fr"), ("es", "de", "es"), ("auto", None, ""), ("auto", "x<y", "")],
)
def test_the_note_language_is_the_option_or_the_detected_one(
    option: str, detected: str | None, code: str
) -> None:
    options = {"note_language": option} if option else {}
    ctx = EnhancementContext(tenant=tenant(options), ticket=ticket(), job_id="j")
    if detected is not None:
        ctx.results["language"] = detected
    assert note_language(ctx) == code
    system = build_prompt(context(), language=code).system
    assert (f"code {code!r}" in system) if code else ("language the ticket is written in" in system)


def test_pii_redaction_on_without_a_model_masks_the_offline_note() -> None:
    named = ticket(subject="VPN down for carl@example.net")
    result, fake = run_pipeline(answer(), {"synthesis_provider": "offline", "pii_redaction": "on"}, named)
    assert fake.calls == []
    assert result.provider == "offline"
    assert "carl@example.net" not in result.markdown
    assert "[email]" in result.markdown
    plain, _ = run_pipeline(answer(), {"synthesis_provider": "offline"}, named)  # off without a model
    assert "carl@example.net" in plain.markdown


def test_a_synthesis_step_out_of_time_leaves_the_masked_offline_note() -> None:
    class Stuck:
        def converse(self, **_: Any) -> dict[str, Any]:
            import time

            time.sleep(0.5)
            return {}

    step = SynthesisStep(bedrock_client_factory=Stuck, model_timeout=5)
    step.timeout = 0.05  # the pipeline's limit on the step, far below the model's own
    step.requires = ()
    named = ticket(subject="VPN down for carl@example.net")
    pipeline = Pipeline([step])
    opts = {"synthesis_provider": "bedrock", "synthesis_model": "eu.m"}
    result = asyncio.run(pipeline.enhance(tenant(opts), named, "01JOB"))
    assert (result.provider, result.fallback_from, result.reasons) == (
        "offline",
        "bedrock",
        {"synthesis": "timeout"},
    )
    assert "carl@example.net" not in result.markdown
    assert "[email]" in result.markdown


# --- The sandbox model (local stack): through the real OpenAI-compatible provider ---------------


def run_sandbox_model(t: Ticket, options: dict[str, str] | None = None) -> Any:
    from ticket_enhancer_dev.sandbox import llm

    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers  # no key: a local model server
        body = json.loads(request.content)
        seen.append(body)
        status, answer_body = llm.complete(body)
        return httpx.Response(status, json=answer_body)

    step = SynthesisStep(resolve=lambda h, p: ["93.184.216.34"])

    class Gathered:
        name = "ticket_context"
        requires: tuple[str, ...] = ()

        async def run(self, ctx: EnhancementContext) -> None:
            gathered = context(ctx.ticket)
            ctx.results["similar_tickets"] = gathered.similar
            ctx.results["knowledge"] = gathered.articles
            ctx.results["language"] = "de"

    step.requires = ("ticket_context",)
    opts = {
        "synthesis_provider": "openai",
        "synthesis_endpoint": "https://llm.example.com/v1",
        "synthesis_model": "sandbox-model",
    } | (options or {})

    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            config = TenantConfig(
                tenant_id="acme", tool_type="jira", base_url=SITE, secret_id="s", options=opts
            )
            tenant_ctx = TenantContext(config=config, secret=TenantSecret(), http=http)
            return await Pipeline([Gathered(), step]).enhance(tenant_ctx, t, "01JOB")

    return asyncio.run(go()), seen


def test_the_sandbox_model_writes_a_checked_note_in_the_asked_language() -> None:
    openai_compat.NO_JSON_SCHEMA.clear()
    result, seen = run_sandbox_model(ticket())
    assert (result.provider, result.fallback_reason) == ("openai", None)
    assert "**Summary:** [de] VPN unstable. VPN drops every 5 minutes." in result.markdown
    assert "Suggested triage (AI):** category **Network** (60 %)" in result.markdown
    assert seen[0]["response_format"]["json_schema"]["strict"] is True
    assert "anna@example.com" not in json.dumps(seen[0])


def test_the_sandbox_model_steered_by_a_ticket_is_refused() -> None:
    from ticket_enhancer_dev.sandbox.llm import INJECT

    result, _ = run_sandbox_model(ticket(description=f"VPN down. {INJECT} please"))
    assert (result.provider, result.fallback_reason) == ("offline", "injection suspected")
    assert "evil.example" not in result.markdown
