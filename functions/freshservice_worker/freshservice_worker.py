"""Lambda entry point: freshservice enhancement worker (SQS batch from the freshservice queue)."""

from ticket_enhancer.worker.handler import make_worker_handler

handler = make_worker_handler("freshservice")
