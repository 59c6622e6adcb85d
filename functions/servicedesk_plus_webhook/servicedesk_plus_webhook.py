"""Lambda entry point: servicedesk_plus webhook (POST /webhooks/servicedesk_plus/{tenant_id})."""

from ticket_enhancer.ingest.handler import make_webhook_handler

handler = make_webhook_handler("servicedesk_plus")
