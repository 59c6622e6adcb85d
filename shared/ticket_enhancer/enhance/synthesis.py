"""Synthesis providers: the offline note, Amazon Bedrock (Converse) and OpenAI-compatible APIs.

Model output is untrusted markdown: it is cut to :data:`MAX_OUTPUT_CHARS` and passed through
:func:`~ticket_enhancer.render.untrusted` here (so no link in it is ever live) and sanitised by the
renderer downstream. :func:`synthesize_note` never fails: any provider error or timeout yields the
offline note and records which provider failed and why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ticket_enhancer.enhance.errors import SynthesisError
from ticket_enhancer.enhance.note import compose_offline_note
from ticket_enhancer.enhance.openai_compat import (
    DEFAULT_TIMEOUT,
    MAX_TOKENS,
    TEMPERATURE,
    OpenAICompatibleProvider,
)
from ticket_enhancer.enhance.prompt import Prompt, build_prompt
from ticket_enhancer.render import untrusted
from ticket_enhancer.urls import system_resolve

if TYPE_CHECKING:
    from ticket_enhancer.plugins.context import TenantContext
    from ticket_enhancer.urls import Resolver

__all__ = [
    "DEFAULT_BEDROCK_MODEL",
    "DEFAULT_TIMEOUT",
    "MAX_OUTPUT_CHARS",
    "BedrockProvider",
    "OfflineProvider",
    "OpenAICompatibleProvider",
    "Prompt",
    "SynthesisError",
    "SynthesisProvider",
    "SynthesisResult",
    "build_prompt",
    "choose_provider",
    "default_bedrock_client",
    "limit_output",
    "synthesize_note",
]

logger = logging.getLogger(__name__)

MAX_OUTPUT_CHARS = 8_000
DEFAULT_BEDROCK_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
TRUNCATED = "\n\n…(truncated)"


class SynthesisProvider(Protocol):
    @property
    def name(self) -> str: ...

    async def synthesize(self, prompt: Prompt) -> str: ...


def limit_output(text: str) -> str:
    """Model output cut to :data:`MAX_OUTPUT_CHARS`: untrusted markdown that makes no link."""
    text = untrusted(text).replace("\x00", "").strip()
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    return text[: MAX_OUTPUT_CHARS - len(TRUNCATED)].rstrip() + TRUNCATED


class OfflineProvider:
    """No model: the structured note from the gathered context."""

    name = "offline"

    async def synthesize(self, prompt: Prompt) -> str:
        return compose_offline_note(prompt.context)


class BedrockProvider:
    """Amazon Bedrock Runtime ``converse`` with the botocore client ``factory`` returns (on first use)."""

    name = "bedrock"

    def __init__(
        self,
        client_factory: Callable[[], Any],
        *,
        model_id: str = DEFAULT_BEDROCK_MODEL,
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        self._factory = client_factory
        self._client: Any = None
        self.model_id = model_id
        self.max_tokens = max_tokens

    def _converse(self, prompt: Prompt) -> str:
        from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

        if self._client is None:
            self._client = self._factory()
        try:
            response = self._call(prompt)
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            raise TimeoutError("Bedrock converse timed out") from exc
        try:
            blocks = response["output"]["message"]["content"]
            text = "".join(
                b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str)
            )
        except (KeyError, TypeError) as exc:
            raise SynthesisError("Bedrock returned an unexpected response shape") from exc
        return text

    def _call(self, prompt: Prompt) -> Any:
        return self._client.converse(
            modelId=self.model_id,
            system=[{"text": prompt.system}],
            messages=[{"role": "user", "content": [{"text": prompt.user}]}],
            inferenceConfig={"maxTokens": self.max_tokens, "temperature": TEMPERATURE},
        )

    async def synthesize(self, prompt: Prompt) -> str:
        return await asyncio.to_thread(self._converse, prompt)


@dataclass(frozen=True, slots=True)
class SynthesisResult:
    """The note's markdown, the provider that wrote it and, after a fallback, what failed."""

    markdown: str
    provider: str
    fallback_from: str | None = None
    fallback_reason: str | None = None


async def synthesize_note(provider: SynthesisProvider, prompt: Prompt, *, seconds: float) -> SynthesisResult:
    """The provider's note, or the offline note if it fails, times out or returns nothing."""
    offline = OfflineProvider()
    if provider.name == offline.name:
        return SynthesisResult(await offline.synthesize(prompt), offline.name)
    try:
        async with asyncio.timeout(seconds):
            text = limit_output(await provider.synthesize(prompt))
        if not text:
            raise SynthesisError("empty output")
        return SynthesisResult(text, provider.name)
    except TimeoutError:
        reason = "timeout"
    except Exception as exc:  # any provider failure means the offline note, never a lost note
        reason = "error"
        logger.warning(
            "synthesis provider %s failed (%s): falling back to the offline note",
            provider.name,
            type(exc).__name__,
        )
    return SynthesisResult(await offline.synthesize(prompt), offline.name, provider.name, reason)


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
) -> SynthesisProvider:
    """The tenant's provider from ``options["synthesis_provider"]`` (offline|bedrock|openai);
    ``local`` (the local stack, ``Settings.local``) lets an OpenAI-compatible endpoint be loopback."""
    options = tenant.config.options
    kind = options.get("synthesis_provider", "offline").strip().lower()
    model = options.get("synthesis_model", "").strip()
    if kind == "bedrock":
        factory = bedrock_client_factory or default_bedrock_client
        return BedrockProvider(factory, model_id=model or DEFAULT_BEDROCK_MODEL)
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
