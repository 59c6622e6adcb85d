"""events/<tool>/ticket_created.json: accepted by the handler, and scripts/make_events.py keeps them so."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from scripts import make_events
from tests.support import TOOLS, Stack, invoke

pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added")


def load(tool: str, directory: Path = make_events.EVENTS_DIR) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(make_events.event_path(tool, directory).read_text(encoding="utf-8"))
    return event


def accept(aws: Stack, tool: str, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Feed the event to the tool's handler; clock frozen at the signed time (the files go stale)."""
    tenant_id = event["pathParameters"]["tenant_id"]
    aws.add_tenant(tool, tenant_id, secrets=[make_events.TEST_SECRETS[tool]])
    signed = make_events.signed_at(tool, event)
    clock = time.time if signed is None else (lambda: signed)
    return invoke(aws.handler(tool, clock=clock), event)


@pytest.mark.parametrize("tool", TOOLS)
def test_event_file_is_queued_by_its_handler(aws: Stack, tool: str) -> None:
    event = load(tool)
    assert event["version"] == "2.0"
    assert event["isBase64Encoded"] is False
    assert event["pathParameters"] == {"tool": tool, "tenant_id": make_events.TENANT_IDS[tool]}
    assert event["rawPath"] == f"/webhooks/{tool}/{make_events.TENANT_IDS[tool]}"
    assert all(name == name.lower() for name in event["headers"])  # as an HTTP API delivers them
    assert event["requestContext"]["requestId"]

    status, answer = accept(aws, tool, event)
    assert (status, answer["status"]) == (202, "queued")
    [message] = aws.drain(tool)
    assert message.job.metadata.tenant_id == make_events.TENANT_IDS[tool]
    status, again = invoke(
        aws.handler(tool, clock=lambda: make_events.signed_at(tool, event) or time.time()), event
    )
    assert (status, again) == (200, {"status": "duplicate", "job_id": answer["job_id"]})


@pytest.mark.parametrize("tool", sorted(set(TOOLS) - make_events.TIMESTAMPED))
def test_files_without_timestamps_match_the_generator(tool: str) -> None:
    path = make_events.event_path(tool)
    assert path.read_text(encoding="utf-8") == make_events.render(make_events.build_event(tool))
    assert make_events.problems(tool, load(tool)) == []


@pytest.mark.parametrize("tool", sorted(make_events.TIMESTAMPED))
def test_timestamped_files_are_valid_when_signed_and_stale_after_300_seconds(tool: str) -> None:
    event = load(tool)
    signed = make_events.signed_at(tool, event)
    assert signed is not None
    assert make_events.problems(tool, event, now=signed + 300) == []
    [stale] = make_events.problems(tool, event, now=signed + 301)
    assert stale.startswith("stale")


@pytest.mark.parametrize("tool", TOOLS)
def test_freshly_generated_events_are_queued(aws: Stack, tool: str) -> None:
    event = make_events.build_event(tool, now=time.time())
    assert make_events.problems(tool, event) == []
    status, _ = accept(aws, tool, event)
    assert status == 202


def test_script_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = time.time()
    assert make_events.main(["--dir", str(tmp_path), "--now", str(now)]) == 0
    assert sorted(p.parent.name for p in tmp_path.glob("*/ticket_created.json")) == sorted(TOOLS)
    assert make_events.main(["--check", "--dir", str(tmp_path), "--now", str(now + 60)]) == 0

    assert make_events.main(["--check", "--dir", str(tmp_path), "--now", str(now + 400)]) == 1
    out = capsys.readouterr().out
    assert out.count("stale") == 2
    assert "zendesk" in out
    assert "servicenow" in out

    tampered = load("jira", tmp_path)
    tampered["body"] = tampered["body"].replace("VPN", "DNS")
    make_events.event_path("jira", tmp_path).write_text(make_events.render(tampered), encoding="utf-8")
    (tmp_path / "freshservice" / "ticket_created.json").unlink()
    assert make_events.main(["--check", "--dir", str(tmp_path), "--now", str(now)]) == 1
    out = capsys.readouterr().out
    assert "signature does not verify" in out
    assert "missing" in out

    # Regenerating re-signs the stale ones; the timestamp-free files stay byte-identical.
    sdp_before = (tmp_path / "servicedesk_plus" / "ticket_created.json").read_text(encoding="utf-8")
    assert make_events.main(["--dir", str(tmp_path), "--now", str(now + 400)]) == 0
    assert make_events.main(["--check", "--dir", str(tmp_path), "--now", str(now + 400)]) == 0
    assert (tmp_path / "servicedesk_plus" / "ticket_created.json").read_text(encoding="utf-8") == sdp_before
