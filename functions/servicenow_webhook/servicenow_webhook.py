"""Lambda entry point: servicenow webhook (POST /webhooks/servicenow/{tenant_id})."""

from ticket_enhancer.ingest.handler import make_webhook_handler

handler = make_webhook_handler("servicenow")
