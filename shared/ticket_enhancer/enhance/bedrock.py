"""Amazon Bedrock Runtime ``Converse`` with structured output (a forced tool call).

The default model is a current Claude model through the *geographic* cross-Region inference
profile of the deployment's own region (data residency: requests stay in that geography), its
prefix taken from the region: ``us-*`` -> ``us.``, ``us-gov-*`` -> ``us-gov.``, ``eu-*`` -> ``eu.``,
Tokyo/Osaka -> ``jp.``, Sydney/Melbourne -> ``au.``, other ``ap-*`` -> ``apac.`` (AWS's
"Supported cross-Region inference profiles" and the Claude Haiku 4.5 model card list the profiles
``us.``/``eu.``... ``anthropic.claude-haiku-4-5-20251001-v1:0``). Claude 4.5 models are offered on
demand only through an inference profile. A region of no known geography (``ca-``, ``sa-``,
``me-``...) gets no profile: the in-Region model id is tried (and the log says to set
``synthesis_model``, a profile id or ARN); if Bedrock refuses it, the note is the offline one. A
tenant's ``synthesis_model`` always wins. The region is the Bedrock client's (made with the
function's own ``AWS_REGION``), unless given.

The answer is asked as the input of the ``ticket_note`` tool whose input schema is the answer's JSON
schema (``toolChoice`` forces the call); a reply with text instead is still parsed as JSON, and
checked either way by ``model_output.parse_answer``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.errors import ModelThrottledError, SynthesisError
from ticket_enhancer.enhance.openai_compat import MAX_TOKENS, TEMPERATURE
from ticket_enhancer.enhance.records import ModelReply

if TYPE_CHECKING:
    from ticket_enhancer.enhance.prompt import Prompt

__all__ = [
    "DEFAULT_BASE_MODEL",
    "TOOL_NAME",
    "BedrockProvider",
    "default_bedrock_model",
    "geography",
]

logger = logging.getLogger(__name__)

DEFAULT_BASE_MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"
TOOL_NAME = "ticket_note"
THROTTLED = frozenset({"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"})
_JAPAN = ("ap-northeast-1", "ap-northeast-3")
_AUSTRALIA = ("ap-southeast-2", "ap-southeast-4")


def geography(region: str) -> str | None:
    """The inference profile prefix of ``region`` (``us``, ``eu``, ``apac``...), or None."""
    region = region.strip().lower()
    if region.startswith("us-gov-"):
        return "us-gov"
    if region in _JAPAN:
        return "jp"
    if region in _AUSTRALIA:
        return "au"
    for prefix, geo in (("us-", "us"), ("eu-", "eu"), ("ap-", "apac")):
        if region.startswith(prefix):
            return geo
    return None


def default_bedrock_model(region: str) -> str | None:
    """The default model id for a deployment in ``region``: the geographic profile, or None."""
    geo = geography(region)
    return f"{geo}.{DEFAULT_BASE_MODEL}" if geo else None


class BedrockProvider:
    """Bedrock ``converse`` with the botocore client ``factory`` returns (made on first use)."""

    name = "bedrock"

    def __init__(
        self,
        client_factory: Callable[[], Any],
        *,
        model_id: str | None = None,
        max_tokens: int = MAX_TOKENS,
        region: str | None = None,
    ) -> None:
        self._factory = client_factory
        self._client: Any = None
        self.region = region  # None: the client's
        self.model_id = model_id or (self._default_model(region) if region is not None else "")
        self.max_tokens = max_tokens

    @staticmethod
    def _default_model(region: str) -> str:
        profile = default_bedrock_model(region)
        if profile is None:
            logger.warning("no geographic inference profile for region %r: set synthesis_model", region)
            return DEFAULT_BASE_MODEL
        return profile

    def _converse(self, prompt: Prompt) -> ModelReply:
        from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

        if self._client is None:
            self._client = self._factory()
        if not self.model_id:  # the deployment's region, as the client was made for it
            region = getattr(getattr(self._client, "meta", None), "region_name", None)
            self.model_id = self._default_model(region if isinstance(region, str) else "")
        try:
            response = self._call(prompt)
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            raise TimeoutError("Bedrock converse timed out") from exc
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in THROTTLED:
                raise ModelThrottledError("Bedrock throttled the call") from None
            raise
        return _reply(response)

    def _call(self, prompt: Prompt) -> Any:
        request: dict[str, Any] = {
            "modelId": self.model_id,
            "system": [{"text": prompt.system}],
            "messages": [{"role": "user", "content": [{"text": prompt.user}]}],
            "inferenceConfig": {"maxTokens": self.max_tokens, "temperature": TEMPERATURE},
        }
        if prompt.schema:
            request["toolConfig"] = {
                "tools": [
                    {
                        "toolSpec": {
                            "name": TOOL_NAME,
                            "description": "Record the internal note for the ticket.",
                            "inputSchema": {"json": prompt.schema},
                        }
                    }
                ],
                "toolChoice": {"tool": {"name": TOOL_NAME}},
            }
        return self._client.converse(**request)

    async def synthesize(self, prompt: Prompt) -> ModelReply:
        return await asyncio.to_thread(self._converse, prompt)


def _reply(response: Any) -> ModelReply:
    """The tool call's input as JSON (or the text blocks) and the tokens used."""
    try:
        blocks = response["output"]["message"]["content"]
        blocks = [b for b in blocks if isinstance(b, dict)]
        tool_inputs = [b["toolUse"]["input"] for b in blocks if isinstance(b.get("toolUse"), dict)]
        if tool_inputs:
            text = json.dumps(tool_inputs[0], ensure_ascii=False)
        else:
            text = "".join(b["text"] for b in blocks if isinstance(b.get("text"), str))
    except (KeyError, TypeError) as exc:
        raise SynthesisError("Bedrock returned an unexpected response shape") from exc
    usage = response.get("usage") if isinstance(response, dict) else None
    tokens = usage.get("totalTokens", 0) if isinstance(usage, dict) else 0
    return ModelReply(text, tokens if isinstance(tokens, int) and tokens > 0 else 0)
