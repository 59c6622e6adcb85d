"""What an admin does in the tool after `tenants add`: printed once, with the real URL and secret.

The tool's own part (where to create the webhook, the body to paste) is declared on its plugin,
the auth line on the webhook scheme of the tenant's mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ticket_enhancer.plugins.base import TicketingToolPlugin


def setup_text(plugin: TicketingToolPlugin, mode: str, url: str) -> list[str]:
    where = plugin.setup_where or f"{plugin.tool_name()}: create a webhook that POSTs to the URL below."
    lines = [f"Where:   {where}", f"URL:     {url}"]
    scheme = plugin.webhook_scheme(mode)  # the auth line comes with the mode's scheme
    if scheme is not None and scheme.setup_line:
        lines.append(scheme.setup_line)
    if plugin.setup_body_template:
        lines.append(f"Body:    {plugin.setup_body_template}")
    return lines
