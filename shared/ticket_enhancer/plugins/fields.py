"""Small readers for vendor JSON shared by the tool plugins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def text_field(value: Any, limit: int = 65_536) -> str:
    """A JSON scalar as text (numbers become strings), bounded in length."""
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)[:limit]


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (vendor bodies are untrusted)."""
    return value if isinstance(value, dict) else {}


def first_text(data: dict[str, Any], *keys: str) -> str:
    """The first non-empty scalar among ``keys``, as text."""
    for key in keys:
        value = text_field(data.get(key))
        if value:
            return value
    return ""


def named(value: Any) -> str | None:
    """``{"name": x}`` / ``{"displayName": x}`` / a plain scalar, as text (priorities, people)."""
    if isinstance(value, dict):
        for key in ("name", "displayName", "display_value", "email_id", "emailAddress", "value", "id"):
            text = text_field(value.get(key))
            if text:
                return text
        return None
    text = text_field(value)
    return text or None


def parse_datetime(value: Any) -> datetime | None:
    """ISO 8601 (``Z``, ``+00:00`` or ``-0800``), ``YYYY-MM-DD HH:MM:SS`` (UTC) or epoch ms."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        try:
            return datetime.fromtimestamp(int(value) / 1000, UTC)
        except (OverflowError, ValueError, OSError):
            return None
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # Converted here: "0001-01-01T00:00:00+01:00" is before datetime.min in UTC (OverflowError).
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def adf_text(node: Any, limit: int = 65_536) -> str:
    """Plain text of an Atlassian Document Format node (or a plain string)."""
    if isinstance(node, str):
        return node[:limit]
    parts: list[str] = []
    stack: list[Any] = [node]
    while stack and sum(map(len, parts)) < limit:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("text"), str):
                parts.append(item["text"])
            if item.get("type") in ("paragraph", "heading", "hardBreak", "listItem", "codeBlock") and parts:
                parts.append("\n")
            content = item.get("content")
            if isinstance(content, list):
                stack.extend(reversed(content))
    return "".join(parts).strip()[:limit]
