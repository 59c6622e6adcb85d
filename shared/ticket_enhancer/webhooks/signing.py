"""Produce the headers a tool would send: for `ticket-enhancer sign`, `events/` and tests."""

from __future__ import annotations

import time

from ticket_enhancer.webhooks import schemes


def find_scheme(mode: str, tool: str | None = None) -> schemes.WebhookScheme:
    """The scheme named ``mode``: as ``tool``'s plugin supports it, or (no tool) among the
    built-in schemes and those every registered plugin declares. ``ValueError`` when unknown."""
    from ticket_enhancer.plugins.registry import PluginManager, webhook_schemes

    if tool is not None:
        found = PluginManager().get_plugin(tool).webhook_scheme(mode)
        if found is None:
            raise ValueError(f"auth mode {mode!r} is not supported by {tool}")
        return found
    if mode in schemes.BUILTIN_SCHEMES:
        return schemes.BUILTIN_SCHEMES[mode]
    known = webhook_schemes()
    if mode not in known:
        raise ValueError(f"unknown auth mode {mode!r}; known: {', '.join(sorted(known))}")
    return known[mode]


def sign(
    mode: str,
    body: bytes,
    secret: str,
    *,
    now: float | None = None,
    delivery_id: str | None = None,
    tool: str | None = None,
) -> dict[str, str]:
    """Headers (canonical capitalisation) authenticating ``body`` under ``mode`` (``tool``'s
    scheme of that name when given)."""
    when = time.time() if now is None else now
    return find_scheme(mode, tool).sign(body, secret, when, delivery_id)
