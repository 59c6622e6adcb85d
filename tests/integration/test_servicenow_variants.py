"""Issue 15, ServiceNow as customers deploy it: OAuth client credentials as well as Basic, display
values (the requester and state as names), the footer check on the record's own ``work_notes``
(not ``sys_journal_field``), and requested items (``sc_req_item``) beside incidents for tenants
that enable them. The sandbox answers as the Table API does (raw, ``true`` and ``all`` display modes;
``POST /oauth_token.do``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ticket_enhancer.models import Priority, TenantConfig, TenantSecret, Ticket
from ticket_enhancer.plugins.context import Headers, TenantContext, WebhookRequest
from ticket_enhancer.plugins.errors import WebhookPayloadError
from ticket_enhancer.plugins.servicenow import records
from ticket_enhancer.plugins.servicenow.plugin import ServiceNowPlugin
from ticket_enhancer.urls import BaseUrlError
from ticket_enhancer_dev.sandbox.incident import REQUESTER
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id
from ticket_enhancer_dev.sandbox.tools import servicenow as sandbox

from tests.integration.test_worker import (  # noqa: F401 (atomic_conditional_writes: an autouse fixture)
    Harness,
    WorkerFactory,
    atomic_conditional_writes,
)
from tests.support import Stack

INCIDENT = seed_ticket_id("servicenow")
OAUTH = {"oauth_client_id": "3f9c0e6d2b1a4", "oauth_client_secret": "client-secret-for-the-integration"}
RITM = "aeed229047801200e0ef563dbb9a71c2"


@pytest.fixture
def workers(aws: Stack) -> Iterator[WorkerFactory]:
    factory = WorkerFactory(aws)
    yield factory
    factory.close()


def ticket(h: Harness, ticket_id: str) -> Ticket:
    tenant = h.worker.loop.run_until_complete(h.worker._tenant(h.tenant_id))
    return h.worker.loop.run_until_complete(h.worker.plugin.get_ticket(tenant, ticket_id))


def test_requester_and_state_are_names_and_dates_stay_utc(workers: WorkerFactory) -> None:
    h = workers("servicenow")
    found = ticket(h, INCIDENT)
    assert found.requester == REQUESTER  # not the caller's sys_id
    assert found.status == "New"  # not "1"
    assert found.priority == Priority.CRITICAL
    assert found.priority_raw == "1 - Critical"
    assert found.created_at == datetime(2026, 11, 24, 8, 12, tzinfo=UTC)  # the value, not the display
    fetch = h.vendor.seen[0]
    assert fetch.url.params["sysparm_display_value"] == "all"


def test_oauth_client_credentials_get_one_token_and_send_it_as_bearer(workers: WorkerFactory) -> None:
    h = workers("servicenow", secret=OAUTH)
    first, second = h.job(), h.job(event="updated")

    assert h.run_jobs(first) == []
    assert h.run_jobs(second) == []

    token_calls = h.vendor.calls("POST", "/oauth_token.do")
    assert len(token_calls) == 1  # cached for the next job
    form = token_calls[0].form()
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": [OAUTH["oauth_client_id"]],
        "client_secret": [OAUTH["oauth_client_secret"]],
    }
    bearer = "Bearer " + sandbox.oauth_token(OAUTH["oauth_client_id"], OAUTH["oauth_client_secret"])
    for seen in h.vendor.seen[1:]:
        assert seen.headers["authorization"] == bearer
    assert len(h.vendor.notes(INCIDENT)) == 2


def test_a_refused_oauth_token_is_renewed_once(workers: WorkerFactory) -> None:
    h = workers("servicenow", secret=OAUTH)
    assert h.run_jobs(h.job()) == []
    h.vendor.fail("GET", re.escape(f"/api/now/table/incident/{INCIDENT}"), status=401)  # revoked early
    job = h.job(event="updated")

    assert h.run_jobs(job) == []

    assert len(h.vendor.calls("POST", "/oauth_token.do")) == 2
    assert h.record(job)["state"] == "done"


def test_wrong_oauth_credentials_fail_the_job_as_refused(workers: WorkerFactory) -> None:
    h = workers("servicenow", secret={"oauth_client_id": "x", "oauth_client_secret": "y"})
    h.vendor.fail("POST", "/oauth_token.do", status=401)
    job = h.job()
    assert h.run_jobs(job) == []
    assert h.record(job)["state"] == "failed"
    assert "oauth" in h.record(job)["last_error"]
    assert h.vendor.notes(INCIDENT) == []


def test_the_footer_check_reads_the_records_work_notes(workers: WorkerFactory) -> None:
    h = workers("servicenow", secret=OAUTH)
    path = f"/api/now/table/incident/{INCIDENT}"
    h.vendor.fail("PATCH", re.escape(path), error=httpx.ReadTimeout, store_first=True)
    job = h.job()

    assert h.run_jobs(job) == []

    assert h.vendor.calls("GET", "/api/now/table/sys_journal_field") == []
    listing = h.vendor.calls("GET", re.escape(path))[-1]
    assert listing.url.params["sysparm_fields"] == "work_notes"
    assert len(h.vendor.notes(INCIDENT)) == 1
    assert h.record(job)["state"] == "done"


# -- requested items --------------------------------------------------------------------------------


def _webhook(tenant: TenantContext, body: dict[str, object]) -> str:
    request = WebhookRequest(json.dumps(body).encode(), Headers({}))
    return ServiceNowPlugin().extract_metadata(request, tenant).ticket_id


def _tenant(options: dict[str, str]) -> TenantContext:
    config = TenantConfig(
        tenant_id="acme",
        tool_type="servicenow",
        base_url="https://acme.service-now.com",
        secret_id="s",
        options=options,
    )
    return TenantContext(config=config, secret=TenantSecret())


def test_requested_items_are_refused_unless_the_tenant_enables_them() -> None:
    body = sandbox.webhook_body(sandbox.requested_item(RITM), "acme")
    with pytest.raises(WebhookPayloadError, match="not enabled"):
        _webhook(_tenant({}), body)
    enabled = _tenant({"servicenow_tables": "incident,sc_req_item"})
    assert _webhook(enabled, body) == f"sc_req_item:{RITM}"
    incident = sandbox.webhook_body(dict(sandbox.SEED_TICKET), "acme")
    assert _webhook(_tenant({}), incident) == INCIDENT  # incidents keep the bare sys_id
    with pytest.raises(WebhookPayloadError, match="not one of"):
        _webhook(enabled, {**body, "table": "sys_user"})


def test_a_requested_item_is_fetched_and_noted_on_its_own_table(workers: WorkerFactory) -> None:
    h = workers("servicenow", options={"servicenow_tables": "incident,sc_req_item"})
    h.vendor.sandbox.state.tickets["servicenow"][RITM] = sandbox.requested_item(RITM)
    job = h.job(f"sc_req_item:{RITM}")

    assert h.run_jobs(job) == []

    path = f"/api/now/table/sc_req_item/{RITM}"
    assert [(s.method, s.path) for s in h.vendor.seen] == [("GET", path), ("PATCH", path)]
    assert len(h.vendor.notes(RITM)) == 1
    found = ticket(h, f"sc_req_item:{RITM}")
    assert found.requester == REQUESTER  # requested_for
    assert found.display_key == "RITM0010001"
    assert found.url is not None
    assert "sc_req_item.do" in found.url


def test_a_requested_item_job_for_a_tenant_without_the_table_fails_final(workers: WorkerFactory) -> None:
    h = workers("servicenow")
    h.vendor.sandbox.state.tickets["servicenow"][RITM] = sandbox.requested_item(RITM)
    job = h.job(f"sc_req_item:{RITM}")
    assert h.run_jobs(job) == []
    assert h.record(job)["state"] == "failed"
    assert h.vendor.seen == []


@pytest.mark.parametrize("value", ["problem", "", "incident,sys_user", " , "])
def test_unknown_tables_are_refused_at_onboarding(value: str) -> None:
    with pytest.raises(BaseUrlError, match="servicenow_tables"):
        ServiceNowPlugin().check_base_url(
            "https://acme.service-now.com", options={"servicenow_tables": value}
        )


@given(
    st.sampled_from(sorted(records.KNOWN_TABLES)),
    st.text(alphabet="0123456789abcdef", min_size=1, max_size=32),
)
def test_job_ticket_ids_split_back_into_table_and_sys_id(table: str, sys_id: str) -> None:
    ticket_id = records.job_ticket_id(table, sys_id)
    assert records.split(ticket_id) == (table, sys_id)
    assert records.split(ticket_id.replace(":", "%3A")) == (table, sys_id)  # as a quoted path segment


@given(
    st.dictionaries(
        st.sampled_from(["sys_id", "opened_at", "caller_id", "state", "priority", "number", "work_notes"]),
        st.tuples(st.text(max_size=8), st.text(max_size=8)),
    )
)
def test_flatten_reads_values_for_ids_and_dates_and_display_values_otherwise(
    fields: dict[str, tuple[str, str]],
) -> None:
    record = {k: {"display_value": d, "value": v} for k, (d, v) in fields.items()}
    flat = records.flatten(record)
    for key, (display, value) in fields.items():
        if key in records.VALUE_FIELDS:
            assert flat[key] == value
        else:
            assert flat[key] == (display or value)
    assert records.flatten({"short_description": "plain"}) == {"short_description": "plain"}
