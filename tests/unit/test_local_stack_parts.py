"""The local stack's parts without the stack: template reading, HTTP API events, partial batches,
function processes (crash, error, timeout) and the sandbox/control routes."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ticket_enhancer_dev.local.functions import FunctionProcess, FunctionSpec, Outcome
from ticket_enhancer_dev.local.http_api import http_api_event, http_api_reply
from ticket_enhancer_dev.local.launcher import code_path
from ticket_enhancer_dev.local.poller import lambda_record, succeeded
from ticket_enhancer_dev.local.server import LocalApp
from ticket_enhancer_dev.local.template import load
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

REPO = Path(__file__).resolve().parents[2]


def test_template_is_read_into_what_the_stack_runs() -> None:
    template = load(REPO)

    assert template.tools == ["jira", "zendesk", "servicenow", "freshservice", "servicedesk_plus", "zammad"]
    assert template.tables["DeliveriesTable"].ttl_attribute == "expires_at"
    assert template.tables["TenantsTable"].ttl_attribute is None
    queue = template.queues["JiraQueue"]
    assert (queue.fifo, queue.dlq, queue.max_receive_count) == (True, "JiraDeadLetterQueue", 50)
    assert queue.attributes["VisibilityTimeout"] == "360"
    webhook, worker = template.webhook_function("jira"), template.worker_function("jira")
    assert webhook is not None
    assert worker is not None
    assert webhook.route is not None
    assert webhook.route.route_key == "POST /webhooks/jira/{tenant_id}"
    assert webhook.code_dir == REPO / "functions" / "jira_webhook"
    assert webhook.env["QUEUE_URL"] == {"Ref": "JiraQueue"}
    assert webhook.env["TENANTS_TABLE"] == {"Ref": "TenantsTable"}  # from Globals
    assert worker.sqs is not None
    assert (worker.sqs.queue, worker.sqs.batch_size, worker.sqs.report_failures) == ("JiraQueue", 10, True)


def event(content_type: str, body: bytes) -> dict[str, Any]:
    return http_api_event(
        route_key="POST /webhooks/jira/{tenant_id}",
        method="POST",
        raw_path="/webhooks/jira/t1",
        raw_query="a=1&a=2",
        headers=[
            ("Content-Type", content_type),
            ("X-Hub-Signature", "sha256=ab"),
            ("X-Dup", "1"),
            ("x-dup", "2"),
        ],
        body=body,
        path_parameters={"tenant_id": "t1"},
        source_ip="127.0.0.1",
    )


def test_http_api_event_is_payload_2_0() -> None:
    sent = event("application/json; charset=utf-8", b'{"a": 1}')

    assert sent["version"] == "2.0"
    assert sent["rawPath"] == "/webhooks/jira/t1"
    assert sent["pathParameters"] == {"tenant_id": "t1"}
    assert sent["queryStringParameters"] == {"a": "1,2"}
    assert sent["headers"]["x-hub-signature"] == "sha256=ab"
    assert sent["headers"]["x-dup"] == "1,2"
    assert sent["requestContext"]["http"]["method"] == "POST"
    assert sent["requestContext"]["requestId"]
    assert (sent["body"], sent["isBase64Encoded"]) == ('{"a": 1}', False)


def test_http_api_event_base64_encodes_binary_bodies() -> None:
    sent = event("application/octet-stream", b"\x00\xff")

    assert sent["isBase64Encoded"] is True
    assert base64.b64decode(sent["body"]) == b"\x00\xff"


def test_http_api_reply_maps_outcomes() -> None:
    ok = http_api_reply(Outcome("ok", {"statusCode": 202, "headers": {"X-A": "b"}, "body": "{}"}), "r1")
    assert (ok.status, ok.body) == (202, b"{}")
    assert ("x-a", "b") in ok.headers
    assert http_api_reply(Outcome("ok", {"x": 1}), "r1").status == 200
    assert http_api_reply(Outcome("error", error="boom"), "r1").status == 500
    assert http_api_reply(Outcome("crashed", error="died"), "r1").status == 502


MESSAGES: list[Any] = [
    {
        "MessageId": f"m{i}",
        "ReceiptHandle": f"h{i}",
        "Body": "{}",
        "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "Attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": "g"},
    }
    for i in range(3)
]


@pytest.mark.parametrize(
    ("outcome", "deleted"),
    [
        (Outcome("ok", {"batchItemFailures": []}), ["h0", "h1", "h2"]),
        (Outcome("ok", None), ["h0", "h1", "h2"]),
        (Outcome("ok", {"batchItemFailures": [{"itemIdentifier": "m1"}]}), ["h0", "h2"]),
        (Outcome("ok", {"batchItemFailures": [{"itemIdentifier": "unknown"}]}), []),
        (Outcome("ok", {"batchItemFailures": [{"itemIdentifier": ""}]}), []),
        (Outcome("error", error="boom"), []),
        (Outcome("crashed"), []),
    ],
)
def test_partial_batch_rules(outcome: Outcome, deleted: list[str]) -> None:
    assert succeeded(MESSAGES, outcome, report_failures=True) == deleted


def test_lambda_record_shape() -> None:
    record = lambda_record(MESSAGES[0], "arn:aws:sqs:us-east-1:123456789012:q.fifo", "us-east-1")

    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:q.fifo"
    assert record["attributes"]["MessageGroupId"] == "g"
    assert (record["messageId"], record["receiptHandle"], record["md5OfBody"]) == (
        "m0",
        "h0",
        "99914b932bd37a50b983c5e7c90ae93b",
    )


HANDLER = """
import os, time
def handler(event, context):
    print("a log line on stdout must not break the protocol")
    if event.get("crash"):
        os._exit(3)
    if event.get("raise"):
        raise ValueError("boom")
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"pid": os.getpid(), "remaining": context.get_remaining_time_in_millis()}
"""


@pytest.fixture
def process(tmp_path: Path) -> Iterator[FunctionProcess]:
    (tmp_path / "tiny_handler.py").write_text(HANDLER, encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": f"{tmp_path}{os.pathsep}{code_path(REPO)}"}
    spec = FunctionSpec("Tiny", "tiny", "tiny_handler.handler", tmp_path, env, timeout=1.0)
    function = FunctionProcess(spec)
    assert function.start()
    yield function
    function.stop()


def test_function_process_stays_warm_and_survives_errors(process: FunctionProcess) -> None:
    first = process.invoke({})
    raised = process.invoke({"raise": True})
    again = process.invoke({})

    assert first.ok
    assert 0 < first.result["remaining"] <= 1000
    assert (raised.status, raised.error) == ("error", "boom")
    assert again.result["pid"] == first.result["pid"] == process.pid


@pytest.mark.parametrize(("event", "status"), [({"crash": True}, "crashed"), ({"sleep": 3}, "timeout")])
def test_function_process_restarts_after_a_crash_or_timeout(
    process: FunctionProcess, event: dict[str, Any], status: str
) -> None:
    before = process.pid

    assert process.invoke(event).status == status
    after = process.invoke({})

    assert after.ok
    assert after.result["pid"] != before
    assert process.restarts == 1


def test_function_process_is_gone_after_stop(process: FunctionProcess) -> None:
    pid = process.pid
    assert pid is not None
    process.stop()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left behind
    assert process.invoke({}).status == "crashed"  # never restarted once stopped


TOKEN = "local-token-for-tests"
AUTH = [("X-Local-Token", TOKEN)]  # what the control routes need (test_local_security.py)


def app() -> LocalApp:
    return LocalApp(
        routes=[], sandbox=VendorSandbox(), pollers={}, status=lambda: {"paused": []}, token=TOKEN
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"status": 503, "count": 2, "retry_after": 1}', 200),
        (b'{"status": 99}', 400),
        (b'{"count": 0}', 400),
        (b"[]", 400),
        (b"not json", 400),
    ],
)
def test_sandbox_fail_endpoint_validates(body: bytes, status: int) -> None:
    assert app().handle("POST", "/_sandbox/jira/_fail", AUTH, body, "127.0.0.1").status == status


def test_sandbox_fault_then_reset() -> None:
    local = app()
    local.handle("POST", "/_sandbox/jira/_fail", AUTH, b'{"status": 500, "count": 1}', "127.0.0.1")

    failed = local.handle("GET", "/_sandbox/jira/rest/api/3/issue/10001", [], b"", "127.0.0.1")
    healthy = local.handle("GET", "/_sandbox/jira/rest/api/3/issue/10001", [], b"", "127.0.0.1")

    assert (failed.status, healthy.status) == (500, 200)
    assert local.handle("POST", "/_sandbox/_reset", AUTH, b"", "127.0.0.1").status == 200
    shown = json.loads(local.handle("GET", "/_sandbox/jira/", [], b"", "127.0.0.1").body)
    assert shown["notes"] == {}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"seconds": 0.05}', 200),
        (b'{"seconds": 0}', 200),
        (b'{"seconds": -1}', 400),
        (b'{"seconds": 31}', 400),
        (b'{"seconds": true}', 400),
        (b'{"seconds": "1"}', 400),
        (b"[]", 400),
        (b"not json", 400),
    ],
)
def test_sandbox_delay_endpoint_validates(body: bytes, status: int) -> None:
    assert app().handle("POST", "/_sandbox/jira/_delay", AUTH, body, "127.0.0.1").status == status


def test_sandbox_delay_slows_that_tools_vendor_calls_only_until_reset() -> None:
    """A slow vendor for the load test: each of the tool's API calls answers ``seconds`` later."""
    from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id

    local = app()
    assert local.handle("POST", "/_sandbox/nope/_delay", AUTH, b'{"seconds": 1}', "127.0.0.1").status == 404
    local.handle("POST", "/_sandbox/jira/_delay", AUTH, b'{"seconds": 0.3}', "127.0.0.1")

    def timed(path: str) -> float:
        started = time.monotonic()
        local.handle("GET", path, [], b"", "127.0.0.1")
        return time.monotonic() - started

    assert timed("/_sandbox/jira/rest/api/3/issue/10001") >= 0.3
    assert timed(f"/_sandbox/zendesk/api/v2/tickets/{seed_ticket_id('zendesk')}.json") < 0.3
    assert timed("/_sandbox/jira/_notes") < 0.3  # the views are not the vendor's API
    local.handle("POST", "/_sandbox/_reset", AUTH, b"", "127.0.0.1")
    assert timed("/_sandbox/jira/rest/api/3/issue/10001") < 0.3


def test_unknown_routes_are_404() -> None:
    local = app()
    assert local.handle("POST", "/webhooks/jira/t1", [], b"", "127.0.0.1").status == 404
    assert local.handle("POST", "/_local/pause/nope", AUTH, b"", "127.0.0.1").status == 404


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/_sandbox/jira/_tickets", b'{"ticket_ids": ["500001", "500002"]}', 200),
        ("/_sandbox/jira/_tickets", b'{"ticket_ids": []}', 400),
        ("/_sandbox/jira/_tickets", b'{"ticket_ids": ["../etc"]}', 400),
        ("/_sandbox/jira/_tickets", b'{"ticket_ids": [1]}', 400),
        ("/_sandbox/jira/_tickets", b"[]", 400),
        ("/_sandbox/jira/_tickets", b"\xff", 400),
        ("/_sandbox/nope/_tickets", b'{"ticket_ids": ["1"]}', 404),
        ("/_sandbox/jira/_tickets", b'{"ticket_ids": ["1"], "fields": {"subject": 1}}', 400),
        ("/_sandbox/jira/_tickets", b'{"ticket_ids": ["1"], "fields": ["subject"]}', 400),
    ],
)
def test_sandbox_tickets_endpoint_validates(path: str, body: bytes, status: int) -> None:
    assert app().handle("POST", path, AUTH, body, "127.0.0.1").status == status


def test_sandbox_tickets_are_added_and_notes_counted() -> None:
    local = app()
    added = local.handle("POST", "/_sandbox/zendesk/_tickets", AUTH, b'{"ticket_ids": ["900"]}', "127.0.0.1")
    assert json.loads(added.body) == {"tool": "zendesk", "added": 1}
    assert local.handle("GET", "/_sandbox/zendesk/api/v2/tickets/900", [], b"", "127.0.0.1").status == 200
    note = json.dumps({"ticket": {"comment": {"html_body": "<p>hi</p>", "public": False}}}).encode()
    assert local.handle("PUT", "/_sandbox/zendesk/api/v2/tickets/900", [], note, "127.0.0.1").status == 200

    counts = local.handle("GET", "/_sandbox/zendesk/_notes", [], b"", "127.0.0.1")
    german = json.dumps({"ticket_ids": ["901"], "fields": {"subject": "VPN bricht ab"}}).encode()
    assert local.handle("POST", "/_sandbox/zendesk/_tickets", AUTH, german, "127.0.0.1").status == 200
    shown = local.handle("GET", "/_sandbox/zendesk/api/v2/tickets/901", [], b"", "127.0.0.1")
    assert json.loads(shown.body)["ticket"]["subject"] == "VPN bricht ab"

    listed = json.loads(counts.body)
    assert (listed["tool"], listed["notes"]) == ("zendesk", {"900": 1})
    since = local.handle("GET", f"/_sandbox/zendesk/_notes?since={listed['cursor']}", [], b"", "127.0.0.1")
    assert json.loads(since.body)["notes"] == {}  # nothing changed since that cursor
    assert local.handle("GET", "/_sandbox/nope/_notes", [], b"", "127.0.0.1").status == 404


def test_the_sandbox_model_answers_without_a_token_or_key() -> None:
    request = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Write every text value in the language with code 'de'."},
            {
                "role": "user",
                "content": "<ticket>\nSubject: VPN down\nDescription: It drops. Often.\n</ticket>",
            },
        ],
    }
    reply = app().handle(
        "POST", "/_sandbox/_llm/v1/chat/completions", [], json.dumps(request).encode(), "127.0.0.1"
    )
    assert reply.status == 200
    answer = json.loads(json.loads(reply.body)["choices"][0]["message"]["content"])
    assert answer["summary"] == "[de] VPN down. It drops."
    bad = app().handle("POST", "/_sandbox/_llm/v1/chat/completions", [], b"[]", "127.0.0.1")
    assert bad.status == 400


def test_keep_alive_answers_are_not_held_back_by_nagle() -> None:
    """Headers and body are two writes: without TCP_NODELAY the body waits for the client's delayed
    ACK (~40 ms) on every request of a keep-alive connection after the first few."""
    import statistics
    import threading
    import time

    import httpx
    from ticket_enhancer_dev.local.server import Handler, LocalServer

    server = LocalServer(("127.0.0.1", 0), Handler)  # no app: every request is a quick 503
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/jira/t"
        with httpx.Client() as http:
            round_trips = []
            for _ in range(12):
                started = time.perf_counter()
                assert http.post(url, content=b"{}").status_code == 503
                round_trips.append(time.perf_counter() - started)
    finally:
        server.shutdown()
        server.server_close()
    assert statistics.median(round_trips[2:]) < 0.025
