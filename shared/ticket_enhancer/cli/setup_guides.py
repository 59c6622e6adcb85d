"""What an admin does in the tool after `tenants add`: printed once, with the real URL and secret.

The tool's own part (where to create the webhook, the body to paste) is declared on its plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ticket_enhancer.webhooks import schemes

if TYPE_CHECKING:
    from ticket_enhancer.plugins.base import TicketingToolPlugin

AUTH_LINES = {
    schemes.SHARED_TOKEN: "Header:  X-Webhook-Token: <the secret above>",
    schemes.STANDARD_WEBHOOKS: "Headers: webhook-id, webhook-timestamp (unix seconds), webhook-signature: "
    "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>, key = base64-decoded secret after 'whsec_'",
    schemes.JIRA_HMAC: "Secret:  paste the secret above into the webhook's Secret field "
    "(Jira signs X-Hub-Signature)",
    schemes.ZENDESK_HMAC: "Secret:  Zendesk signs with its own secret (X-Zendesk-Webhook-Signature); "
    "it is stored",
}


def setup_text(plugin: TicketingToolPlugin, mode: str, url: str) -> list[str]:
    where = plugin.setup_where or f"{plugin.tool_name()}: create a webhook that POSTs to the URL below."
    lines = [f"Where:   {where}", f"URL:     {url}"]
    if mode in AUTH_LINES:
        lines.append(AUTH_LINES[mode])
    if plugin.setup_body_template:
        lines.append(f"Body:    {plugin.setup_body_template}")
    return lines
