"""Lambda entry point: jira enhancement worker (SQS batch from the jira queue)."""

from ticket_enhancer.worker.handler import make_worker_handler

handler = make_worker_handler("jira")
