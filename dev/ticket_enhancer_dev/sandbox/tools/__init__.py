"""The sandbox's tools: one module per tool, ``ticket_enhancer_dev.sandbox.tools.<tool>``, found by name
for every tool the plugin registry knows, so adding a tool edits no shared sandbox file.

A tool module defines:

``SEED_TICKET``
    one realistic incident in the tool's own JSON shape (``sandbox.incident``'s text);
``route(data: ToolData, call: Call) -> Answer``
    the tool's REST API as the plugin calls it (``call.path`` relative to the base URL), faithful
    to the vendor: its paths, methods, body shapes, status codes and error bodies;
``webhook_body(ticket, tenant_id) -> dict``
    what the tool (or its admin's template) sends when ``ticket`` is created;

and, when they differ from the defaults:

``ID_FIELD`` (``"id"``)
    the field holding the ticket id (ServiceNow: ``sys_id``);
``KEYS`` (``()``)
    other fields a ticket can be addressed by (Jira's key, ServiceNow's number);
``renamed(ticket, ticket_id)``
    what else changes when the seed ticket is copied under another id (Jira: the key).
"""

from __future__ import annotations

import functools
import importlib

from ticket_enhancer_dev.sandbox.model import SandboxTool

__all__ = ["SandboxTool", "available", "load"]


@functools.cache
def load(tool: str) -> SandboxTool | None:
    """The tool's sandbox module, read into a ``SandboxTool``; None when the tool has none."""
    if not tool.isidentifier():
        return None
    name = f"{__name__}.{tool}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise
    return SandboxTool(
        name=tool,
        seed_ticket=module.SEED_TICKET,
        route=module.route,
        webhook_body=module.webhook_body,
        id_field=getattr(module, "ID_FIELD", "id"),
        keys=tuple(getattr(module, "KEYS", ())),
        renamed=getattr(module, "renamed", None),
    )


def available() -> dict[str, SandboxTool]:
    """Every registered tool that has a sandbox module, in the registry's order."""
    from ticket_enhancer.plugins.registry import known_tools

    return {tool: found for tool in known_tools() if (found := load(tool)) is not None}
