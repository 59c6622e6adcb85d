"""The light AWS client's transport: retries, timeouts, stale connections, error codes, signing.

A scripted HTTP/1.1 server on localhost plays AWS; each test says what it answers.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from ticket_enhancer.aws import endpoints
from ticket_enhancer.aws.jsonapi import JsonApiClient, Timeouts, error_fields
from ticket_enhancer.aws.services import SQS, BedrockRuntime, DynamoDB
from ticket_enhancer.aws.sigv4 import Credentials

SECRET_KEY = "secret-key-never-sent-9f2c"


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close_after: bool = False  # close the socket after answering, without saying so
    drop: bool = False  # close the socket without answering


@dataclass
class Script:
    answers: list[Answer] = field(default_factory=list)
    seen: list[dict[str, Any]] = field(default_factory=list)
    connections: set[int] = field(default_factory=set)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script: Script

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        self.script.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        self.script.connections.add(self.client_address[1])  # one client port per TCP connection
        answer = self.script.answers.pop(0) if self.script.answers else Answer()
        if answer.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        time.sleep(answer.delay)
        payload = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("content-type", "application/x-amz-json-1.0")
        self.send_header("content-length", str(len(payload)))
        self.send_header("x-amzn-requestid", f"req-{len(self.script.seen)}")
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        if answer.close_after:
            self.wfile.flush()
            self.close_connection = True


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    handler = type("Handler", (_Handler,), {"script": script})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    httpd.shutdown()
    httpd.server_close()


def client(
    url: str, *, attempts: int = 3, read: float = 2.0, service: endpoints.Service = endpoints.DYNAMODB
) -> tuple[JsonApiClient, list[float]]:
    sleeps: list[float] = []
    target = endpoints.Target(url, "eu-west-1", Credentials("AKIDTEST", SECRET_KEY, "session-token"))
    api = JsonApiClient(
        service, target, Timeouts(connect=1, read=read, max_attempts=attempts), sleep=sleeps.append
    )
    return api, sleeps


def test_a_call_is_a_signed_json_post_with_the_operation_as_target(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers.append(Answer(body={"Item": {"pk": {"S": "a"}}}))
    api, _ = client(url)
    answer = DynamoDB(api).get_item(TableName="t", Key={"pk": {"S": "a"}})
    assert answer["Item"] == {"pk": {"S": "a"}}
    assert answer["ResponseMetadata"]["RequestId"] == "req-1"
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    (request,) = script.seen
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert request["path"] == "/"
    assert json.loads(request["body"]) == {"TableName": "t", "Key": {"pk": {"S": "a"}}}
    assert headers["x-amz-target"] == "DynamoDB_20120810.GetItem"
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert headers["x-amz-security-token"] == "session-token"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
    assert "/eu-west-1/dynamodb/aws4_request" in headers["authorization"]
    assert SECRET_KEY not in json.dumps(request["headers"])


def test_server_errors_are_retried_with_jittered_backoff(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers += [
        Answer(500, {"__type": "InternalServerError"}),
        Answer(503, {}),
        Answer(body={"ok": 1}),
    ]
    api, sleeps = client(url, attempts=3)
    answer = api.call("GetItem", {})
    assert answer["ok"] == 1
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 1
    assert 0 <= sleeps[1] <= 2


def test_throttling_is_retried_until_attempts_run_out(server: tuple[str, Script]) -> None:
    url, script = server
    throttled = {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "slow",
    }
    script.answers += [Answer(400, throttled) for _ in range(3)]
    api, sleeps = client(url, attempts=3)
    with pytest.raises(ClientError) as error:
        api.call("PutItem", {})
    assert error.value.response["Error"] == {
        "Code": "ProvisionedThroughputExceededException",
        "Message": "slow",
    }
    assert len(script.seen) == 3
    assert len(sleeps) == 2


def test_client_errors_are_not_retried_and_keep_modeled_fields(server: tuple[str, Script]) -> None:
    url, script = server
    failed = {"__type": "ConditionalCheckFailedException", "message": "no", "Item": {"pk": {"S": "a"}}}
    script.answers.append(Answer(400, failed))
    api, sleeps = client(url)
    with pytest.raises(ClientError) as error:
        api.call("PutItem", {})
    assert error.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert error.value.response["Item"] == {"pk": {"S": "a"}}  # type: ignore[typeddict-item]
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert len(script.seen) == 1
    assert sleeps == []


def test_read_timeouts_are_retried_then_raised_as_botocores_error(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers += [Answer(delay=0.6), Answer(delay=0.6)]
    api, _ = client(url, attempts=2, read=0.2)
    with pytest.raises(ReadTimeoutError):
        api.call("GetItem", {})
    assert len(script.seen) == 2


def test_an_unreachable_endpoint_is_an_endpoint_connection_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api, sleeps = client(f"http://127.0.0.1:{port}", attempts=2)
    with pytest.raises(EndpointConnectionError):
        api.call("GetItem", {})
    assert len(sleeps) == 1


def test_keep_alive_connections_are_reused(server: tuple[str, Script]) -> None:
    url, script = server
    api, _ = client(url)
    for _ in range(5):
        api.call("GetItem", {})
    assert len(script.seen) == 5
    assert len(script.connections) == 1
    DynamoDB(api).close()  # botocore clients have close() too: the idle connections go
    api.call("GetItem", {})
    assert len(script.connections) == 2


def test_a_connection_the_server_closed_while_idle_is_replaced_without_a_retry(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.answers += [Answer(body={"n": 1}, close_after=True), Answer(body={"n": 2})]
    api, sleeps = client(url, attempts=1)  # no retries at all: the stale connection must not need one
    assert api.call("GetItem", {})["n"] == 1
    time.sleep(0.05)
    assert api.call("GetItem", {})["n"] == 2
    assert sleeps == []


def test_a_dropped_connection_mid_call_is_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers += [Answer(drop=True), Answer(body={"ok": True})]
    api, sleeps = client(url, attempts=2)
    assert api.call("GetItem", {})["ok"] is True
    assert len(sleeps) == 1


def test_a_body_failing_its_crc32_is_retried(server: tuple[str, Script]) -> None:
    url, script = server
    good = json.dumps({"ok": True}).encode()
    script.answers += [
        Answer(body=good, headers={"x-amz-crc32": str(zlib.crc32(good) ^ 1)}),
        Answer(body=good, headers={"x-amz-crc32": str(zlib.crc32(good))}),
    ]
    api, sleeps = client(url, attempts=2)
    assert api.call("GetItem", {})["ok"] is True
    assert len(script.seen) == 2
    assert len(sleeps) == 1


def test_a_success_that_is_not_json_is_retried_and_never_read_as_empty(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers += [Answer(body=b'{"Item": {"pk"'), Answer(body=b"[]")]  # cut short; not an object
    api, sleeps = client(url, attempts=2)
    with pytest.raises(EndpointConnectionError):
        DynamoDB(api).get_item(TableName="tenants", Key={"tenant_id": {"S": "acme"}})
    assert len(script.seen) == 2
    assert len(sleeps) == 1


def test_sqs_uses_the_json_protocol_and_its_query_error_code(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers.append(
        Answer(
            400,
            {"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "gone"},
            headers={"x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender"},
        )
    )
    api, _ = client(url, service=endpoints.SQS)
    with pytest.raises(ClientError) as error:
        SQS(api).send_message(QueueUrl="https://sqs/q.fifo", MessageBody="{}")
    assert error.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert {k.lower(): v for k, v in script.seen[0]["headers"].items()}[
        "x-amz-target"
    ] == "AmazonSQS.SendMessage"


def test_bedrock_converse_puts_the_encoded_model_id_in_the_path(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers.append(Answer(body={"output": {"message": {"content": [{"text": "hi"}]}}}))
    api, _ = client(url, service=endpoints.BEDROCK_RUNTIME)
    model = "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude"
    answer = BedrockRuntime(api).converse(modelId=model, messages=[])
    assert answer["output"]["message"]["content"][0]["text"] == "hi"
    request = script.seen[0]
    assert request["path"] == (
        "/model/arn%3Aaws%3Abedrock%3Aeu-west-1%3A123456789012%3Ainference-profile%2Feu.anthropic.claude/converse"
    )
    assert json.loads(request["body"]) == {"messages": []}  # modelId travels in the path only
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert "x-amz-target" not in headers
    assert "/bedrock/aws4_request" in headers["authorization"]


@pytest.mark.parametrize(
    ("body", "headers", "error"),
    [
        (
            {"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "message": "no table"},
            {},
            {"Code": "ResourceNotFoundException", "Message": "no table"},
        ),
        (
            {"__type": "ValidationException", "Message": "bad"},
            {},
            {"Code": "ValidationException", "Message": "bad"},
        ),
        (
            {},
            {"x-amzn-errortype": "AccessDeniedException:http://internal.amazon.com/"},
            {"Code": "AccessDeniedException", "Message": ""},
        ),
        ({"code": "ThrottlingException"}, {}, {"Code": "ThrottlingException", "Message": ""}),
        ({}, {}, {"Code": "502", "Message": ""}),  # not JSON (a proxy's page): the status, as botocore
        (
            {"__type": "com.amazon.coral.service#QueueDoesNotExist", "message": "gone"},
            {"x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender"},
            {
                "Code": "AWS.SimpleQueueService.NonExistentQueue",
                "Message": "gone",
                "QueryErrorCode": "QueueDoesNotExist",
                "Type": "Sender",
            },
        ),
    ],
)
def test_error_fields_in_every_form_aws_sends(
    body: dict[str, str], headers: dict[str, str], error: dict[str, str]
) -> None:
    from email.message import Message

    message = Message()
    for name, value in headers.items():
        message[name] = value
    assert error_fields(body, message, 502) == error  # type: ignore[arg-type]


def test_endpoint_urls_with_a_path_prefix_are_kept(server: tuple[str, Script]) -> None:
    url, script = server
    api, _ = client(url + "/aws/")
    api.call("GetItem", {})
    assert script.seen[0]["path"] == "/aws/"


def test_an_unusable_endpoint_url_is_refused() -> None:
    target = endpoints.Target("ftp://example.com", "us-east-1", Credentials("a", "b"))
    with pytest.raises(ValueError, match="unusable endpoint URL"):
        JsonApiClient(endpoints.DYNAMODB, target, Timeouts(1, 1, 1))
