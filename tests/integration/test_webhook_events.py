"""Only real events make jobs (the security issue's item 4): an event outside the tool's
allow-list is answered 200 ``ignored`` and queues nothing, and deliveries whose id is unsigned
(Jira) are de-duplicated on a hash of the body."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ticket_enhancer.plugins.base import TicketingToolPlugin

from tests.support import Stack, TenantFactory, invoke, jira_body, sdp_plain_body, unique

pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added")


def test_four_event_values_for_one_ticket_make_one_job(aws: Stack, tenant: TenantFactory) -> None:
    """`event` was free text: four values for one ticket gave four notes and four model calls."""
    acme = tenant("servicedesk_plus")
    handler = aws.handler("servicedesk_plus")
    answers = []
    for event in ("created", "updated", "deleted", "note_added"):
        body = json.dumps({**sdp_plain_body("123"), "event": event}).encode()
        answers.append(invoke(handler, acme.event(body)))
    assert answers[0][0] == 202
    assert answers[1:] == [(200, {"status": "ignored"})] * 3
    assert len(aws.drain("servicedesk_plus")) == 1


@pytest.mark.parametrize("event", ["jira:issue_updated", "jira:issue_deleted", "comment_created", "x" * 500])
def test_jira_events_other_than_created_are_ignored(aws: Stack, tenant: TenantFactory, event: str) -> None:
    acme = tenant("jira")
    body = json.dumps({**jira_body("10001"), "webhookEvent": event}).encode()
    assert invoke(aws.handler("jira"), acme.event(body)) == (200, {"status": "ignored"})
    assert aws.drain("jira") == []
    assert aws.delivery_records() == []


def test_an_ignored_event_is_still_authenticated_first(aws: Stack, tenant: TenantFactory) -> None:
    acme = tenant("jira")
    body = json.dumps({**jira_body("10001"), "webhookEvent": "jira:issue_updated"}).encode()
    event = acme.event(body, secret="someone-elses-secret-0123456789")
    assert invoke(aws.handler("jira"), event)[0] == 401


def test_a_jira_replay_with_a_new_delivery_id_is_a_duplicate(aws: Stack, tenant: TenantFactory) -> None:
    """X-Atlassian-Webhook-Identifier is not signed: a captured body re-sent under fresh ids is
    still the same delivery."""
    acme = tenant("jira")
    handler = aws.handler("jira")
    body = json.dumps(jira_body("10001")).encode()
    first = invoke(handler, acme.event(body, delivery_id=unique("id")))
    again = [invoke(handler, acme.event(body, delivery_id=unique("id"))) for _ in range(3)]
    assert first[0] == 202
    assert again == [(200, {"status": "duplicate", "job_id": first[1]["job_id"]})] * 3
    assert len(aws.drain("jira")) == 1


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_canonical_event_policy(raw: str) -> None:
    """Only the spellings of "created" are accepted; everything else is its own (ignored) event."""
    name = TicketingToolPlugin.canonical_event(raw)
    accepted = name in frozenset({"created"})
    spelled = raw.strip().lower() in {
        "",
        "created",
        "create",
        "new",
        "ticket_created",
        "ticket.created",
        "issue_created",
    }
    assert accepted is spelled
    assert len(name) <= 64
