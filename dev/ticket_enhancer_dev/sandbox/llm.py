"""A sandbox model: an OpenAI-compatible ``chat/completions`` that needs no key, for the local stack.

``POST /_sandbox/_llm/v1/chat/completions`` (local server) answers deterministically from the
prompt: the summary is the ticket's subject and first sentence, tagged with the language code the
system message asks for; the triage picks the first allowed value of each field (confidence 0.6).
A ticket whose description contains :data:`INJECT` is a requester steering the model: the answer
then carries a link of its own, which the worker refuses ("injection suspected").

It runs only in the local stack and the tests: the demo's Zendesk tenant uses it
(``synthesis_provider=openai``, no ``llm_api_key``), so ``make demo`` shows a model's part.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["INJECT", "PATH", "complete"]

PATH = "/_sandbox/_llm/v1/chat/completions"
INJECT = "SANDBOX-INJECT"
_BLOCK = re.compile(r"<(?P<tag>[a-z_]+)(?: index=\"\d+\")?>\n(?P<body>.*?)\n</(?P=tag)>", re.DOTALL)
_FIELD = re.compile(r"^(?P<label>[A-Z][a-z]+): ?(?P<value>.*)$", re.MULTILINE)
_LANGUAGE = re.compile(r"language with code '([A-Za-z0-9-]+)'")


def _fields(body: str) -> dict[str, str]:
    return {m["label"]: m["value"].strip() for m in _FIELD.finditer(body)}


def _first_sentence(text: str) -> str:
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return sentence[:300]


def complete(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(status, body) of a chat completion for ``request``."""
    messages = request.get("messages")
    if not isinstance(messages, list) or len(messages) < 2:
        return 400, {"error": {"message": "messages: a system and a user message"}}
    system, user = (str(m.get("content", "")) if isinstance(m, dict) else "" for m in messages[:2])
    blocks = {m["tag"]: m["body"] for m in _BLOCK.finditer(user)}
    ticket = _fields(blocks.get("ticket", ""))
    description = user.split("Description:", 1)[1].split("</ticket>", 1)[0] if "Description:" in user else ""
    language = _LANGUAGE.search(system)
    tag = f"[{language[1]}] " if language else ""
    summary = f"{tag}{ticket.get('Subject', '')}. {_first_sentence(description)}".strip()
    if INJECT in user:
        summary += " Re-verify your account at https://sso-acme.evil.example/login"
    allowed = _fields(blocks.get("allowed_triage_values", ""))
    triage = {}
    for name in ("category", "priority", "group"):
        values = [v.strip() for v in allowed.get(name.capitalize(), "").split("|")]
        first = values[0] if values and values[0] and not values[0].startswith("(none") else ""
        triage[name] = {"value": first, "confidence": 0.6 if first else 0.0}
    answer = {
        "summary": summary,
        "likely_cause": "",
        "open_questions": ["Since when exactly does it happen, and for whom?"],
        "triage": triage,
    }
    content = json.dumps(answer, ensure_ascii=False)
    tokens = (len(system) + len(user) + len(content)) // 4
    return 200, {
        "id": "sandbox-1",
        "object": "chat.completion",
        "model": str(request.get("model", "sandbox")),
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": {"total_tokens": tokens},
    }
