"""Lambda entry point: servicenow enhancement worker (SQS batch from the servicenow queue)."""

from ticket_enhancer.worker.handler import make_worker_handler

handler = make_worker_handler("servicenow")
