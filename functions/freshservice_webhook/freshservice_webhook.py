"""Lambda entry point: freshservice webhook (POST /webhooks/freshservice/{tenant_id})."""

from ticket_enhancer.ingest.handler import make_webhook_handler

handler = make_webhook_handler("freshservice")
