"""`local up` end to end: a real subprocess, real HTTP, the emulator, the sandbox, the pollers.

One stack serves the whole module (startup is the slow part); tests run in file order and the
last one stops it with SIGINT. The project root is a temporary directory linking to the repo's
template, functions, shared and dev code (``link_project``), so `.ticket-enhancer/local.json` never
touches the checkout.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from ticket_enhancer.plugins.registry import PluginManager, known_tools
from ticket_enhancer.webhooks import schemes
from ticket_enhancer.webhooks.signing import sign
from ticket_enhancer_dev.local.launcher import code_path, link_project
from ticket_enhancer_dev.sandbox.tickets import webhook_body

from tests.waiting import eventually

REPO = Path(__file__).resolve().parents[2]
TIME_SCALE = 180  # visibility timeout 360 s -> 2 s
READY_TIMEOUT = 60.0
TOOLS = tuple(known_tools())  # every registered tool: the template's and the sandbox's
DEFAULT_MODES = {tool: PluginManager().get_plugin(tool).default_auth_mode for tool in TOOLS}
LOCAL_JSON_KEYS = {
    "endpoint_url",
    "region",
    "api_url",
    "port",
    "pid",
    "time_scale",
    "tables",
    "buckets",
    "tools",
    "sandbox_url",
    "control_url",
    "control_token",
}
TOOL_KEYS = {"webhook_url", "queue_url", "dlq_url", "webhook_function", "worker_function", "ops_function"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command(port: int) -> list[str]:
    """`ticket-enhancer local up`, run in the project root (its current directory)."""
    return [
        sys.executable,
        "-m",
        "ticket_enhancer",
        "local",
        "up",
        "--port",
        str(port),
        "--time-scale",
        str(TIME_SCALE),
    ]


def subprocess_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": code_path(REPO)}


@dataclass
class LocalStack:
    proc: subprocess.Popen[str]
    root: Path
    port: int
    lines: list[str]
    config: dict[str, Any]
    http: httpx.Client

    @property
    def state_file(self) -> Path:
        return self.root / ".ticket-enhancer" / "local.json"

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.config["endpoint_url"],
            region_name=self.config["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def add_tenant(self, tool: str, tenant_id: str) -> str:
        """The tenant row and its two secrets, pointing at the sandbox; returns the webhook secret."""
        mode = DEFAULT_MODES[tool]
        raw = f"secret-{tenant_id}-{os.urandom(6).hex()}"
        secret = (
            "whsec_" + base64.b64encode(raw.encode()).decode() if mode == schemes.STANDARD_WEBHOOKS else raw
        )
        secret_id = f"ticket-enhancer/{tool}/{tenant_id}"
        self.client("dynamodb").put_item(
            TableName=self.config["tables"]["TenantsTable"],
            Item={
                "tenant_id": {"S": tenant_id},
                "tool_type": {"S": tool},
                "base_url": {"S": f"{self.config['sandbox_url']}/{tool}"},
                "enabled": {"BOOL": True},
                "secret_id": {"S": secret_id},
                "options": {"M": {}},
            },
        )
        sm = self.client("secretsmanager")
        sm.create_secret(Name=f"{secret_id}/webhook", SecretString=json.dumps({"webhook_secrets": [secret]}))
        document = {"api_user": "agent@example.com", "api_token": "token-1"}
        sm.create_secret(Name=secret_id, SecretString=json.dumps(document))
        return secret

    def signed_webhook(self, tool: str, tenant_id: str, secret: str) -> tuple[str, bytes, dict[str, str]]:
        body = json.dumps(webhook_body(tool, tenant_id)).encode()
        headers = {"Content-Type": "application/json", **sign(DEFAULT_MODES[tool], body, secret)}
        url = self.config["tools"][tool]["webhook_url"].replace("{tenant_id}", tenant_id)
        return url, body, headers

    def notes(self, tool: str) -> list[dict[str, Any]]:
        shown = self.http.get(f"{self.config['sandbox_url']}/{tool}/").json()
        return [note for notes in shown["notes"].values() for note in notes]

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self.http.get(f"{self.config['control_url']}/status").json()
        return result

    def queue_depth(self, tool: str, which: str = "queue") -> int:
        depth = self.status()["queues"][tool][which]
        return int(depth["visible"]) + int(depth["in_flight"])


def start_stack(root: Path) -> LocalStack:
    link_project(root, REPO)
    port = free_port()
    log = (root / "stack.log").open("w", encoding="utf-8")
    proc = subprocess.Popen(  # noqa: S603
        command(port),
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=subprocess_env(),
        cwd=root,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    seen: queue.Queue[str] = queue.Queue()

    def read(stream: Any) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))
            seen.put(line)

    threading.Thread(target=read, args=(proc.stdout,), daemon=True).start()
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            line = seen.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            proc.kill()
            log_text = (root / "stack.log").read_text(encoding="utf-8")[-3000:]
            raise AssertionError(f"`local up` not ready after {READY_TIMEOUT:g} s:\n{log_text}") from None
        if line.startswith("ready: "):
            break
    config = json.loads((root / ".ticket-enhancer" / "local.json").read_text(encoding="utf-8"))
    http = httpx.Client(timeout=15.0, headers={"X-Local-Token": config["control_token"]})  # control routes
    return LocalStack(proc, root, port, lines, config, http)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    started = start_stack(tmp_path_factory.mktemp("local-stack"))
    yield started
    started.http.close()
    if started.proc.poll() is None:
        started.proc.send_signal(signal.SIGINT)
        try:
            started.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            started.proc.kill()


@pytest.fixture
def fresh_sandbox(stack: LocalStack) -> LocalStack:
    assert stack.http.post(f"{stack.config['sandbox_url']}/_reset").status_code == 200
    return stack


def test_ready_prints_urls_and_writes_local_json(stack: LocalStack) -> None:
    config = stack.config
    api = f"http://127.0.0.1:{stack.port}"
    assert set(config) == LOCAL_JSON_KEYS
    assert config["api_url"] == api
    assert config["port"] == stack.port
    assert config["pid"] == stack.proc.pid
    assert config["time_scale"] == TIME_SCALE
    assert set(config["tables"]) == {"TenantsTable", "DeliveriesTable", "JobsTable", "ContextTable"}
    assert set(config["buckets"]) == {
        "ContextIndexBucket"
    }  # `tenants erase` deletes the tenant's index there
    assert set(config["tools"]) == set(TOOLS)
    assert config["sandbox_url"] == f"{api}/_sandbox"
    assert config["control_url"] == f"{api}/_local"
    for tool, info in config["tools"].items():
        assert set(info) == TOOL_KEYS
        assert info["webhook_url"] == f"{api}/webhooks/{tool}/{{tenant_id}}"
        assert info["webhook_url"] in "\n".join(stack.lines)
        assert info["queue_url"].startswith(config["endpoint_url"])
        assert info["dlq_url"].startswith(config["endpoint_url"])
    assert any(config["endpoint_url"] in line for line in stack.lines)
    assert stack.lines[-1] == f"ready: {api}"
    # the emulator holds the template's queues as declared, with the timings scaled
    sqs = stack.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=config["tools"]["jira"]["queue_url"], AttributeNames=["All"])
    assert attrs["Attributes"]["VisibilityTimeout"] == "2"
    assert attrs["Attributes"]["FifoQueue"] == "true"
    assert json.loads(attrs["Attributes"]["RedrivePolicy"])["maxReceiveCount"] == 50


def test_api_answers_like_the_http_api(stack: LocalStack) -> None:
    url = stack.config["tools"]["jira"]["webhook_url"].replace("{tenant_id}", "nobody")
    answer = stack.http.post(url, content=b"{}", headers={"Content-Type": "application/json"})
    assert (answer.status_code, answer.json()) == (401, {"error": "unauthorized"})
    chunked = stack.http.post(url, content=iter([b"{", b"}"]), headers={"Content-Type": "application/json"})
    assert chunked.status_code == 401
    assert stack.http.get(url).status_code == 404
    assert stack.http.post(f"http://127.0.0.1:{stack.port}/webhooks/nope/t1").status_code == 404


@pytest.mark.parametrize("tool", TOOLS)
def test_one_note_per_delivery(fresh_sandbox: LocalStack, tool: str) -> None:
    stack = fresh_sandbox
    tenant_id = f"acme-{tool.replace('_', '-')}"
    secret = stack.add_tenant(tool, tenant_id)
    url, body, headers = stack.signed_webhook(tool, tenant_id, secret)

    first = stack.http.post(url, content=body, headers=headers)
    again = stack.http.post(url, content=body, headers=headers)

    assert first.status_code == 202, first.text
    assert (again.status_code, again.json()) == (
        200,
        {"status": "duplicate", "job_id": first.json()["job_id"]},
    )
    eventually(lambda: stack.notes(tool), 15, f"a {tool} note")
    eventually(lambda: stack.queue_depth(tool) == 0, 10, f"the {tool} queue to drain")
    assert len(stack.notes(tool)) == 1


def test_vendor_outage_recovers_as_one_note(fresh_sandbox: LocalStack) -> None:
    stack = fresh_sandbox
    secret = stack.add_tenant("jira", "outage-jira")
    fault = {"status": 500, "count": 2, "retry_after": None}
    assert stack.http.post(f"{stack.config['sandbox_url']}/jira/_fail", json=fault).status_code == 200
    url, body, headers = stack.signed_webhook("jira", "outage-jira", secret)

    assert stack.http.post(url, content=body, headers=headers).status_code == 202

    eventually(lambda: stack.notes("jira"), 20, "the note after the outage")
    eventually(lambda: stack.queue_depth("jira") == 0, 10, "the jira queue to drain")
    assert len(stack.notes("jira")) == 1


def test_lasting_failure_gives_the_job_up(fresh_sandbox: LocalStack) -> None:
    stack = fresh_sandbox
    secret = stack.add_tenant("servicenow", "down-servicenow")
    fault = {"status": 500, "count": 1000, "retry_after": None}
    assert stack.http.post(f"{stack.config['sandbox_url']}/servicenow/_fail", json=fault).status_code == 200
    url, body, headers = stack.signed_webhook("servicenow", "down-servicenow", secret)

    assert stack.http.post(url, content=body, headers=headers).status_code == 202

    # 5 real attempts (2 s visibility plus the worker's own retries each), then the job gives up
    # `failed` and its message is acknowledged: nothing reaches the DLQ (maxReceiveCount 50).
    eventually(lambda: stack.queue_depth("servicenow") == 0, 60, "the servicenow job to give up")
    assert stack.queue_depth("servicenow", "dlq") == 0
    assert stack.notes("servicenow") == []


def test_pause_holds_jobs_until_resume(fresh_sandbox: LocalStack) -> None:
    stack = fresh_sandbox
    control = stack.config["control_url"]
    secret = stack.add_tenant("zendesk", "paused-zendesk")
    assert stack.http.post(f"{control}/pause/zendesk").json() == {"tool": "zendesk", "paused": True}
    assert stack.status()["paused"] == ["zendesk"]
    url, body, headers = stack.signed_webhook("zendesk", "paused-zendesk", secret)

    assert stack.http.post(url, content=body, headers=headers).status_code == 202
    time.sleep(1.5)  # longer than a long poll: a running poller would have taken it
    assert stack.notes("zendesk") == []
    assert stack.queue_depth("zendesk") == 1

    assert stack.http.post(f"{control}/resume/zendesk").json() == {"tool": "zendesk", "paused": False}
    eventually(lambda: stack.notes("zendesk"), 15, "the note after resume")
    assert stack.status()["paused"] == []


def test_second_local_up_on_the_same_port_fails(stack: LocalStack) -> None:
    again = subprocess.run(  # noqa: S603
        command(stack.port),
        check=False,
        cwd=stack.root,
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=30,
    )
    assert again.returncode == 2
    assert again.stdout == ""
    assert len(again.stderr.strip().splitlines()) == 1
    assert str(stack.port) in again.stderr
    assert stack.proc.poll() is None  # the running one is untouched
    assert stack.state_file.exists()


def test_a_port_in_use_fails_before_starting_anything(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        (tmp_path / "template.yaml").symlink_to(REPO / "template.yaml")
        result = subprocess.run(  # noqa: S603
            command(port),
            check=False,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=subprocess_env(),
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: port {port} is already in use (is `ticket-enhancer local up` already running?)"
    ]
    assert not (tmp_path / ".ticket-enhancer").exists()


def test_only_loopback_hosts_and_token_holders_steer_the_stack(stack: LocalStack) -> None:
    assert stat.S_IMODE(stack.state_file.stat().st_mode) == 0o600  # it holds the control token
    token = stack.config["control_token"]
    assert len(token) >= 32
    assert all(token not in line for line in stack.lines)  # never printed
    api, emulator = f"http://127.0.0.1:{stack.port}", stack.config["endpoint_url"]
    evil = {"Host": f"evil.example:{stack.port}"}
    with httpx.Client(timeout=15.0) as anyone:  # no token
        assert anyone.post(f"{stack.config['control_url']}/pause/jira").status_code == 401
        wrong = {"X-Local-Token": token[:-1] + ("A" if token[-1] != "A" else "B")}
        assert anyone.post(f"{stack.config['sandbox_url']}/_reset", headers=wrong).status_code == 401
        assert anyone.get(f"{stack.config['sandbox_url']}/jira/").status_code == 200  # a view
        for url in (f"{stack.config['control_url']}/status", f"{api}/webhooks/jira/t1"):
            refused = anyone.get(url, headers={**evil, "X-Local-Token": token})
            assert (refused.status_code, refused.json()["message"]) == (421, "Misdirected Request")
            assert refused.headers["Connection"] == "close"  # so the next request takes a new one
        emulator_port = emulator.rsplit(":", 1)[1]
        refused = anyone.post(emulator, headers={"Host": f"evil.example:{emulator_port}"})
        assert refused.status_code == 421
    assert stack.status()["paused"] == []  # nothing was paused
    stack.client("sqs").list_queues()  # boto3 (Host = the endpoint's) still gets through


def test_sigint_stops_everything(stack: LocalStack) -> None:
    everything = stack.status()["functions"]
    ops = [f for key, f in everything.items() if key.endswith("OpsFunction")]
    assert len(ops) == len(TOOLS)  # an ops function per tool (tenants sync/preview): cold until invoked
    assert all(f["pid"] is None and f["invocations"] == 0 for f in ops)
    functions = [f for key, f in everything.items() if not key.endswith("OpsFunction")]
    pids = [f["pid"] for f in functions]
    assert len(pids) == 2 * len(TOOLS) + 1  # a webhook and a worker per tool, the secrets migration
    assert all(pids), {key: f for key, f in everything.items() if not f["pid"]}
    assert [f["restarts"] for f in functions] == [0] * len(pids)  # warm: one process served every request

    stack.proc.send_signal(signal.SIGINT)

    assert stack.proc.wait(timeout=20) == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not stack.state_file.exists()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as `local up` binds it
        sock.bind(("127.0.0.1", stack.port))  # nothing listens on the API port any more
