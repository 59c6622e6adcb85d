"""What a worker pays at init (Lambda's cold start) and what waits for the jobs that need it.

The cold-start budget (README, "Benchmarks": workers <= 1.6x the SDK floor) holds only while the
worker's init imports what every job needs and nothing else. Loaded on first use instead: the model
side (answer checks, the pydantic answer model, the prompt, the model note: the default provider is
the offline note), langdetect's profiles, python-stdnum and phonenumbers, the index libraries
(numpy, bm25s) and the clients only some jobs use (S3 for an index load, SQS for a deferral). The
offline note is the same with or without the prompt the model side builds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from ticket_enhancer.enhance.note import compose_offline_note
from ticket_enhancer.enhance.pii import mask_personal_data
from ticket_enhancer.enhance.prompt import build_prompt

from tests.unit.test_model_answers import answer, context, run_pipeline, ticket

if TYPE_CHECKING:
    from tests.support import Stack

REPO = Path(__file__).resolve().parents[2]

# Modules a worker's init must not import (each loads on the first job that needs it).
ON_FIRST_USE = (
    "ticket_enhancer.enhance.model_output",
    "ticket_enhancer.enhance.model_note",
    "ticket_enhancer.enhance.prompt",
    "langdetect",
    "stdnum",
    "phonenumbers",
    "numpy",
    "bm25s",
)
# ... and what every job needs, made at init (so none of its cost moves into the first job).
AT_INIT = (
    "asyncio",
    "httpx",
    "httpcore",
    "ticket_enhancer.enhance.language",
    "ticket_enhancer.enhance.summary",
    "ticket_enhancer.enhance.triage",
    "ticket_enhancer.enhance.duplicates",
    "ticket_enhancer.enhance.note_context",
    "ticket_enhancer.enhance.pii",
    "ticket_enhancer.enhance.retrieval",
    "ticket_enhancer.enhance.synthesis",
)

WORKER_INIT_PROBE = """
import json, sys
import jira_worker
handler = jira_worker.handler
print(json.dumps({
    "modules": sorted(sys.modules),
    "sqs_made": handler.sqs._client is not None,
    "sqs_lazy": type(handler.sqs).__name__,
    "s3_made": next(s for s in handler.pipeline.steps if getattr(s, "_index", None))._index._s3._client
    is not None,
}))
"""


def _probe() -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TICKET_ENHANCER_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO / "shared"), str(REPO / "functions" / "jira_worker")]),
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        # what the template sets for a worker (ticket_enhancer.settings: init fails without them)
        TENANTS_TABLE="tenants",
        DELIVERIES_TABLE="deliveries",
        JOBS_TABLE="jobs",
        CONTEXT_TABLE="context",
        CONTEXT_INDEX_BUCKET="indexes",
        QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/jira.fifo",
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter, fixed script)
        [sys.executable, "-c", WORKER_INIT_PROBE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


@pytest.fixture(scope="module")
def probe() -> dict[str, object]:
    return _probe()


def test_worker_init_leaves_what_not_every_job_needs_for_first_use(probe: dict[str, object]) -> None:
    modules = set(probe["modules"])  # type: ignore[call-overload]
    loaded = sorted(m for m in modules if m.split(".")[0] in ON_FIRST_USE or m in ON_FIRST_USE)
    assert loaded == []
    assert (probe["sqs_lazy"], probe["sqs_made"], probe["s3_made"]) == ("LazyClient", False, False)


def test_worker_init_makes_what_every_job_needs(probe: dict[str, object]) -> None:
    modules = set(probe["modules"])  # type: ignore[call-overload]
    assert [m for m in AT_INIT if m not in modules] == []
    assert "botocore.client" in modules


def test_the_model_side_still_works_and_is_reachable_from_synthesis() -> None:
    result, fake = run_pipeline(answer())  # bedrock, through the real checks (model_output, model_note)
    assert fake.calls
    assert result.provider == "bedrock"
    from ticket_enhancer.enhance import synthesis
    from ticket_enhancer.enhance.model_output import MAX_ANSWER_CHARS

    assert synthesis.MAX_OUTPUT_CHARS == MAX_ANSWER_CHARS
    assert synthesis.build_prompt is build_prompt
    with pytest.raises(AttributeError):
        _ = synthesis.not_a_name


@pytest.mark.parametrize("redaction", ["off", "on"])
def test_the_offline_note_is_the_one_the_prompts_context_made(redaction: str) -> None:
    """The offline provider no longer builds the prompt: its note is what the prompt's (masked)
    context gave before."""
    named = ticket(subject="VPN down for carl@example.net, call +44 20 7946 0018")
    result, fake = run_pipeline(
        answer(), {"synthesis_provider": "offline", "pii_redaction": redaction}, named
    )
    mask = mask_personal_data if redaction == "on" else None
    expected = compose_offline_note(build_prompt(context(named), mask=mask).context)
    assert fake.calls == []
    assert (result.provider, result.unavailable, result.fallback_from) == ("offline", [], None)
    assert result.markdown == expected
    assert ("carl@example.net" in result.markdown) is (redaction == "off")


def test_a_deferral_makes_the_sqs_client_on_first_use_and_sets_the_visibility(aws: Stack) -> None:
    """Lambda's worker is built without an SQS client (``QUEUE_URL`` set, none injected): the first
    deferral makes it, and the visibility change reaches the queue."""
    from ticket_enhancer.aws import LazyClient
    from ticket_enhancer.worker.handler import make_worker_handler

    url = aws.queue_url("jira")
    env = aws.env("jira") | {"JOBS_TABLE": "jobs", "CONTEXT_TABLE": "context"}
    worker = make_worker_handler("jira", dynamodb=aws.dynamodb, secrets=aws.secretsmanager, env=env)
    assert isinstance(worker.sqs, LazyClient)
    assert worker.sqs._client is None  # nothing made at init
    aws.sqs.send_message(QueueUrl=url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="d")
    receipt = aws.sqs.receive_message(QueueUrl=url, VisibilityTimeout=5)["Messages"][0]["ReceiptHandle"]
    worker.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=600)
    assert worker.sqs._client is not None
    assert aws.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
    worker.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)
    assert len(aws.sqs.receive_message(QueueUrl=url).get("Messages", [])) == 1
