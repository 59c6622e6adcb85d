"""Retention is an option (README, "Data we keep"): the deployment's default (template parameter ->
the worker's environment) and a tenant's override (tenant option), for the ticket index and the job
history; what the worker writes expires when they say, and the CLI refuses values out of range.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from ticket_enhancer.enhance.store import ContextStore
from ticket_enhancer.jobs import JobStore
from ticket_enhancer.models import EnhancementJob, JobTicket, Ticket, TicketMetadata
from ticket_enhancer.retention import DAY_SECONDS, HISTORY, INDEX, option_problems
from ticket_enhancer.settings import Settings, SettingsError
from ticket_enhancer.worker.handler import make_worker_handler
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id

from tests.integration.test_worker import (  # noqa: F401 (fixtures)
    WorkerFactory,
    atomic_conditional_writes,
    make_worker,
)
from tests.support import Stack, create_table, unique


def ticket(tenant_id: str, ticket_id: str = "T-1") -> Ticket:
    return Ticket(
        tenant_id=tenant_id,
        tool_type="jira",
        ticket_id=ticket_id,
        subject="VPN down",
        description="since 9:00",
        created_at=datetime(2024, 5, 1, tzinfo=UTC),
    )


def job(tenant_id: str, ticket_id: str = "T-1") -> EnhancementJob:
    meta = TicketMetadata(tool_type="jira", tenant_id=tenant_id, ticket_id=ticket_id, delivery_id=unique("d"))
    return EnhancementJob(job_id=unique("job"), metadata=JobTicket.of(meta), queued_at=datetime.now(UTC))


def expires_in_days(item: dict[str, Any] | None) -> float:
    assert item is not None
    return (int(item["expires_at"]["N"]) - time.time()) / DAY_SECONDS


def index_item(stack: Stack, table: str, tenant_id: str, ticket_id: str = "T-1") -> dict[str, Any] | None:
    key = {"pk": {"S": f"{tenant_id}#ticket"}, "sk": {"S": ticket_id}}
    found: dict[str, Any] | None = stack.dynamodb.get_item(TableName=table, Key=key).get("Item")
    return found


def job_item(stack: Stack, table: str, job_key: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = stack.dynamodb.get_item(
        TableName=table, Key={"job_key": {"S": job_key}}
    ).get("Item")
    return found


# -- the settings --------------------------------------------------------------------------------


def test_settings_read_the_environment_and_tenant_options() -> None:
    assert (INDEX.default, INDEX.minimum, HISTORY.default, HISTORY.minimum) == (365, 0, 90, 30)
    tables = {
        name: name.lower() for name in ("TENANTS_TABLE", "DELIVERIES_TABLE", "JOBS_TABLE", "CONTEXT_TABLE")
    }
    defaults = Settings.for_worker(tables)
    assert (defaults.index_retention_days, defaults.history_retention_days) == (365, 90)
    assert Settings.for_worker({**tables, "INDEX_RETENTION_DAYS": "30"}).index_retention_days == 30
    # a malformed value fails the function's init, naming the variable (tests/unit/test_settings.py)
    with pytest.raises(SettingsError, match=r"^INDEX_RETENTION_DAYS must be"):
        Settings.for_worker({**tables, "INDEX_RETENTION_DAYS": "oops"})
    with pytest.raises(SettingsError, match=r"^HISTORY_RETENTION_DAYS must be .* from 30 "):
        Settings.for_worker({**tables, "HISTORY_RETENTION_DAYS": "7"})
    assert INDEX.for_tenant({"index_retention_days": "0"}) == 0
    assert INDEX.for_tenant({"index_retention_days": "-1"}) is None
    assert HISTORY.for_tenant({}) is None
    assert option_problems({"index_retention_days": "10", "history_retention_days": "30"}) == []
    assert option_problems({"index_retention_days": "ten"}) == [
        "index_retention_days must be a whole number of days from 0 to 3650"
    ]
    assert option_problems({"history_retention_days": "29"}) == [
        "history_retention_days must be a whole number of days from 30 to 3650"
    ]
    assert option_problems({"history_retention_days": "٣٠"}) != []  # digits, but not ASCII ones


# -- the stores ----------------------------------------------------------------------------------


def test_index_expires_after_the_store_default_or_the_given_days(aws: Stack) -> None:
    table = f"{aws.prefix}-ContextTable"
    create_table(aws.dynamodb, table, "pk", "sk")
    store = ContextStore(aws.dynamodb, table, index_retention_days=30)

    store.index_ticket("acme", ticket("acme", "T-1"))
    store.index_ticket("acme", ticket("acme", "T-2"), retention_days=7)
    store.index_ticket("acme", ticket("acme", "T-3"), retention_days=0)

    assert expires_in_days(index_item(aws, table, "acme", "T-1")) == pytest.approx(30, abs=0.01)
    assert expires_in_days(index_item(aws, table, "acme", "T-2")) == pytest.approx(7, abs=0.01)
    assert index_item(aws, table, "acme", "T-3") is None  # 0 days: not indexed at all
    default = ContextStore(aws.dynamodb, table)
    default.index_ticket("acme", ticket("acme", "T-4"))
    assert expires_in_days(index_item(aws, table, "acme", "T-4")) == pytest.approx(365, abs=0.01)


def test_job_history_expires_after_the_store_default_or_the_tenants_days(aws: Stack) -> None:
    table = f"{aws.prefix}-JobsTable"
    create_table(aws.dynamodb, table, "job_key")
    store = JobStore(aws.dynamodb, table, history_days=45)
    first, second = job("acme", "T-1"), job("acme", "T-2")

    claim = store.claim(first)
    assert claim is not None
    assert expires_in_days(job_item(aws, table, claim.job_key)) == pytest.approx(45, abs=0.01)
    store.finish(claim, state="done")
    assert expires_in_days(job_item(aws, table, claim.job_key)) == pytest.approx(45, abs=0.01)

    other = store.claim(second)
    assert other is not None
    store.finish(other, state="failed", history_days=400)  # the tenant's override, at the end
    assert expires_in_days(job_item(aws, table, other.job_key)) == pytest.approx(400, abs=0.01)


# -- the worker ----------------------------------------------------------------------------------


def test_worker_applies_the_tenants_options(make_worker: WorkerFactory) -> None:  # noqa: F811
    h = make_worker("jira", options={"index_retention_days": "12", "history_retention_days": "40"})
    queued = h.job()

    assert h.run_jobs(queued) == []

    record = job_item(h.stack, h.jobs_table, queued.metadata.event_key)
    assert record is not None
    assert record["state"] == {"S": "done"}
    assert expires_in_days(record) == pytest.approx(40, abs=0.01)
    indexed = index_item(h.stack, f"{h.stack.prefix}-ContextTable", h.tenant_id, seed_ticket_id("jira"))
    assert expires_in_days(indexed) == pytest.approx(12, abs=0.01)


def test_worker_with_index_retention_zero_indexes_nothing(make_worker: WorkerFactory) -> None:  # noqa: F811
    h = make_worker("jira", options={"index_retention_days": "0"})

    assert h.run_jobs(h.job()) == []

    assert index_item(h.stack, f"{h.stack.prefix}-ContextTable", h.tenant_id, seed_ticket_id("jira")) is None
    record = job_item(h.stack, h.jobs_table, h.job().metadata.event_key)
    assert expires_in_days(record) == pytest.approx(HISTORY.default, abs=0.01)  # the deployment's


def test_worker_takes_the_deployment_defaults_from_its_environment(aws: Stack) -> None:
    jobs_table, context_table = f"{aws.prefix}-JobsTable", f"{aws.prefix}-ContextTable"
    create_table(aws.dynamodb, jobs_table, "job_key")
    create_table(aws.dynamodb, context_table, "pk", "sk")
    env = {
        "TENANTS_TABLE": aws.tenants_table,
        "DELIVERIES_TABLE": aws.deliveries_table,
        "JOBS_TABLE": jobs_table,
        "CONTEXT_TABLE": context_table,
        "INDEX_RETENTION_DAYS": "20",
        "HISTORY_RETENTION_DAYS": "50",
        "POWERTOOLS_SERVICE_NAME": unique("retention-test"),
    }
    worker = make_worker_handler("jira", dynamodb=aws.dynamodb, secrets=aws.secretsmanager, env=env)
    try:
        worker.store.index_ticket("acme", ticket("acme"))
        claim = worker.jobs.claim(job("acme"))
    finally:
        worker.close()

    assert expires_in_days(index_item(aws, context_table, "acme")) == pytest.approx(20, abs=0.01)
    assert claim is not None
    assert expires_in_days(job_item(aws, jobs_table, claim.job_key)) == pytest.approx(50, abs=0.01)
