"""The CLI with `--local` against a real `local up`: onboarding, pause/resume, DLQ redrive, the demo.

One stack serves the module (started in a temporary project root linking to the repo's template,
functions and shared code, so `.ticket-enhancer/local.json` never touches the checkout and no other
stack's file is read); every CLI command is a subprocess run in that root, as a user would run it.
Tests run in file order; the fixture stops the stack with SIGINT.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from ticket_enhancer.plugins.registry import known_tools
from ticket_enhancer.webhooks import schemes
from ticket_enhancer.webhooks.signing import sign
from ticket_enhancer_dev.local.launcher import code_path, launch, link_project
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id, webhook_body

from tests.waiting import eventually

TOOLS = tuple(known_tools())  # the demo onboards every registered tool

REPO = Path(__file__).resolve().parents[2]
TIME_SCALE = 120
VISIBILITY = 360 / TIME_SCALE  # the template's 360 s visibility timeout, scaled: 3 s
READY_TIMEOUT = 60.0
CLI_TIMEOUT = 60.0


@dataclass
class Stack:
    proc: subprocess.Popen[str]
    root: Path
    port: int
    config: dict[str, Any]
    http: httpx.Client

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        return {**env, "PYTHONPATH": code_path(REPO)}

    def cli(self, *args: str, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """`ticket-enhancer ARGS` in the project root, where `local up` wrote local.json."""
        return subprocess.run(  # noqa: S603 (our own CLI)
            [sys.executable, "-m", "ticket_enhancer", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str) -> str:
        done = self.cli(*args)
        assert (done.returncode, done.stderr) == (0, ""), (args, done.stdout, done.stderr)
        return done.stdout

    def onboard(self, tool: str, tenant_id: str) -> str:
        """`tenants add --local` on the vendor sandbox; returns the printed (generated) secret."""
        out = self.ok(
            "tenants",
            "add",
            tenant_id,
            "--tool",
            tool,
            "--base-url",
            f"http://127.0.0.1:{self.port}/_sandbox/{tool}",
            "--api-user",
            "agent@example.com",
            "--api-token",
            "sandbox-token",
            "--option",
            "synthesis_provider=offline",
            "--local",
        )
        assert f"URL:     http://127.0.0.1:{self.port}/webhooks/{tool}/{tenant_id}" in out.splitlines()
        found = re.search(r"webhook secret \(shown once\): (\S+)", out)
        assert found is not None, out
        return found[1]

    def webhook(self, tool: str, mode: str, tenant_id: str, secret: str) -> httpx.Response:
        body = json.dumps(webhook_body(tool, tenant_id)).encode()
        headers = {"Content-Type": "application/json", **sign(mode, body, secret)}
        url = self.config["tools"][tool]["webhook_url"].replace("{tenant_id}", tenant_id)
        return self.http.post(url, content=body, headers=headers)

    def notes(self, tool: str) -> list[dict[str, Any]]:
        shown = self.http.get(f"{self.config['sandbox_url']}/{tool}/").json()
        return list(shown["notes"].get(seed_ticket_id(tool), []))

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self.http.get(f"{self.config['control_url']}/status").json()
        return result

    def depth(self, tool: str, which: str = "queue") -> int:
        found = self.status()["queues"][tool][which]
        return int(found["visible"]) + int(found["in_flight"])


def note_text(note: dict[str, Any]) -> str:
    return json.dumps(note)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = link_project(tmp_path_factory.mktemp("cli-local"), REPO)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "PYTHONPATH": code_path(REPO),
    }
    launched = launch(root, time_scale=TIME_SCALE, timeout=READY_TIMEOUT, env=env)
    assert launched.ready_line == f"ready: http://127.0.0.1:{launched.port}"
    http = httpx.Client(timeout=15.0, headers=launched.control_headers)  # for the control routes
    started = Stack(launched.proc, root, launched.port, launched.config, http)
    yield started
    started.http.close()
    assert launched.stop(timeout=20) == 0
    assert not (root / ".ticket-enhancer" / "local.json").exists()


def test_pause_holds_jira_jobs_and_resume_posts_each_once(stack: Stack) -> None:
    assert stack.http.post(f"{stack.config['sandbox_url']}/_reset").status_code == 200
    secrets = {tenant_id: stack.onboard("jira", tenant_id) for tenant_id in ("paused-1", "paused-2")}
    listed = stack.ok("tenants", "list", "--local")
    assert {line.split()[0] for line in listed.splitlines()[1:]} >= set(secrets)

    paused = stack.ok("plugins", "pause", "jira", "--local")
    assert paused == "jira worker paused: jobs wait in its queue\n"
    assert stack.status()["paused"] == ["jira"]
    plugins = {
        line.split()[0]: line.split() for line in stack.ok("plugins", "list", "--local").splitlines()[1:]
    }
    assert plugins["jira"][4] == "paused"
    assert plugins["zendesk"][4] == "running"

    answers = [stack.webhook("jira", schemes.JIRA_HMAC, t, s) for t, s in secrets.items()]
    assert [a.status_code for a in answers] == [202, 202]  # webhooks are still accepted
    job_ids = {a.json()["job_id"] for a in answers}
    assert len(job_ids) == 2
    time.sleep(2 * VISIBILITY)  # a running worker would have posted by now
    assert stack.notes("jira") == []
    assert stack.depth("jira") == 2  # the jobs wait in the queue

    resumed = stack.ok("plugins", "resume", "jira", "--local")
    assert resumed == "jira worker resumed: waiting jobs are being processed\n"
    eventually(lambda: len(stack.notes("jira")) >= 2, 20, "the two notes after resume")
    eventually(lambda: stack.depth("jira") == 0, 10, "the jira queue to drain")
    time.sleep(VISIBILITY)  # a job handed back twice would show up again by now
    notes = [note_text(n) for n in stack.notes("jira")]
    assert len(notes) == 2
    assert all(sum(job_id in note for note in notes) == 1 for job_id in job_ids)
    assert stack.status()["paused"] == []


def test_dlq_redrive_turns_a_dead_job_into_exactly_one_note(stack: Stack) -> None:
    """A job in the DLQ (since deadlines and deferrals, only a poison message gets there on its own,
    after 50 receives: too slow for a test, so the job is moved there as SQS would move it)."""
    sandbox = stack.config["sandbox_url"]
    assert stack.http.post(f"{sandbox}/_reset").status_code == 200
    secret = stack.onboard("jira", "dead-1")
    stack.ok("plugins", "pause", "jira", "--local")
    answer = stack.webhook("jira", schemes.JIRA_HMAC, "dead-1", secret)
    assert answer.status_code == 202
    job_id = answer.json()["job_id"]
    sqs = boto3.client(
        "sqs",
        endpoint_url=stack.config["endpoint_url"],
        region_name=stack.config["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    urls = stack.config["tools"]["jira"]
    [message] = sqs.receive_message(
        QueueUrl=urls["queue_url"], MessageSystemAttributeNames=["MessageGroupId"], VisibilityTimeout=60
    )["Messages"]
    sqs.send_message(
        QueueUrl=urls["dlq_url"],
        MessageBody=message["Body"],
        MessageGroupId=message["Attributes"]["MessageGroupId"],
        MessageDeduplicationId=job_id,
    )
    sqs.delete_message(QueueUrl=urls["queue_url"], ReceiptHandle=message["ReceiptHandle"])
    stack.ok("plugins", "resume", "jira", "--local")
    eventually(lambda: stack.depth("jira", "dlq") == 1, 10, "the job in the jira DLQ")
    assert stack.depth("jira") == 0
    assert stack.notes("jira") == []

    listed = stack.ok("dlq", "list", "--local")
    assert "jira: 1 job(s) in the dead-letter queue" in listed.splitlines()
    assert any(line.startswith(f"  job {job_id} tenant dead-1 ticket ") for line in listed.splitlines())
    assert listed.splitlines()[-1] == "total: 1"

    redriven = stack.ok("dlq", "redrive", "--local")
    assert "jira: 1 job(s) moved back to the queue" in redriven.splitlines()
    eventually(lambda: stack.notes("jira"), 20, "the note after the redrive")
    eventually(lambda: stack.depth("jira") == 0, 10, "the jira queue to drain")
    assert stack.depth("jira", "dlq") == 0
    assert (
        stack.ok("dlq", "redrive", "--local", "--tool", "jira") == "jira: 0 job(s) moved back to the queue\n"
    )
    time.sleep(VISIBILITY)
    notes = stack.notes("jira")
    assert len(notes) == 1
    assert job_id in note_text(notes[0])


def test_local_demo_uses_the_running_stack(stack: Stack) -> None:
    done = stack.cli("local", "demo", timeout=300)  # it syncs six tenants first

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "starting the local stack" not in done.stdout  # it used the one already running
    assert f"all {len(TOOLS)} notes posted" in done.stdout
    for tool in TOOLS:  # each demo tenant's history and knowledge were synced first, and used
        assert f"{tool:17} sync -> history: done, " in done.stdout
        assert "Raised the IKE rekey timer" in json.dumps(stack.notes(tool))  # a synced resolution
        # a synced knowledge article (the tool's own knowledge base, not a hand-made file)
        assert "VPN disconnects: check IKE rekey and MTU" in json.dumps(stack.notes(tool)), tool
        # the demo's burst of near-duplicates, opened in the hour before the ticket
        assert "similar tickets in the last 60 minutes" in json.dumps(stack.notes(tool)), tool
    for tool in TOOLS:
        assert len(stack.notes(tool)) == 1
    # Freshservice's ticket and history carry only the group's id: the note names the group.
    freshservice = json.dumps(stack.notes("freshservice"))
    assert "Network Operations" in freshservice
    assert "17000001" not in freshservice


def test_tenant_commands_and_plugins_list_against_the_local_stack(stack: Stack, tmp_path: Path) -> None:
    """Every `tenants` command and `plugins list` with `--local`, checked through the webhook path."""
    secret = stack.onboard("freshservice", "fs-local")
    listed = stack.ok("tenants", "list", "--local")
    assert re.search(r"^fs-local\s+freshservice\s+yes\s+shared-token\s+http://127\.0\.0\.1", listed, re.M)
    shown = json.loads(stack.ok("tenants", "show", "fs-local", "--local"))
    assert shown["tool_type"] == "freshservice"
    assert shown["webhook_secrets"] == "1 current (values not shown)"
    assert secret not in json.dumps(shown)

    stack.ok("tenants", "disable", "fs-local", "--local")
    rotated = stack.ok("tenants", "rotate-secret", "fs-local", "--local")
    new_secret = re.search(r"new webhook secret \(shown once\): (\S+)", rotated)
    assert new_secret is not None
    stack.ok("tenants", "enable", "fs-local", "--local")

    articles = tmp_path / "kb.jsonl"
    articles.write_text(
        json.dumps({"title": "VPN", "body": "Check the gateway.", "url": "https://kb.example.com/vpn"})
    )
    assert "1 knowledge article(s) loaded" in stack.ok(
        "tenants", "knowledge", "fs-local", str(articles), "--local"
    )
    assets = tmp_path / "assets.csv"
    assets.write_text("cidr_or_host,name,notes\n10.20.0.0/16,Finance network,VLAN 120\n")
    assert "1 network/asset row(s) loaded" in stack.ok(
        "tenants", "assets", "fs-local", str(assets), "--local"
    )

    plugins = stack.ok("plugins", "list", "--local")
    assert re.search(r"^freshservice\s+1\.0\.0\s+\w+\s+builtin\s+running", plugins, re.M), plugins

    stack.ok("tenants", "remove", "fs-local", "--local")
    gone = stack.cli("tenants", "show", "fs-local", "--local")
    assert gone.returncode == 2
    assert gone.stderr.strip() == "ticket-enhancer: error: unknown tenant 'fs-local'"
