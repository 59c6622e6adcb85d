"""What an admin does in each tool after `tenants add`: printed once, with the real URL and secret."""

from __future__ import annotations

from ticket_enhancer.webhooks import schemes

BODY_TEMPLATES = {
    "servicenow": '{"sys_id": "${current.sys_id}", "number": "${current.number}", "event": "created"}',
    "freshservice": '{"ticket_id": "{{ticket.id}}", "event": "created"}',
    "servicedesk_plus": '{"request": {"id": "${##ID##}"}, "event": "created"}',
    "zendesk": '{"ticket_id": "{{ticket.id}}", "event": "created"}',
}

WHERE = {
    "jira": "Jira settings > System > WebHooks > Create a WebHook: URL below, Secret below, "
    "event 'Issue: created' (JQL filter optional).",
    "zendesk": "Admin Center > Apps and integrations > Webhooks > Create webhook: 'Zendesk events', "
    "event 'Ticket created', endpoint below, POST JSON; copy Zendesk's signing secret into "
    "`--webhook-secret`. (Or a trigger webhook with the body template below.)",
    "servicenow": "System Definition > Business Rules (incident, after insert): a script using RESTMessageV2 "
    "that POSTs the body below and signs it with Standard Webhooks "
    "(GlideCertificateEncryption.generateMac over '<id>.<timestamp>.<body>').",
    "freshservice": "Admin > Workflow Automator > new Ticket workflow 'Ticket is raised' > Action: Trigger "
    "Webhook, POST, JSON, custom header below, body template below.",
    "servicedesk_plus": "Admin > Automation > Custom Triggers / Webhooks: POST to the URL below, "
    "custom header below, body template below.",
}


def setup_text(tool: str, mode: str, url: str) -> list[str]:
    lines = [f"Where:   {WHERE[tool]}", f"URL:     {url}"]
    if mode == schemes.SHARED_TOKEN:
        lines.append("Header:  X-Webhook-Token: <the secret above>")
    elif mode == schemes.STANDARD_WEBHOOKS:
        lines.append(
            "Headers: webhook-id, webhook-timestamp (unix seconds), webhook-signature: "
            "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>, key = base64-decoded secret after 'whsec_'"
        )
    elif mode == schemes.JIRA_HMAC:
        lines.append(
            "Secret:  paste the secret above into the webhook's Secret field (Jira signs X-Hub-Signature)"
        )
    elif mode == schemes.ZENDESK_HMAC:
        lines.append("Secret:  Zendesk signs with its own secret (X-Zendesk-Webhook-Signature); it is stored")
    if tool in BODY_TEMPLATES:
        lines.append(f"Body:    {BODY_TEMPLATES[tool]}")
    return lines
