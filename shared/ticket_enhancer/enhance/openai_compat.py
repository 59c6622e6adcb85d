"""An OpenAI-compatible chat completions provider (OpenAI, Azure-style gateways, vLLM, Ollama...).

``POST {endpoint}/chat/completions`` through the shared ``httpx.AsyncClient`` with the tenant's
``llm_api_key`` as a bearer token, or no ``Authorization`` header at all when the tenant has none
(a local model server that needs no key). The response is read with a size cap; redirects are not
followed.

Structured output: the request carries ``response_format`` ``{"type": "json_schema", ...}`` (strict)
with the answer's schema. An endpoint that rejects it (HTTP 400/422: older servers, models without
it) is asked once more without it (the prompt itself asks for JSON), and that endpoint and model
are remembered for the container's life so later notes skip the refused attempt. HTTP 429 is
``ModelThrottledError``.
The endpoint is the tenant's choice, so (outside the local stack) its host must resolve to public
addresses only, and the call connects to the address checked, as for on-prem vendor hosts.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ticket_enhancer.enhance.errors import ModelThrottledError, SynthesisError
from ticket_enhancer.enhance.records import ModelReply
from ticket_enhancer.urls import BaseUrlError, Resolver, check_resolved_host, system_resolve

if TYPE_CHECKING:
    import httpx

    from ticket_enhancer.enhance.prompt import Prompt

__all__ = ["OpenAICompatibleProvider", "check_endpoint"]

MAX_RESPONSE_BYTES = 512_000
MAX_TOKENS = 1_500  # the JSON answer: summary, cause, questions, triage (German takes more tokens)
TEMPERATURE = 0.2
DEFAULT_TIMEOUT = 20.0
NO_JSON_SCHEMA: set[tuple[str, str]] = set()  # (endpoint, model) pairs that refused response_format
_MAX_REMEMBERED = 256


class _FormatRefusedError(SynthesisError):
    """The endpoint answered 400/422 to a request with ``response_format``."""


def check_endpoint(url: str, *, local: bool = False) -> str:
    """The endpoint without a trailing slash: https, no credentials/query; http only to loopback
    when the stack runs locally. Raises ``SynthesisError``."""
    if not url or any(c.isspace() for c in url):
        raise SynthesisError("synthesis_endpoint is missing or malformed")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise SynthesisError("synthesis_endpoint is malformed") from exc
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password or parts.query or parts.fragment:
        raise SynthesisError("synthesis_endpoint must be a plain URL with a host")
    loopback = host in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (local and loopback and parts.scheme == "http"):
        raise SynthesisError("synthesis_endpoint must use https")
    return url.rstrip("/")


class OpenAICompatibleProvider:
    """``POST {endpoint}/chat/completions`` with a bearer key, through the shared httpx client."""

    name = "openai"

    def __init__(
        self,
        http: httpx.AsyncClient | None,
        endpoint: str,
        api_key: str | None,
        model: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        local: bool = False,
        resolve: Resolver = system_resolve,
    ) -> None:
        self._http = http
        self._resolve = resolve
        self._endpoint = endpoint
        self._api_key = api_key
        self.model = model
        self.timeout = timeout
        self._local = local

    def __repr__(self) -> str:  # never print the key
        return f"OpenAICompatibleProvider(endpoint={self._endpoint!r}, model={self.model!r})"

    async def synthesize(self, prompt: Prompt) -> ModelReply:
        if self._http is None:
            raise SynthesisError("no HTTP client")
        if not self.model:
            raise SynthesisError("synthesis_model is not configured")
        url = check_endpoint(self._endpoint, local=self._local) + "/chat/completions"
        remembered = (self._endpoint, self.model)
        if prompt.schema and remembered not in NO_JSON_SCHEMA:
            try:
                return await self._complete(self._http, url, prompt, structured=True)
            except _FormatRefusedError:
                if len(NO_JSON_SCHEMA) < _MAX_REMEMBERED:
                    NO_JSON_SCHEMA.add(remembered)
        return await self._complete(self._http, url, prompt, structured=False)

    async def _complete(
        self, http: httpx.AsyncClient, url: str, prompt: Prompt, *, structured: bool
    ) -> ModelReply:
        import httpx

        body: dict[str, object] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ],
            "max_tokens": MAX_TOKENS,
            "temperature": TEMPERATURE,
        }
        if structured:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "ticket_note", "strict": True, "schema": prompt.schema},
            }
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        extensions: dict[str, str] = {}
        if not self._local:
            url, headers["Host"], extensions["sni_hostname"] = await self._pin(url)
        timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0))
        try:
            data = await self._post(http, url, body, headers, timeout, extensions, structured=structured)
        except httpx.TimeoutException as exc:
            raise TimeoutError("chat/completions timed out") from exc
        try:
            answer = json.loads(data)
            content = answer["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise SynthesisError("chat/completions returned an unexpected response shape") from exc
        if not isinstance(content, str):
            raise SynthesisError("chat/completions returned no text")
        usage = answer.get("usage")
        tokens = usage.get("total_tokens", 0) if isinstance(usage, dict) else 0
        return ModelReply(content, tokens if isinstance(tokens, int) and tokens > 0 else 0)

    async def _pin(self, url: str) -> tuple[str, str, str]:
        """``url`` aimed at its host's address, checked to be public (``plugins.http.pinned``)."""
        from ticket_enhancer.plugins.http import pinned

        try:
            address = await asyncio.to_thread(check_resolved_host, url, self._resolve)
        except BaseUrlError as exc:
            raise SynthesisError(f"synthesis_endpoint refused: {exc}") from None
        return pinned(url, address)

    @staticmethod
    async def _post(  # noqa: PLR0917 (one call's parts)
        http: httpx.AsyncClient,
        url: str,
        body: dict[str, object],
        headers: dict[str, str],
        limits: httpx.Timeout,
        extensions: dict[str, str],
        *,
        structured: bool = False,
    ) -> bytes:
        """The response body of a 200 answer, read up to :data:`MAX_RESPONSE_BYTES`."""
        data = bytearray()
        async with http.stream(
            "POST",
            url,
            json=body,
            headers=headers,
            timeout=limits,
            follow_redirects=False,
            extensions=extensions,
        ) as response:
            if response.status_code == 429:
                raise ModelThrottledError("chat/completions answered HTTP 429")
            if structured and response.status_code in (400, 422):
                status = response.status_code
                raise _FormatRefusedError(f"chat/completions refused response_format (HTTP {status})")
            if response.status_code != 200:
                raise SynthesisError(f"chat/completions answered HTTP {response.status_code}")
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > MAX_RESPONSE_BYTES:
                    raise SynthesisError("chat/completions response is too large")
        return bytes(data)
