"""Lambda entry point: zammad webhook (POST /webhooks/zammad/{tenant_id})."""

from ticket_enhancer.ingest.handler import make_webhook_handler

handler = make_webhook_handler("zammad")
