"""Lambda entry point: zendesk enhancement worker (SQS batch from the zendesk queue)."""

from ticket_enhancer.worker.handler import make_worker_handler

handler = make_worker_handler("zendesk")
