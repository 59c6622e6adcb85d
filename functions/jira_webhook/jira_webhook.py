"""Lambda entry point: jira webhook (POST /webhooks/jira/{tenant_id})."""

from ticket_enhancer.ingest.handler import make_webhook_handler

handler = make_webhook_handler("jira")
