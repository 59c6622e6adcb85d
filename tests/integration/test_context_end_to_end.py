"""Issue 16, end to end for each tool: the ops function syncs pages of the sandbox's history and
knowledge into the ContextTable and the index bucket; then the tool creates a new ticket and sends
its webhook, signed with the tool's own scheme, to the webhook function as Lambda builds it (202); the
job is on the tool's FIFO queue (moto), and that message, received and handed to the worker as
Lambda's event source mapping delivers it, gives a note that names the most similar resolved ticket
of the ticket's own scope (key and resolution excerpt) and the matching article, and no ticket of
another scope."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from ticket_enhancer.local.poller import lambda_record
from ticket_enhancer.models import EnhancementJob
from ticket_enhancer.ops.handler import make_ops_handler
from ticket_enhancer.plugins.capabilities import knowledge_source
from ticket_enhancer.plugins.registry import plugin_for_function
from ticket_enhancer.sandbox.history import SandboxCase, cases
from ticket_enhancer.sandbox.incident import DESCRIPTION, SUBJECT
from ticket_enhancer.sandbox.model import SandboxTool
from ticket_enhancer.sandbox.vendor import VendorSandbox
from ticket_enhancer.sync.store import DynamoRecordStore
from ticket_enhancer.tenants import WEBHOOK_SECRET_SUFFIX, secret_name
from ticket_enhancer.worker.handler import WorkerHandler, make_worker_handler

from tests.integration.test_ops_function import Context
from tests.integration.test_sync_sources import TOOLS, Counting, Harness, by_source
from tests.support import REGION, Stack, Tenant, create_table, invoke, new_secret, unique

pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added")

# The new ticket's id, in the tool's own form (ServiceNow: a 32-hex sys_id).
NEW_TICKET_IDS = {"servicenow": "5f3c9a1e2b7d4c6e8a0b1c2d3e4f5a6b"}


def new_ticket_id(tool: str) -> str:
    return NEW_TICKET_IDS.get(tool, "777")


# The case the new ticket repeats: its topic's article (sandbox/history.py _ARTICLE_TOPICS).
TOPIC_SUBJECT = "Disk full on "
ARTICLE_TITLE = "Disk full on a Linux server"


def the_case() -> SandboxCase:
    """The first clean disk-full case of the seed ticket's scope (Acme Finance, every tool's seed)
    whose subject and description no other case repeats: the one most similar ticket."""
    seen = Counter((c.subject, c.description) for c in cases())
    return next(
        c
        for c in cases()
        if c.scope == 0
        and c.subject.startswith(TOPIC_SUBJECT)
        and not (c.malformed or c.our_note_last or c.requester_last)
        and seen[(c.subject, c.description)] == 1
    )


def replaced(value: Any, subject: str, description: str) -> Any:
    """``value`` (a ticket in its tool's JSON shape) with the seed incident's text swapped."""
    if isinstance(value, str):
        return value.replace(SUBJECT, subject).replace(DESCRIPTION, description)
    if isinstance(value, dict):
        return {k: replaced(v, subject, description) for k, v in value.items()}
    if isinstance(value, list):
        return [replaced(v, subject, description) for v in value]
    return value


def first_mention(text: str, key: str) -> re.Match[str] | None:
    return re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", text)


def mentions(text: str, key: str) -> bool:
    return first_mention(text, key) is not None


@dataclass
class EndToEnd:
    harness: Harness
    bucket: str
    jobs_table: str
    workers: list[WorkerHandler]

    def env(self, tool: str) -> dict[str, str]:
        return {
            "QUEUE_URL": self.harness.stack.queue_url(tool),  # the worker's own (deferrals)
            "CONTEXT_INDEX_BUCKET": self.bucket,
            "TENANTS_TABLE": self.harness.stack.tenants_table,
            "CONTEXT_TABLE": self.harness.table,
            "JOBS_TABLE": self.jobs_table,
            "DELIVERIES_TABLE": self.harness.stack.deliveries_table,
            "TICKET_ENHANCER_LOCAL": "1",
            "POWERTOOLS_SERVICE_NAME": unique("context-e2e-test"),
            "POWERTOOLS_METRICS_NAMESPACE": "TicketEnhancerTest",
        }

    def worker(self, tool: str, sandbox: VendorSandbox) -> WorkerHandler:
        made = make_worker_handler(
            tool,
            dynamodb=self.harness.stack.dynamodb,
            secrets=self.harness.stack.secretsmanager,
            transport=sandbox.async_transport(),
            env=self.env(tool),
            sqs=self.harness.stack.sqs,
            bedrock_client_factory=lambda: None,
        )
        self.workers.append(made)
        return made

    def webhook_sender(self, tool: str, tenant_id: str) -> Tenant:
        """The tenant's webhook secret stored (its tool's default scheme, as ``tenants add`` does):
        what signs the tool's deliveries."""
        mode = plugin_for_function(tool).default_auth_mode
        secret = new_secret(mode)
        self.harness.stack.put_secret(
            secret_name(tool, tenant_id) + WEBHOOK_SECRET_SUFFIX, {"webhook_secrets": [secret]}
        )
        return Tenant(tool=tool, tenant_id=tenant_id, mode=mode, secrets=(secret,))

    def received(self, tool: str) -> dict[str, Any]:
        """The one message on the tool's queue, received as Lambda's event source mapping receives
        it: the SQS event the worker function gets."""
        sqs, url = self.harness.stack.sqs, self.harness.stack.queue_url(tool)
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        assert len(messages) == 1, messages
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return {"Records": [lambda_record(m, arn, REGION) for m in messages]}

    def settle(self, tool: str, event: dict[str, Any]) -> None:
        """The batch succeeded: its messages deleted (as the event source mapping does); none left."""
        sqs, url = self.harness.stack.sqs, self.harness.stack.queue_url(tool)
        for record in event["Records"]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=record["receiptHandle"])
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        assert set(attributes.values()) == {"0"}, attributes


def body_of(sandbox_tool: SandboxTool, ticket: dict[str, Any], tenant_id: str) -> bytes:
    """The webhook body the tool (or the admin's documented template) sends for ``ticket``."""
    return json.dumps(sandbox_tool.webhook_body(ticket, tenant_id)).encode()


@pytest.fixture
def e2e(aws: Stack) -> Iterator[EndToEnd]:
    import boto3

    bucket = unique("te-index").lower()
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
    jobs_table = unique("te-jobs")
    create_table(aws.dynamodb, jobs_table, "job_key")
    made = EndToEnd(Harness(aws), bucket, jobs_table, [])
    yield made
    for ops in made.harness.handlers:
        ops.worker.close()
    for worker in made.workers:
        worker.close()


@pytest.mark.parametrize("tool", TOOLS)
def test_a_new_tickets_note_names_the_synced_resolution_and_article_of_its_scope(
    e2e: EndToEnd, tool: str
) -> None:
    harness = e2e.harness
    tenant_id = harness.tenant(tool)
    transport = Counting(harness.sandbox)
    ops = make_ops_handler(
        tool,
        dynamodb=harness.stack.dynamodb,
        secrets=harness.stack.secretsmanager,
        transport=transport,
        env=e2e.env(tool),
        bedrock_client_factory=lambda: None,
    )
    harness.handlers.append(ops)
    has_knowledge = knowledge_source(plugin_for_function(tool)) is not None

    answer = ops({"action": "sync", "tenant_id": tenant_id}, Context(900))
    assert answer["status"] == "done", answer
    assert answer["index"] == "built", answer
    sources = by_source(answer)
    assert sources["history"]["pages"] > 1
    if has_knowledge:
        assert sources["knowledge"]["pages"] > 1
    assert max(transport.seen.values()) == 1  # every page fetched once

    case = the_case()
    store = DynamoRecordStore(harness.stack.dynamodb, harness.table)
    synced = list(store.iter_tickets(tenant_id))
    # (ServiceDesk Plus lists a request's first 100 characters only: its short_description)
    [match] = [t for t in synced if t.subject == case.subject and case.description[:90] in t.text]
    others = [t for t in synced if t.scope != match.scope]
    assert others  # the sandbox's other scopes were imported too
    if has_knowledge:
        titles = [a.title for a in store.iter_articles(tenant_id)]
        assert ARTICLE_TITLE in titles

    new_id = new_ticket_id(tool)
    # The tool: a new ticket repeating the case, then its webhook (as the tool sends it, signed).
    sandbox_tool = harness.sandbox.tools[tool]
    ticket = replaced(sandbox_tool.copy_as(new_id), case.subject, case.description)
    harness.sandbox.add_ticket(tool, new_id, ticket)
    sender = e2e.webhook_sender(tool, tenant_id)
    status, accepted = invoke(
        harness.stack.handler(tool), sender.event(body_of(sandbox_tool, ticket, tenant_id))
    )
    assert (status, accepted["status"]) == (202, "queued"), accepted

    event = e2e.received(tool)  # the job, durably on the tool's queue, as Lambda hands it over
    [record] = event["Records"]
    job = EnhancementJob.model_validate_json(record["body"])
    assert job.job_id == accepted["job_id"]
    assert (job.metadata.tenant_id, job.metadata.ticket_id) == (tenant_id, new_id)
    assert record["attributes"]["MessageGroupId"].startswith(f"{tenant_id}#")  # the tenant's FIFO group
    outcome = e2e.worker(tool, harness.sandbox)(event, None)
    assert outcome == {"batchItemFailures": []}
    e2e.settle(tool, event)

    [note] = harness.sandbox.notes(tool, new_id)
    text = json.dumps(note)
    assert mentions(text, match.display_key), (match.display_key, text)
    assert case.resolution[:40] in text, (case.resolution, text)
    if has_knowledge:
        assert ARTICLE_TITLE in text, text
    named = sorted((m.start(), t.display_key) for t in synced if (m := first_mention(text, t.display_key)))
    assert named[0][1] == match.display_key, named  # the first similar ticket named: the closest
    leaked = [t.display_key for t in others if mentions(text, t.display_key)]
    assert leaked == [], (leaked, text)
