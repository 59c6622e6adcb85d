"""Lambda entry point: zendesk webhook (POST /webhooks/zendesk/{tenant_id})."""

from ticket_enhancer.ingest.handler import make_webhook_handler

handler = make_webhook_handler("zendesk")
