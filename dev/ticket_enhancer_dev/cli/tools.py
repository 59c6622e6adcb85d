"""The tools the CLI knows: the plugin registry's built-ins and every entry-point plugin installed
where the CLI runs (a tool shipped as its own package is onboarded like a built-in; functions scan
entry points only when their template says so, ``TICKET_ENHANCER_ENTRY_POINTS=1``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ticket_enhancer_dev.cli.errors import CliError

if TYPE_CHECKING:
    from ticket_enhancer.plugins.base import TicketingToolPlugin


def known_tools() -> list[str]:
    from ticket_enhancer.plugins.registry import PluginManager
    from ticket_enhancer.plugins.registry import known_tools as registered

    PluginManager().discover_entry_points()  # once per process
    return registered()


def check_tool_options(tool: str, options: Mapping[str, str]) -> None:
    """Refuse an option that belongs to another tool (``zoho_data_centre`` on a Jira tenant)."""
    from ticket_enhancer.plugins.errors import PluginError
    from ticket_enhancer.plugins.registry import PluginManager

    own = plugin(tool).tool_options
    for other in known_tools():
        try:  # a plugin that fails to load claims no options
            theirs = PluginManager().get_plugin(other)
        except PluginError:
            continue
        for key in sorted((theirs.tool_options - own) & set(options)):
            raise CliError(f"option {key!r} is for {theirs.tool_name()} only")


def check_tool_credentials(tool: str, credentials: Mapping[str, str]) -> None:
    """Refuse a secret extra that only another tool reads (``zoho_refresh_token`` on a Jira tenant)."""
    from ticket_enhancer.plugins.registry import PluginManager

    own = plugin(tool).credential_keys
    for other in known_tools():
        theirs = PluginManager().get_plugin(other).credential_keys - own
        for key in sorted(theirs & set(credentials)):
            raise CliError(f"credential {key!r} is for {PluginManager().get_plugin(other).tool_name()} only")


def plugin(tool: str) -> TicketingToolPlugin:
    """The tool's plugin, or a ``CliError`` naming the known tools."""
    from ticket_enhancer.plugins.errors import PluginError
    from ticket_enhancer.plugins.registry import PluginManager

    tools = known_tools()
    if tool not in tools:
        raise CliError(f"unknown tool {tool!r}; known: {', '.join(tools)}")
    try:
        return PluginManager().get_plugin(tool)
    except PluginError as exc:
        raise CliError(f"tool {tool!r} cannot be loaded: {exc}") from None
