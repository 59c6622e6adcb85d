"""Issue 15, ServiceDesk Plus Cloud as customers deploy it: one Zoho access token per tenant shared by
every worker container (stored in the ContextTable, refreshed under a lease taken with a conditional
write), so Zoho's limit (10 tokens per refresh token in 10 minutes, 15 alive) is never hit; a refusal
is retryable and recorded so no other container asks; each data centre's own accounts host.

Zoho's accounts servers are the sandbox's (``sandbox.zoho``), which enforces those limits, and
ServiceDesk Plus refuses an access token Zoho no longer holds alive.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from ticket_enhancer.plugins.servicedesk_plus.plugin import ServiceDeskPlusPlugin
from ticket_enhancer.plugins.servicedesk_plus.zoho import KIND, REFUSED_WAIT_SECONDS
from ticket_enhancer.tokens import DynamoTokens
from ticket_enhancer.worker.handler import WorkerHandler, make_worker_handler
from ticket_enhancer_dev.sandbox import zoho as zoho_sandbox

from tests.integration.test_jira_variants import MetricSpy
from tests.integration.test_worker import (  # noqa: F401 (atomic_conditional_writes: an autouse fixture)
    SDP_CLOUD_BASE,
    Harness,
    WorkerFactory,
    atomic_conditional_writes,
    sqs_record,
)
from tests.support import Stack, public_resolver, unique

ZOHO = {
    "zoho_client_id": "1000.CLIENT",
    "zoho_client_secret": "zoho-client-secret",
    "zoho_refresh_token": "1000.refresh",
}


@pytest.fixture
def workers(aws: Stack) -> Iterator[WorkerFactory]:
    factory = WorkerFactory(aws)
    yield factory
    factory.close()


def container(factory: WorkerFactory, h: Harness) -> WorkerHandler:
    """Another worker container of the same deployment: its own plugin (memory), the same tables."""
    env = {
        "TENANTS_TABLE": factory.stack.tenants_table,
        "DELIVERIES_TABLE": factory.stack.deliveries_table,
        "JOBS_TABLE": factory.jobs_table,
        "CONTEXT_TABLE": factory.context_table,
        "POWERTOOLS_SERVICE_NAME": unique("ticket-enhancer-worker-test"),
        "POWERTOOLS_METRICS_NAMESPACE": "TicketEnhancerTest",
    }

    def no_bedrock() -> None:
        raise AssertionError("offline tenants never call Bedrock")

    worker = make_worker_handler(
        "servicedesk_plus",
        dynamodb=factory.stack.dynamodb,
        secrets=factory.stack.secretsmanager,
        plugin=ServiceDeskPlusPlugin(),
        transport=h.vendor.transport(),
        env=env,
        bedrock_client_factory=no_bedrock,
        resolve=public_resolver,
    )
    factory.workers.append(worker)
    return worker


def cloud(factory: WorkerFactory, base_url: str = SDP_CLOUD_BASE) -> Harness:
    return factory("servicedesk_plus", base_url=base_url, secret=ZOHO, plugin=ServiceDeskPlusPlugin())


def test_concurrent_containers_share_one_zoho_token(workers: WorkerFactory) -> None:
    h = cloud(workers)
    containers = [h.worker, *(container(workers, h) for _ in range(11))]  # 12 cold containers
    for worker in containers:  # powertools keeps one metric set per process: each container its own
        worker.metrics = MetricSpy()  # type: ignore[assignment]
    jobs = []
    for n in range(len(containers)):
        ticket_id = str(5000 + n)
        h.vendor.sandbox.add_ticket("servicedesk_plus", ticket_id)
        jobs.append(h.job(ticket_id))
    failures: list[list[dict[str, str]]] = []

    def run(worker: WorkerHandler, job_index: int) -> None:
        answer = worker({"Records": [sqs_record(jobs[job_index].model_dump_json())]}, None)
        failures.append(answer["batchItemFailures"])

    threads = [threading.Thread(target=run, args=(w, i)) for i, w in enumerate(containers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == [[]] * len(containers)
    assert len(h.vendor.sandbox.zoho.requests) == 1  # one refresh for the whole deployment
    assert all(h.record(job)["state"] == "done" for job in jobs)
    assert sum(len(h.vendor.notes(str(5000 + n))) for n in range(len(jobs))) == len(jobs)
    stored = DynamoTokens(workers.stack.dynamodb, workers.context_table).get(h.tenant_id, KIND)
    assert stored is not None
    assert stored.token == "zoho-access-token-1"
    assert stored.leased_until == 0.0  # the lease was given back with the token


def test_without_sharing_the_sandbox_refuses_the_eleventh_refresh() -> None:
    """What the shared token prevents: Zoho's documented limit, as the sandbox enforces it."""
    accounts = zoho_sandbox.ZohoAccounts(clock=lambda: 1000.0)
    form = {"grant_type": "refresh_token", "client_id": "c", "client_secret": "s", "refresh_token": "r"}
    answers = [accounts.token("accounts.zoho.com", form) for _ in range(11)]
    assert [a.status for a in answers] == [200] * 11  # Zoho answers 200 even when refusing
    assert all("access_token" in a.body for a in answers[:10])
    assert answers[10].body["error"] == "Access Denied"
    first = answers[0].body["access_token"]
    assert accounts.active(first)
    clock = [0.0]
    later = zoho_sandbox.ZohoAccounts(clock=lambda: clock[0])
    for n in range(16):
        clock[0] = n * 100.0  # spread over time: only the 15-alive rule applies
        later.token("accounts.zoho.com", form)
    assert not later.active("zoho-access-token-1")  # the 16th invalidated the oldest
    assert later.active("zoho-access-token-2")


def test_a_refusal_defers_the_job_and_keeps_other_containers_from_asking(workers: WorkerFactory) -> None:
    h = cloud(workers)
    h.vendor.sandbox.zoho.refuse_next = 1  # "Access Denied": the refresh limit was reached
    job = h.job()
    record = sqs_record(job.model_dump_json())

    assert h.run(record) == [record["messageId"]]  # retryable: the message stays queued

    state = h.record(job)
    assert state["state"] != "failed"
    assert "Access Denied" in state["last_error"]
    stored = DynamoTokens(workers.stack.dynamodb, workers.context_table).get(h.tenant_id, KIND)
    assert stored is not None
    assert stored.refused_until > 0
    other = container(workers, h)
    second = h.job(event="updated")
    other_record = sqs_record(second.model_dump_json())
    answer = other({"Records": [other_record]}, None)
    assert answer["batchItemFailures"] == [{"itemIdentifier": other_record["messageId"]}]
    assert len(h.vendor.sandbox.zoho.requests) == 1  # the other container did not ask Zoho
    assert REFUSED_WAIT_SECONDS <= 600


def test_an_invalidated_token_is_replaced_once_and_the_note_posted(workers: WorkerFactory) -> None:
    h = cloud(workers)
    assert h.run_jobs(h.job()) == []
    h.vendor.sandbox.zoho.revoke("zoho-access-token-1")  # e.g. a 16th token elsewhere invalidated it
    job = h.job(event="updated")

    assert h.run_jobs(job) == []

    assert len(h.vendor.sandbox.zoho.requests) == 2
    assert h.record(job)["state"] == "done"
    stored = DynamoTokens(workers.stack.dynamodb, workers.context_table).get(h.tenant_id, KIND)
    assert stored is not None
    assert stored.token == "zoho-access-token-2"


@pytest.mark.parametrize(
    ("base_url", "accounts_host"),
    [
        ("https://sdpondemand.manageengine.eu/app/itdesk", "accounts.zoho.eu"),
        ("https://sdpondemand.manageengine.in/app/itdesk", "accounts.zoho.in"),
        ("https://servicedeskplus.ca/app/itdesk", "accounts.zohocloud.ca"),
    ],
)
def test_each_data_centre_refreshes_at_its_own_accounts_host(
    workers: WorkerFactory, base_url: str, accounts_host: str
) -> None:
    h = cloud(workers, base_url)
    assert h.run_jobs(h.job()) == []
    assert [host for host, _ in h.vendor.sandbox.zoho.requests] == [accounts_host]
    assert h.vendor.unexpected == []
    assert len(h.vendor.notes("123456789")) == 1


def test_a_401_that_persists_fails_the_job_without_spending_zoho_refreshes(workers: WorkerFactory) -> None:
    """A 401 that is not the token's fault (a lost permission): one new token, then final."""
    h = cloud(workers)
    assert h.run_jobs(h.job()) == []
    h.vendor.fail("GET", r"/api/v3/requests/\d+", status=401, count=10)
    jobs = [h.job(event=f"e{n}") for n in range(3)]

    assert h.run_jobs(*jobs) == []

    assert [h.record(j)["state"] for j in jobs] == ["failed"] * 3
    assert len(h.vendor.sandbox.zoho.requests) == 2  # the first token, and one replacement only


class BrokenStore:
    """A shared token store whose every call fails (DynamoDB unavailable, a wrong table)."""

    def __getattr__(self, name: str) -> object:
        def fail(*args: object, **kwargs: object) -> None:
            raise RuntimeError("ResourceNotFoundException")

        return fail


def test_a_failing_token_store_never_stops_the_notes(workers: WorkerFactory) -> None:
    h = cloud(workers)
    h.worker.tokens = BrokenStore()  # type: ignore[assignment]
    first, second = h.job(), h.job(event="updated")

    assert h.run_jobs(first) == []
    assert h.run_jobs(second) == []

    assert len(h.vendor.sandbox.zoho.requests) == 1  # this container's own token, kept for its hour
    assert h.record(first)["state"] == h.record(second)["state"] == "done"
