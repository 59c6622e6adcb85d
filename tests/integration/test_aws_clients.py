"""``ticket_enhancer.aws``: botocore's clients with our timeouts and retries, the environment's
region and endpoint, one session per container, and no boto3 import."""

from __future__ import annotations

import os
import socket
import subprocess  # nosec B404 # our own interpreter, fixed arguments
import sys
from typing import Any

import botocore.client
import pytest
from ticket_enhancer import aws as factory
from ticket_enhancer.ingest.handler import make_webhook_handler

from tests.support import Stack, invoke, webhook_event

DUMMY = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


@pytest.fixture
def fresh_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """A container of its own: no session from another test, dummy credentials, no endpoint."""
    monkeypatch.setattr(factory, "_session", None)
    for name, value in DUMMY.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.mark.usefixtures("fresh_session")
@pytest.mark.parametrize(
    ("make", "timeouts", "service"),
    [
        (factory.dynamodb, factory.WEBHOOK_CONFIG, "dynamodb"),
        (factory.sqs, factory.WEBHOOK_CONFIG, "sqs"),
        (factory.secretsmanager, factory.WEBHOOK_CONFIG, "secretsmanager"),
        (factory.bedrock_runtime, factory.WORKER_CONFIG, "bedrock-runtime"),
    ],
)
def test_clients_are_botocores_with_our_timeouts_and_standard_retries(
    make: object, timeouts: factory.Timeouts, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    client = make()  # type: ignore[operator]
    assert isinstance(client, botocore.client.BaseClient)
    assert client.meta.service_model.service_name == service
    assert client.meta.region_name == "eu-west-1"
    config: Any = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (timeouts.connect, timeouts.read)
    assert config.retries == {"total_max_attempts": timeouts.max_attempts, "mode": "standard"}


@pytest.mark.usefixtures("fresh_session")
def test_region_and_endpoint_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert factory.dynamodb().meta.endpoint_url == "https://dynamodb.ap-south-1.amazonaws.com"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9324")
    assert factory.dynamodb().meta.endpoint_url == "http://127.0.0.1:4566"  # the local stack's emulator
    assert factory.sqs().meta.endpoint_url == "http://127.0.0.1:9324"
    monkeypatch.delenv("AWS_REGION")
    assert factory.secretsmanager().meta.region_name == "us-east-1"  # botocore's own variable


@pytest.mark.usefixtures("fresh_session")
def test_one_session_per_container() -> None:
    factory.dynamodb()
    first = factory._session
    factory.sqs(factory.WORKER_CONFIG)
    assert first is not None
    assert factory._session is first


def test_the_module_and_its_clients_never_import_boto3() -> None:
    code = (
        "import sys\nfrom ticket_enhancer import aws\n"
        "assert 'botocore' not in sys.modules  # imported with the first client\n"
        "aws.dynamodb(); aws.sqs(); aws.secretsmanager(); aws.bedrock_runtime()\n"
        "assert 'botocore.client' in sys.modules and 'boto3' not in sys.modules, sorted(sys.modules)\n"
    )
    env = {**os.environ, **DUMMY, "AWS_REGION": "us-east-1"}
    done = subprocess.run(  # noqa: S603 # nosec B603 # our own interpreter, fixed code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_webhook_built_with_the_factorys_clients_queues_a_job(
    aws: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing injected: the handler makes its own clients, as in Lambda (mock_aws intercepts them)."""
    monkeypatch.setattr(factory, "_session", None)
    tenant = aws.add_tenant("jira")
    handler = make_webhook_handler("jira", env=aws.env("jira"))
    status, answer = invoke(handler, tenant.event())
    assert status == 202, answer
    [queued] = aws.drain("jira")
    assert queued.job.job_id == answer["job_id"]


@pytest.mark.usefixtures("fresh_session")
def test_a_webhook_answers_503_when_aws_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{probe.getsockname()[1]}")
    fast = factory.Timeouts(connect=0.5, read=0.5, max_attempts=1)
    handler = make_webhook_handler(
        "jira",
        dynamodb=factory.dynamodb(fast),
        sqs=factory.sqs(fast),
        secrets=factory.secretsmanager(fast),
        env={"TENANTS_TABLE": "tenants", "DELIVERIES_TABLE": "deliveries", "QUEUE_URL": "q"},
    )
    assert invoke(handler, webhook_event("jira", "acme", b"{}", {})) == (
        503,
        {"error": "temporarily unavailable"},
    )
