"""Lambda entry point: zammad enhancement worker (SQS batch from the zammad queue)."""

from ticket_enhancer.worker.handler import make_worker_handler

handler = make_worker_handler("zammad")
