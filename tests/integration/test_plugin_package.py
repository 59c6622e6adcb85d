"""A tool shipped as a package of its own: "a new tool is one folder" holds for a pip-installed plugin.

``tests/fixtures/acme_desk_plugin`` (Acme Desk, a made-up tool) is pip-installed into a directory of
its own, outside the environment, and found through the ``ticket_enhancer.plugins`` entry-point
group only. Without a line of ticket_enhancer changed: ``scripts/gen_template.py --include`` gives it
its functions, queue, DLQ and alarms; ``tenants add`` onboards it; ``local up`` runs its webhook and
worker, and a signed webhook becomes one internal note on a fake Acme Desk (an HTTP server here).
``sam build`` of such a template is run by hand (README, "Adding a tool as a pip package").
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from ticket_enhancer.webhooks import schemes
from ticket_enhancer.webhooks.signing import sign
from ticket_enhancer_dev.local.launcher import Launched, launch

from tests.waiting import eventually

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "acme_desk_plugin"
TOOL = "acme_desk"
TICKET = {
    "id": "41",
    "subject": "Printer on fire",
    "description": "The third-floor printer is smoking after the firmware update.",
    "priority": "urgent",
    "requester": "pat@example.com",
    "status": "open",
}
API_TOKEN = "acme-token-1"


def run(args: list[str], env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own interpreter and scripts)
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def python_env(*paths: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TICKET_ENHANCER_"))}
    return {**env, "PYTHONPATH": os.pathsep.join(str(p) for p in paths)}


PIP_OFFLINE = ["-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin, pip-installed (no dependencies) into a directory of its own."""
    target = tmp_path_factory.mktemp("acme-site")
    done = run(
        # its build backend (flit_core) is in the dev environment: no build isolation, no index
        [*PIP_OFFLINE, "--target", str(target), str(FIXTURE)],
        {**os.environ},
    )
    assert done.returncode == 0, done.stderr
    assert list(target.glob("acme_desk_plugin-*.dist-info/entry_points.txt"))
    return target


def generate(root: Path, site: Path, *options: str) -> None:
    done = run(
        ["scripts/gen_template.py", *options, "--output", str(root)], python_env(REPO / "shared", REPO, site)
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr


def test_include_generates_the_plugins_resources(site: Path, tmp_path: Path) -> None:
    generate(tmp_path, site, "--include", TOOL)

    template = yaml.safe_load((tmp_path / "template.yaml").read_text(encoding="utf-8"))
    tools = template["Metadata"]["TicketEnhancer"]["Tools"]
    assert tools[-1] == TOOL
    assert {"jira", "zammad"} <= set(tools)  # the built-ins stay
    resources = template["Resources"]
    for suffix in ("WebhookFunction", "WorkerFunction", "Queue", "DeadLetterQueue", "WorkerRole"):
        assert f"AcmeDesk{suffix}" in resources
    for alarm in ("DeadLetterAlarm", "WebhookErrorsAlarm", "WorkerErrorsAlarm", "JobsFailedAlarm"):
        assert resources[f"AcmeDesk{alarm}"]["Type"] == "AWS::CloudWatch::Alarm"
    webhook = resources["AcmeDeskWebhookFunction"]["Properties"]
    assert webhook["Events"]["AcmeDeskWebhook"]["Properties"]["Path"] == "/webhooks/acme_desk/{tenant_id}"
    assert webhook["Environment"]["Variables"]["TICKET_ENHANCER_ENTRY_POINTS"] == "1"
    # built-ins do not scan entry points at init
    jira = resources["JiraWebhookFunction"]["Properties"]["Environment"]["Variables"]
    assert "TICKET_ENHANCER_ENTRY_POINTS" not in jira
    assert "AcmeDeskWebhookUrl" in template["Outputs"]
    # the package goes into both functions, from where it was installed (sam build pip-installs it)
    for kind in ("webhook", "worker"):
        folder = tmp_path / "functions" / f"acme_desk_{kind}"
        assert (
            (folder / f"acme_desk_{kind}.py")
            .read_text(encoding="utf-8")
            .endswith(f'handler = make_{kind}_handler("{TOOL}")\n')
        )
        requirements = (folder / "requirements.txt").read_text(encoding="utf-8").splitlines()
        assert requirements[-1] == f"acme-desk-plugin @ {FIXTURE.as_uri()}"
    assert not (tmp_path / "functions" / "jira_webhook" / "requirements.txt").exists()
    # --check agrees with what was written
    check = run(
        ["scripts/gen_template.py", "--check", "--include", TOOL, "--output", str(tmp_path)],
        python_env(REPO / "shared", REPO, site),
    )
    assert check.returncode == 0, check.stderr


def test_an_unknown_or_uninstalled_tool_is_refused(tmp_path: Path) -> None:
    done = run(
        ["scripts/gen_template.py", "--include", TOOL, "--output", str(tmp_path)],
        python_env(REPO / "shared", REPO),
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: unknown tool {TOOL!r}: neither a built-in nor an installed")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "template.yaml").exists()


# -- end to end through the local stack ------------------------------------------------------------
@dataclass
class FakeAcmeDesk:
    """Acme Desk's REST API for ticket 41: the ticket, its notes, adding a note (bearer token)."""

    notes: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def answer(self, status: int, document: Any) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def authorised(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {API_TOKEN}":
                    return True
                vendor.refused += 1
                self.answer(401, {"error": "unauthorised"})
                return False

            def do_GET(self) -> None:
                if not self.authorised():
                    return
                if self.path == "/api/tickets/41":
                    self.answer(200, TICKET)
                elif self.path == "/api/tickets/41/notes":
                    self.answer(200, {"notes": vendor.notes})
                else:
                    self.answer(404, {"error": "not found"})

            def do_POST(self) -> None:
                if not self.authorised():
                    return
                length = int(self.headers.get("Content-Length", "0"))
                document = json.loads(self.rfile.read(length))
                if self.path != "/api/tickets/41/notes":
                    self.answer(404, {"error": "not found"})
                    return
                vendor.notes.append(document)
                self.answer(201, {"id": len(vendor.notes)})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture(scope="module")
def vendor() -> Iterator[FakeAcmeDesk]:
    fake = FakeAcmeDesk()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def stack(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    """`local up` on a template of Acme Desk only (two functions start fast), the plugin importable
    from its own directory only."""
    root = tmp_path_factory.mktemp("acme-project")
    (root / "shared").symlink_to(REPO / "shared")
    (root / "dev").symlink_to(REPO / "dev")
    (root / "functions").mkdir()
    (root / "functions" / "secrets_migration").symlink_to(REPO / "functions" / "secrets_migration")
    generate(root, site, "--only", TOOL)
    launched = launch(root, time_scale=120, timeout=90, env=python_env(REPO / "shared", REPO / "dev", site))
    yield launched
    assert launched.stop(timeout=20) == 0


def cli(stack: Launched, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run(["-m", "ticket_enhancer", *args], env, cwd=stack.root)


def test_onboarded_with_tenants_add_and_noted_through_the_local_stack(
    stack: Launched, site: Path, vendor: FakeAcmeDesk
) -> None:
    assert list(stack.config["tools"]) == [TOOL]
    add = ["tenants", "add", "acme-1", "--tool", TOOL, "--base-url", vendor.url, "--local"]
    secret_args = ["--api-token", API_TOKEN, "--option", "synthesis_provider=offline"]

    # Not installed where the CLI runs: an unknown tool, and nothing is written.
    missing = cli(stack, python_env(REPO / "shared", REPO / "dev"), *add, *secret_args)
    assert (missing.returncode, missing.stdout) == (2, "")
    assert f"unknown tool {TOOL!r}" in missing.stderr

    # Installed: onboarded like a built-in, with no switch to turn on.
    added = cli(stack, python_env(REPO / "shared", REPO / "dev", site), *add, *secret_args)
    assert (added.returncode, added.stderr) == (0, ""), added.stdout
    url = stack.config["tools"][TOOL]["webhook_url"].replace("{tenant_id}", "acme-1")
    assert f"URL:     {url}" in added.stdout.splitlines()
    found = re.search(r"webhook secret \(shown once\): (\S+)", added.stdout)
    assert found is not None, added.stdout
    listed = cli(stack, python_env(REPO / "shared", REPO / "dev", site), "plugins", "list", "--local")
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:]}
    assert rows[TOOL][1:5] == ["0.1.0", "loaded", "entry-point", "running"], listed.stdout

    body = json.dumps(
        {"event": "ticket.created", "ticket": {"id": "41", "subject": TICKET["subject"]}}
    ).encode()
    headers = {"Content-Type": "application/json", **sign(schemes.SHARED_TOKEN, body, found[1])}
    with httpx.Client(timeout=15.0) as http:
        first = http.post(url, content=body, headers=headers)
        again = http.post(url, content=body, headers=headers)
        forged = http.post(url, content=body, headers={"Content-Type": "application/json"})
    assert first.status_code == 202, first.text
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert forged.status_code == 401

    eventually(lambda: vendor.notes, 30, "the Acme Desk note")
    [note] = vendor.notes
    assert note["internal"] is True
    assert TICKET["subject"] in note["body"]
    assert first.json()["job_id"] in note["body"]  # the footer that makes posting idempotent
    assert vendor.refused == 0
