"""Webhook bodies as JSON objects: UTF-8, RFC 8259 (no NaN or Infinity), bounded nesting."""

from __future__ import annotations

import json
from typing import Any

from ticket_enhancer.plugins.errors import WebhookPayloadError

__all__ = ["MAX_JSON_DEPTH", "decode_json"]

MAX_JSON_DEPTH = 64


def _check_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise WebhookPayloadError(f"JSON nested deeper than {limit} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def _not_json(constant: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity``: Python's json accepts them, JSON (RFC 8259) does not."""
    raise ValueError(f"{constant} is not JSON")


def decode_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or ``WebhookPayloadError`` saying what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookPayloadError("body is not UTF-8") from None
    try:
        payload = json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):  # JSONDecodeError, or an integer over Python's digit limit
        raise WebhookPayloadError("body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise WebhookPayloadError("body must be a JSON object")
    _check_depth(payload)
    return payload
