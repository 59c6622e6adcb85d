"""A batch of 10 jobs against a vendor answering after 200 ms, against one job, same run.

The worker is built exactly as in Lambda (``make_worker_handler``) with its clients pointed at
the embedded AWS emulator, run in a process of its own (in the worker's process, moto's request
handling was two thirds of a batch's CPU and held the GIL: not a cost Lambda pays), and its HTTP
client at the vendor sandbox, slowed to 200 ms an answer.
Records of a batch are processed concurrently, so 10 jobs should cost little more than one.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks.emulated import emulated_aws

BUDGET = 1.5
VENDOR_DELAY = 0.2
SANDBOX_TOKEN = "t"  # noqa: S105 # nosec B105 # the vendor sandbox accepts any token


def _record(job: str, i: int) -> dict[str, Any]:
    return {
        "messageId": f"m{i}",
        "receiptHandle": f"r{i}",
        "body": job,
        "md5OfBody": "",
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "0",
            "SenderId": "bench",
            "ApproximateFirstReceiveTimestamp": "0",
        },
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:1:q",
        "awsRegion": "us-east-1",
    }


def run(rounds: int = 3) -> dict[str, object]:
    from ticket_enhancer.models import EnhancementJob, JobTicket, TicketMetadata, new_job_id
    from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

    sandbox = VendorSandbox()
    quiet = io.StringIO()
    # The emulator in its own process: the worker pays its side of each AWS call, not moto's.
    with emulated_aws(separate_process=True) as aws:
        aws.add_jira_tenant(
            "http://127.0.0.1:9/_sandbox/jira",
            "x" * 20,
            api_user="bench@example.com",
            api_token=SANDBOX_TOKEN,
        )
        tables = aws.resources.tables
        from ticket_enhancer.worker.handler import make_worker_handler

        with contextlib.redirect_stdout(quiet):
            worker = make_worker_handler(
                "jira",
                transport=sandbox.async_transport(VENDOR_DELAY),
                env={
                    "TENANTS_TABLE": tables["TenantsTable"],
                    "JOBS_TABLE": tables["JobsTable"],
                    "CONTEXT_TABLE": tables["ContextTable"],
                    "DELIVERIES_TABLE": tables["DeliveriesTable"],
                    "TICKET_ENHANCER_LOCAL": "1",
                },
            )
        counter = iter(range(1, 10_000))

        def batch(size: int) -> float:
            records: list[dict[str, Any]] = []
            for _ in range(size):
                ticket_id = str(20_000 + next(counter))
                sandbox.add_ticket("jira", ticket_id)
                meta = TicketMetadata(
                    tool_type="jira", tenant_id="bench", ticket_id=ticket_id, delivery_id=f"d-{ticket_id}"
                )
                job = EnhancementJob(
                    job_id=new_job_id(), metadata=JobTicket.of(meta), queued_at=datetime.now(UTC)
                )
                records.append(_record(job.model_dump_json(), len(records)))
            started = time.perf_counter()
            with contextlib.redirect_stdout(quiet):
                answer = worker({"Records": records}, None)
            elapsed = time.perf_counter() - started
            if answer["batchItemFailures"]:
                raise RuntimeError(f"the worker reported failures: {answer}")
            return elapsed

        batch(1)  # warm: clients, tenant cache, pipeline
        singles, tens = [], []
        for _ in range(rounds):
            singles.append(batch(1))
            tens.append(batch(10))
        notes = len(sandbox.notes("jira"))
    one, ten = statistics.median(singles), statistics.median(tens)
    return {
        "rounds": rounds,
        "vendor_delay_ms": VENDOR_DELAY * 1000,
        "one_job_ms": round(one * 1000, 1),
        "ten_jobs_ms": round(ten * 1000, 1),
        "ratio": round(ten / one, 2),
        "budget": BUDGET,
        "notes_posted": notes,
    }


def report(result: dict[str, object]) -> str:
    return (
        f"worker batch ({result['rounds']} rounds, medians, vendor answers after "
        f"{result['vendor_delay_ms']:.0f} ms): 1 job {result['one_job_ms']} ms, 10 jobs "
        f"{result['ten_jobs_ms']} ms, ratio {result['ratio']}x (budget {BUDGET}x)"
    )
