"""Lambda entry point: servicedesk_plus enhancement worker (SQS batch from the servicedesk_plus queue)."""

from ticket_enhancer.worker.handler import make_worker_handler

handler = make_worker_handler("servicedesk_plus")
