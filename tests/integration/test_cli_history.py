"""`ticket-enhancer tenants history`: job records as the worker writes them (``JobStore``), read back
per tenant and ticket, newest first; bad input is one line on stderr with exit code 2."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from ticket_enhancer.jobs import JobStore
from ticket_enhancer.models import EnhancementJob, JobTicket, TicketMetadata
from ticket_enhancer_dev.cli.history import format_job

from tests.cli_support import Deployment

TENANT, OTHER = "hist-acme", "hist-acme-2"  # one id is a prefix of the other


def job(tenant_id: str, ticket_id: str, event: str = "created", tool: str = "jira") -> EnhancementJob:
    meta = TicketMetadata(
        tool_type=tool,
        tenant_id=tenant_id,
        ticket_id=ticket_id,
        event_type=event,
        delivery_id=f"d-{ticket_id}-{event}",
    )
    return EnhancementJob(
        job_id=f"01JOB{ticket_id}{event}".upper()[:26],
        metadata=JobTicket.of(meta),
        queued_at=datetime.now(UTC),
    )


@pytest.fixture
def recorded(deployed: Deployment) -> Deployment:
    jobs = JobStore(deployed.dynamodb, deployed.tables["JobsTable"])
    # A model answer refused for a foreign URL: the offline note was posted.
    claim = jobs.claim(job(TENANT, "101"), now=1_000)
    assert claim is not None
    jobs.finish(
        claim,
        state="done",
        provider="offline",
        fallback_from="bedrock",
        unavailable=["similar_tickets", "synthesis"],
        reasons={"similar_tickets": "timeout", "synthesis": "injection suspected"},
    )
    # Rate limited twice, then gave up.
    claim = jobs.claim(job(TENANT, "102"), now=2_000)
    assert claim is not None
    jobs.defer(claim, until=2_100, reason="rate limited by jira, retry after 30 s")
    jobs.finish(claim, state="failed", error="gave up: rate limited past the job's maximum age")
    # Over the daily note limit.
    claim = jobs.claim(job(TENANT, "101", "updated"), now=3_000)
    assert claim is not None
    jobs.finish(claim, state="done", skipped="daily_note_limit reached (50 notes today)")
    # Another tenant whose id starts with this one's, and a zendesk job of this tenant id.
    claim = jobs.claim(job(OTHER, "101"), now=4_000)
    assert claim is not None
    jobs.finish(claim, state="done", provider="bedrock")
    return deployed


def test_history_shows_each_job_newest_first_with_provider_and_reasons(recorded: Deployment) -> None:
    run = recorded.cli("tenants", "history", TENANT)
    assert (run.code, run.err) == (0, "")
    lines = run.lines
    assert lines[0] == f"3 of 3 jobs of tenant {TENANT}, newest first:"
    heads = [line for line in lines if line.startswith("1970")]
    assert [h.split("  ")[1] for h in heads] == [
        "ticket 101 (updated)",
        "ticket 102 (created)",
        "ticket 101 (created)",
    ]
    out = run.out
    assert "no note: daily_note_limit reached (50 notes today)" in out
    assert "waited: 1 deferral, the last: rate limited by jira, retry after 30 s" in out
    assert "failed: gave up: rate limited past the job's maximum age" in out
    assert "model: bedrock failed (injection suspected): the offline note was posted" in out
    assert "unavailable: similar tickets (timeout), AI summary (injection suspected)" in out
    assert "done  by offline" in out
    assert OTHER not in out


def test_history_of_one_ticket_and_a_limit(recorded: Deployment) -> None:
    run = recorded.cli("tenants", "history", TENANT, "--ticket", "101", "--limit", "1")
    assert run.code == 0
    assert run.lines[0] == f"1 of 2 jobs of ticket 101 of tenant {TENANT}, newest first:"
    assert "ticket 101 (updated)" in run.lines[1]
    assert "ticket 102" not in run.out
    empty = recorded.cli("tenants", "history", TENANT, "--ticket", "999")
    assert (empty.code, empty.out) == (0, "")
    assert "no job records for ticket 999" in empty.err


@pytest.mark.parametrize(
    "argv",
    [
        ("tenants", "history", "bad id!"),
        ("tenants", "history", TENANT, "--limit", "0"),
        ("tenants", "history", TENANT, "--limit", "many"),
        ("tenants", "history", TENANT, "--ticket", "a#b"),
        ("tenants", "history", TENANT, "--ticket", "x" * 300),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(recorded: Deployment, argv: tuple[str, ...]) -> None:
    run = recorded.cli(*argv)
    assert run.code == 2
    assert run.out == ""
    assert len(run.err.strip().splitlines()) == 1


def test_recorded_text_is_printed_on_one_line() -> None:
    record: dict[str, Any] = {
        "state": "failed",
        "ticket_id": "7\n\x1b[31mred",
        "event_type": "created",
        "job_id": "J",
        "created_at": 0,
        "last_error": "boom\r\nsecond line " + "x" * 500,
    }
    lines = format_job(record)
    assert all("\n" not in line and "\x1b" not in line and "\r" not in line for line in lines)
    assert len(lines[1]) < 330


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("note_language=German!", "note_language must be auto or a language code"),
        ("pii_redaction=maybe", "pii_redaction must be on or off"),
        ("daily_note_limit=-1", "daily_note_limit must be a whole number"),
        ("daily_note_limit=10001", "daily_note_limit must be a whole number from 0 to 10000"),
        ("daily_model_token_budget=lots", "daily_model_token_budget must be a whole number"),
    ],
)
def test_bad_note_options_are_refused_and_nothing_is_written(
    deployed: Deployment, option: str, message: str
) -> None:
    argv = ["tenants", "add", "opt-acme", "--tool", "jira", "--base-url", "https://acme.atlassian.net"]
    run = deployed.cli(*argv, "--api-user", "u@acme.example", "--api-token", "t-123", f"--option={option}")
    assert run.code == 2
    assert message in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert deployed.row("opt-acme") is None
