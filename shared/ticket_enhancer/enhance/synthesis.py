"""Synthesis providers: the offline note, Amazon Bedrock (Converse) and OpenAI-compatible APIs.

Model output is an untrusted JSON answer (``model_output``): checked, then composed as plain text
with the offline note's parts (``model_note``), so no link in it is ever live; the renderer sanitises
it all again downstream. :func:`synthesize_note` never fails: any provider error, timeout, throttle
or refused answer yields the offline note and records which provider failed and why.

The model side's answer checks, note composition and prompt (``model_output``, ``model_note``,
``prompt``) are imported when a model is called, not at init: the default provider is the offline
note, which needs none of them (``tests/unit/test_worker_init.py`` pins the worker's init imports).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ticket_enhancer.enhance.bedrock import BedrockProvider, default_bedrock_model
from ticket_enhancer.enhance.errors import ModelThrottledError, SynthesisError
from ticket_enhancer.enhance.note import compose_offline_note
from ticket_enhancer.enhance.openai_compat import DEFAULT_TIMEOUT, OpenAICompatibleProvider
from ticket_enhancer.enhance.records import ModelReply
from ticket_enhancer.urls import system_resolve

if TYPE_CHECKING:
    from ticket_enhancer.enhance.model_output import MAX_ANSWER_CHARS as MAX_OUTPUT_CHARS
    from ticket_enhancer.enhance.prompt import Prompt, build_prompt
    from ticket_enhancer.plugins.context import TenantContext
    from ticket_enhancer.urls import Resolver

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_OUTPUT_CHARS",
    "BedrockProvider",
    "ModelReply",
    "OfflineProvider",
    "OpenAICompatibleProvider",
    "Prompt",
    "SynthesisError",
    "SynthesisProvider",
    "SynthesisResult",
    "build_prompt",
    "choose_provider",
    "default_bedrock_client",
    "default_bedrock_model",
    "synthesize_note",
]

logger = logging.getLogger(__name__)


def __getattr__(name: str) -> Any:
    """The model side's names this module re-exports, imported on first use (see the docstring)."""
    if name == "MAX_OUTPUT_CHARS":  # a longer answer is refused ("too long"), never cut
        from ticket_enhancer.enhance.model_output import MAX_ANSWER_CHARS

        return MAX_ANSWER_CHARS
    if name in ("Prompt", "build_prompt"):
        from ticket_enhancer.enhance import prompt

        return getattr(prompt, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class SynthesisProvider(Protocol):
    @property
    def name(self) -> str: ...

    async def synthesize(self, prompt: Prompt) -> ModelReply: ...


class OfflineProvider:
    """No model: the structured note from the gathered context."""

    name = "offline"

    async def synthesize(self, prompt: Prompt) -> ModelReply:
        return ModelReply(compose_offline_note(prompt.context))


@dataclass(frozen=True, slots=True)
class SynthesisResult:
    """The note's markdown, the provider that wrote it and, after a fallback, what failed.

    ``tokens`` counts what the model call used (charged to the tenant's daily budget even when its
    answer was refused)."""

    markdown: str
    provider: str
    fallback_from: str | None = None
    fallback_reason: str | None = None
    tokens: int = 0


async def synthesize_note(
    provider: SynthesisProvider, prompt: Prompt, *, seconds: float, offline: str | None = None
) -> SynthesisResult:
    """The model's checked parts with the offline note, or the offline note alone when the provider
    fails, times out, is throttled or answers something that fails a check (``model_output``).

    ``offline`` is the offline note of ``prompt.context`` when the caller has composed it already."""
    offline = compose_offline_note(prompt.context) if offline is None else offline
    if provider.name == OfflineProvider.name:
        return SynthesisResult(offline, OfflineProvider.name)
    from ticket_enhancer.enhance.model_note import compose_model_note
    from ticket_enhancer.enhance.model_output import ModelOutputError, parse_answer

    tokens = 0
    try:
        async with asyncio.timeout(seconds):
            reply = await provider.synthesize(prompt)
        tokens = reply.tokens
        answer = parse_answer(reply.text, prompt.rules)
        return SynthesisResult(compose_model_note(answer, offline), provider.name, tokens=tokens)
    except ModelOutputError as exc:
        reason = exc.reason
        logger.warning("synthesis provider %s: answer refused (%s)", provider.name, exc)
    except ModelThrottledError:
        reason = "throttled"
        logger.warning("synthesis provider %s throttled: the offline note", provider.name)
    except TimeoutError:
        reason = "timeout"
    except Exception as exc:  # any provider failure means the offline note, never a lost note
        reason = "error"
        logger.warning(
            "synthesis provider %s failed (%s): falling back to the offline note",
            provider.name,
            type(exc).__name__,
        )
    return SynthesisResult(offline, OfflineProvider.name, provider.name, reason, tokens)


def default_bedrock_client() -> Any:
    """A new Bedrock Runtime client with the worker's timeouts."""
    from ticket_enhancer import aws

    return aws.bedrock_runtime()


def choose_provider(
    tenant: TenantContext,
    *,
    bedrock_client_factory: Callable[[], Any] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    local: bool = False,
    resolve: Resolver | None = None,
    region: str | None = None,
) -> SynthesisProvider:
    """The tenant's provider from ``options["synthesis_provider"]`` (offline|bedrock|openai);
    ``local`` (the local stack, ``Settings.local``) lets an OpenAI-compatible endpoint be loopback.

    Bedrock's model is the tenant's ``synthesis_model`` or the default geographic inference profile
    of ``region`` (default: the Bedrock client's, which is the deployment's)."""
    options = tenant.config.options
    kind = options.get("synthesis_provider", "offline").strip().lower()
    model = options.get("synthesis_model", "").strip()
    if kind == "bedrock":
        factory = bedrock_client_factory or default_bedrock_client
        return BedrockProvider(factory, model_id=model or None, region=region)
    if kind == "openai":
        key = tenant.secret.llm_api_key
        return OpenAICompatibleProvider(
            tenant.http,
            options.get("synthesis_endpoint", "").strip(),
            key.get_secret_value() if key is not None else None,
            model,
            timeout=timeout,
            local=local,
            resolve=resolve or system_resolve,
        )
    if kind != "offline":
        logger.warning("tenant %s: unknown synthesis_provider %r, using offline", tenant.tenant_id, kind)
    return OfflineProvider()
