"""The local stack's guards (``local/guard.py``): a loopback Host only (no DNS rebinding from a web
page), the control token of local.json (mode 0600), and chunked bodies capped like the others.

A real ``LocalServer`` on an ephemeral loopback port, spoken to over raw sockets where a client
library would fix the request up (Host, chunking)."""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from ticket_enhancer_dev.cli import plugins
from ticket_enhancer_dev.cli.errors import CliError
from ticket_enhancer_dev.cli.target import load_local
from ticket_enhancer_dev.local import server as server_module
from ticket_enhancer_dev.local.emulator import Emulator
from ticket_enhancer_dev.local.functions import Outcome
from ticket_enhancer_dev.local.guard import (
    HostCheck,
    host_allowed,
    loopback_hosts,
    new_token,
    read_chunked,
    token_matches,
    write_private,
)
from ticket_enhancer_dev.local.server import Handler, LocalApp, LocalServer, Route
from ticket_enhancer_dev.local.stack import _write_state
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

from tests.waiting import eventually

TOKEN = "a-fixed-control-token-for-these-tests-0123456789"  # fixed: test ids stay stable


class FakePoller:
    def __init__(self, tool: str) -> None:
        self.tool, self.paused = tool, False

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False


class FakeFunction:
    """Stands in for a FunctionProcess: keeps the events it is invoked with."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> Outcome:
        self.events.append(event)
        return Outcome("ok", {"statusCode": 202, "body": "{}"})


class Running:
    def __init__(self, server: LocalServer, app: LocalApp, function: FakeFunction) -> None:
        self.server, self.app, self.function = server, app, function
        self.port = int(server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def raw(self, request: bytes) -> tuple[int, bytes]:
        """Send ``request`` as is; the status code and body of the answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(request)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), body


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def running() -> Iterator[Running]:
    function = FakeFunction()
    route = Route("POST", "/webhooks/jira/{tenant_id}", cast(Any, function))
    pollers = cast(Any, {"jira": FakePoller("jira")})
    app = LocalApp([route], VendorSandbox(), pollers, lambda: {"paused": []}, TOKEN)
    server = LocalServer(("127.0.0.1", 0), Handler)
    server.app = app
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield Running(server, app, function)
    server.shutdown()
    server.server_close()


def request(method: str, path: str, host: str, extra: str = "", body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}"
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


# -- Host --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/webhooks/jira/t1", "/_local/status", "/_sandbox/jira/", "/_sandbox/_reset", "/nope"]
)
@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1", "127.0.0.1:1", "localhost.evil:{port}"])
def test_a_foreign_host_is_refused_on_every_route(running: Running, path: str, host: str) -> None:
    token = f"X-Local-Token: {TOKEN}\r\n"
    status, body = running.raw(request("POST", path, host.format(port=running.port), token))

    assert status == 421
    assert json.loads(body)["message"] == "Misdirected Request"
    assert running.function.events == []  # nothing ran


def test_no_host_or_two_hosts_are_refused(running: Running) -> None:
    own = f"127.0.0.1:{running.port}"
    assert running.raw(b"GET /_sandbox/jira/ HTTP/1.0\r\n\r\n")[0] == 421
    two = f"GET /_sandbox/jira/ HTTP/1.1\r\nHost: {own}\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    assert running.raw(two.encode())[0] == 421


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST"])
def test_the_loopback_host_is_served(running: Running, name: str) -> None:
    status, body = running.raw(request("GET", "/_sandbox/jira/", f"{name}:{running.port}"))
    assert status == 200
    assert "tickets" in json.loads(body)


def test_host_rules() -> None:
    allowed = loopback_hosts(3000)
    assert allowed == {"127.0.0.1:3000", "localhost:3000"}
    assert host_allowed(["127.0.0.1:3000"], allowed)
    assert not host_allowed([], allowed)
    assert not host_allowed(["127.0.0.1:3000", "127.0.0.1:3000"], allowed)
    assert not host_allowed(["[::1]:3000"], allowed)
    assert loopback_hosts(80) >= {"127.0.0.1", "localhost"}


# -- control token -----------------------------------------------------------------------------------


CONTROL = [
    ("POST", "/_local/pause/jira"),
    ("POST", "/_local/resume/jira"),
    ("GET", "/_local/status"),
    ("POST", "/_sandbox/_reset"),
    ("POST", "/_sandbox/jira/_fail"),
    ("POST", "/_sandbox/jira/_tickets"),
    ("POST", "/_sandbox/jira/_delay"),
]


@pytest.mark.parametrize(("method", "path"), CONTROL)
@pytest.mark.parametrize(
    "sent", [None, "", "wrong", TOKEN[:-1], TOKEN + "x"], ids=["none", "empty", "wrong", "short", "long"]
)
def test_control_routes_need_the_token(
    running: Running, http: httpx.Client, method: str, path: str, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Local-Token": sent}
    answer = http.request(method, running.url + path, headers=headers, json={"ticket_ids": ["9"]})

    assert answer.status_code == 401
    assert "X-Local-Token" in answer.json()["error"]
    assert running.app.pollers["jira"].paused is False


def test_the_token_pauses_and_is_not_passed_on(running: Running, http: httpx.Client) -> None:
    auth = {"X-Local-Token": TOKEN}
    paused = http.post(f"{running.url}/_local/pause/jira", headers=auth)
    assert (paused.status_code, paused.json()) == (200, {"tool": "jira", "paused": True})
    assert http.post(f"{running.url}/_sandbox/_reset", headers=auth).status_code == 200
    assert http.get(f"{running.url}/_sandbox/jira/_notes").status_code == 200  # views need none
    assert http.post(f"{running.url}/webhooks/jira/t1", headers=auth, content=b"{}").status_code == 202

    (event,) = running.function.events
    assert "x-local-token" not in event["headers"]  # the functions never see it


def test_a_token_is_random_and_compared_whole() -> None:
    assert new_token() != new_token()
    assert len(new_token()) >= 32
    assert token_matches(TOKEN, TOKEN)
    assert not token_matches(None, TOKEN)
    assert not token_matches("", "")  # an empty expected token matches nothing
    assert not token_matches("\u00e9", TOKEN)  # not ASCII: no TypeError


def test_the_cli_sends_the_token_from_local_json(running: Running, tmp_path: Path) -> None:
    state = {
        "region": "us-east-1",
        "endpoint_url": "http://127.0.0.1:9",
        "tables": {},
        "tools": {},
        "control_url": f"{running.url}/_local",
        "control_token": TOKEN,
    }
    _write_state(tmp_path / ".ticket-enhancer" / "local.json", state)
    target = load_local(tmp_path)

    assert plugins.set_paused(target, "jira", paused=True) == 0
    assert running.app.pollers["jira"].paused is True
    target.control_token = "stolen-guess"
    with pytest.raises(CliError, match="refused the control token"):
        plugins.set_paused(target, "jira", paused=False)


# -- local.json ------------------------------------------------------------------------------------


def test_local_json_is_0600_from_its_creation(tmp_path: Path) -> None:
    path = tmp_path / ".ticket-enhancer" / "local.json"
    previous = os.umask(0)  # even with a permissive umask
    try:
        _write_state(path, {"control_token": TOKEN})
        (path.parent / "local.json.tmp").symlink_to(tmp_path / "elsewhere")  # planted: not followed
        _write_state(path, {"control_token": "again"})
    finally:
        os.umask(previous)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text(encoding="utf-8")) == {"control_token": "again"}
    assert not (tmp_path / "elsewhere").exists()
    assert sorted(p.name for p in path.parent.iterdir()) == ["local.json"]


def test_write_private_creates_the_file_with_mode_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modes: list[int] = []
    real_open = os.open

    def spy(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        modes.append(mode)
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    write_private(tmp_path / "state.json", "{}")

    assert modes == [0o600]  # never created wider and narrowed afterwards


# -- chunked bodies ----------------------------------------------------------------------------------


def chunked(path: str, port: int, chunks: list[bytes], declared: list[int] | None = None) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
    head += "Transfer-Encoding: chunked\r\n"
    body = b"".join(
        f"{size:x}\r\n".encode() + chunk + b"\r\n"
        for size, chunk in zip(declared or [len(c) for c in chunks], chunks, strict=True)
    )
    return f"{head}Connection: close\r\n\r\n".encode() + body + b"0\r\n\r\n"


def test_a_chunked_body_within_the_cap_is_read(running: Running) -> None:
    status, _ = running.raw(chunked("/webhooks/jira/t1", running.port, [b'{"a":', b" 1}"]))
    assert status == 202
    assert running.function.events[0]["body"] == '{"a": 1}'


def test_a_chunked_body_over_the_cap_is_413(running: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_module, "MAX_BODY_BYTES", 1000)
    many = chunked("/webhooks/jira/t1", running.port, [b"x" * 400] * 3)  # 1200 bytes in all
    one_huge = chunked("/webhooks/jira/t1", running.port, [b"x" * 10], declared=[1 << 40])

    assert running.raw(many)[0] == 413
    assert running.raw(one_huge)[0] == 413  # refused before reading it
    assert running.function.events == []


def test_read_chunked_caps_and_validates() -> None:
    def read(raw: bytes, limit: int = 100) -> bytes:
        return read_chunked(io.BytesIO(raw), limit)

    assert read(b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n") == b"abcde"
    assert read(b"0\r\n\r\n") == b""
    with pytest.raises(OverflowError):
        read(b"64\r\n" + b"x" * 100 + b"\r\n1\r\ny\r\n0\r\n\r\n")  # 101 bytes
    with pytest.raises(OverflowError):
        read(b"ffffffffffff\r\n")
    for bad in (
        b"-1\r\nx\r\n0\r\n\r\n",
        b"0x3\r\nabc\r\n0\r\n\r\n",
        b"1_0\r\n",
        b"zz\r\n",
        b"3\r\nab",  # cut short
        b"3\r\nabcX\r\n0\r\n\r\n",
        b"1" * 2000 + b"\r\n",  # an endless size line
        b"0\r\n" + b"X: 1\r\n" * 100 + b"\r\n",  # endless trailers
    ):
        with pytest.raises(ValueError):  # noqa: PT011
            read(bad)


# -- the emulator ------------------------------------------------------------------------------------


def test_host_check_middleware() -> None:
    seen: list[str] = []

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.append(status)

    guarded = HostCheck(app)

    def call(host: str | None) -> str:
        environ: dict[str, Any] = {} if host is None else {"HTTP_HOST": host}
        body = b"".join(guarded(environ, start_response))
        return f"{seen[-1]} {body.decode()}"

    assert call("127.0.0.1:5000").startswith("421")  # nothing is answered before the port is known
    guarded.allowed = loopback_hosts(5000)
    assert call("127.0.0.1:5000") == "200 OK ok"
    assert call("localhost:5000") == "200 OK ok"
    assert call("evil.example:5000").startswith("421 Misdirected Request")
    assert call(None).startswith("421")


def test_the_emulator_answers_boto3_but_not_a_foreign_host(http: httpx.Client) -> None:
    emulator = Emulator()
    endpoint = emulator.start()
    try:
        sqs = emulator.client("sqs")
        url = sqs.create_queue(QueueName="host-check")["QueueUrl"]
        assert url in sqs.list_queues()["QueueUrls"]
        port = endpoint.rsplit(":", 1)[1]
        refused = http.post(f"{endpoint}/moto-api/reset", headers={"Host": f"evil.example:{port}"})
        assert (refused.status_code, refused.json()["message"]) == (421, "Misdirected Request")
        assert url in sqs.list_queues()["QueueUrls"]  # the reset never ran
    finally:
        emulator.stop()


def test_invoking_a_function_needs_the_token_and_a_known_name(running: Running, http: httpx.Client) -> None:
    """`POST /_local/invoke/{name}`: Lambda's Invoke for the ops functions (`tenants sync`)."""
    running.app.functions = {"ops": cast(Any, running.function)}
    url = running.url + "/_local/invoke/ops"
    assert http.post(url, json={"action": "preview"}).status_code == 401
    assert running.function.events == []
    auth = {"X-Local-Token": TOKEN}
    assert http.post(running.url + "/_local/invoke/nope", json={}, headers=auth).status_code == 404
    assert http.post(url, content=b"{not json", headers=auth).status_code == 400
    answer = http.post(url, json={"action": "preview"}, headers=auth)
    assert answer.status_code == 200
    assert answer.json() == {"statusCode": 202, "body": "{}"}  # the function's own result
    queued = http.post(url, json={"action": "sync"}, headers={**auth, "X-Invocation-Type": "Event"})
    assert queued.status_code == 202
    eventually(lambda: {"action": "sync"} in running.function.events, 5, "the queued invocation")
