"""The light AWS client against moto's server, side by side with botocore: same answers, same errors.

Functions call DynamoDB, SQS and Secrets Manager through ``ticket_enhancer.aws.jsonapi`` in Lambda
(mock_aws cannot intercept it: it patches botocore), so here both clients talk HTTP to one moto
server and every operation the functions use must answer alike.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from ticket_enhancer import aws
from ticket_enhancer.aws.services import SQS, DynamoDB, SecretsManager
from ticket_enhancer.ingest.handler import make_webhook_handler

from tests.support import (
    REGION,
    create_table,
    invoke,
    light_client_env,
    moto_server,
    server_world,
    webhook_event,
)

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def env(endpoint: str) -> dict[str, str]:
    return light_client_env(endpoint)


def boto(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def without_metadata(answer: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def make_table(endpoint: str, name: str) -> None:
    create_table(boto("dynamodb", endpoint), name, "pk", "sk")


def test_factories_build_the_light_client_when_credentials_are_in_the_environment(
    env: dict[str, str],
) -> None:
    assert isinstance(aws.dynamodb(env=env), DynamoDB)
    assert isinstance(aws.sqs(env=env), SQS)
    assert isinstance(aws.secretsmanager(env=env), SecretsManager)
    assert not isinstance(aws.dynamodb(env={**env, "TICKET_ENHANCER_AWS_CLIENT": "botocore"}), DynamoDB)


def test_dynamodb_answers_like_botocore(endpoint: str, env: dict[str, str]) -> None:
    make_table(endpoint, "items")
    ours: Any = aws.dynamodb(env=env)  # typed as botocore's client; these tests pass loose dicts
    theirs = boto("dynamodb", endpoint)
    item = {
        "pk": {"S": "tenant-1"},
        "sk": {"S": "ticket#1"},
        "n": {"N": "42"},
        "flag": {"BOOL": True},
        "tags": {"L": [{"S": "vpn"}, {"S": "ünïcode ✓"}]},
        "meta": {"M": {"nested": {"NULL": True}}},
    }
    assert without_metadata(ours.put_item(TableName="items", Item=item)) == {}
    key = {"pk": {"S": "tenant-1"}, "sk": {"S": "ticket#1"}}
    assert without_metadata(ours.get_item(TableName="items", Key=key)) == without_metadata(
        theirs.get_item(TableName="items", Key=key)
    )
    assert ours.get_item(TableName="items", Key=key)["Item"] == item

    updated = ours.update_item(
        TableName="items",
        Key=key,
        UpdateExpression="SET n = n + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )
    assert updated["Attributes"]["n"] == {"N": "43"}

    for sk in ("ticket#2", "ticket#3"):
        ours.put_item(TableName="items", Item={"pk": {"S": "tenant-1"}, "sk": {"S": sk}})
    query = {
        "TableName": "items",
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "tenant-1"}},
        "Limit": 2,
    }
    page = ours.query(**query)
    assert without_metadata(page) == without_metadata(theirs.query(**query))
    assert page["Count"] == 2
    assert "LastEvaluatedKey" in page

    ours.delete_item(TableName="items", Key=key)
    assert "Item" not in ours.get_item(TableName="items", Key=key)


def test_conditional_failure_is_a_client_error_carrying_the_old_item(
    endpoint: str, env: dict[str, str]
) -> None:
    make_table(endpoint, "deliveries")
    ours: Any = aws.dynamodb(env=env)  # typed as botocore's client; these tests pass loose dicts
    theirs = boto("dynamodb", endpoint)
    first = {"pk": {"S": "d"}, "sk": {"S": "1"}, "job_id": {"S": "job-1"}}
    ours.put_item(TableName="deliveries", Item=first)
    request = {
        "TableName": "deliveries",
        "Item": {**first, "job_id": {"S": "job-2"}},
        "ConditionExpression": "attribute_not_exists(pk)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    with pytest.raises(ClientError) as ours_error:
        ours.put_item(**request)
    with pytest.raises(ClientError) as theirs_error:
        theirs.put_item(**request)
    assert ours_error.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert ours_error.value.response["Error"] == theirs_error.value.response["Error"]
    assert ours_error.value.response.get("Item") == theirs_error.value.response.get("Item") == first
    assert ours_error.value.operation_name == "PutItem"


def test_unknown_table_is_a_client_error_with_botocores_code(env: dict[str, str], endpoint: str) -> None:
    with pytest.raises(ClientError) as ours:
        aws.dynamodb(env=env).get_item(TableName="missing", Key={"pk": {"S": "x"}})
    with pytest.raises(ClientError) as theirs:
        boto("dynamodb", endpoint).get_item(TableName="missing", Key={"pk": {"S": "x"}})
    assert (
        ours.value.response["Error"]["Code"]
        == theirs.value.response["Error"]["Code"]
        == "ResourceNotFoundException"
    )


def test_sqs_fifo_send_deduplicates_and_errors_like_botocore(endpoint: str, env: dict[str, str]) -> None:
    theirs = boto("sqs", endpoint)
    url = theirs.create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    ours = aws.sqs(env=env)
    message = {
        "QueueUrl": url,
        "MessageBody": json.dumps({"job": 1}),
        "MessageGroupId": "g",
        "MessageDeduplicationId": "d",
    }
    assert ours.send_message(**message)["MessageId"]
    ours.send_message(**message)  # accepted, and dropped by SQS's de-duplication
    received = theirs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in received] == [{"job": 1}]

    missing = {**message, "QueueUrl": url + "-missing"}
    with pytest.raises(ClientError) as ours_error:
        ours.send_message(**missing)
    with pytest.raises(ClientError) as theirs_error:
        theirs.send_message(**missing)
    assert ours_error.value.response["Error"] == theirs_error.value.response["Error"]


def test_secrets_manager_answers_like_botocore(endpoint: str, env: dict[str, str]) -> None:
    theirs = boto("secretsmanager", endpoint)
    theirs.create_secret(
        Name="ticket-enhancer/jira/side-by-side", SecretString='{"webhook_secrets": ["s3cret"]}'
    )
    ours = aws.secretsmanager(env=env)
    answer = ours.get_secret_value(SecretId="ticket-enhancer/jira/side-by-side")
    assert (
        answer["SecretString"]
        == theirs.get_secret_value(SecretId="ticket-enhancer/jira/side-by-side")["SecretString"]
    )
    with pytest.raises(ClientError) as missing:
        ours.get_secret_value(SecretId="ticket-enhancer/jira/nobody")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_connections_are_reused_and_safe_across_threads(endpoint: str, env: dict[str, str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    make_table(endpoint, "parallel")
    client = aws.dynamodb(env=env)

    def write(i: int) -> int:
        client.put_item(TableName="parallel", Item={"pk": {"S": "p"}, "sk": {"S": f"{i:03d}"}})
        return i

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(write, range(64))) == list(range(64))
    page = client.query(
        TableName="parallel",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
    )
    assert page["Count"] == 64


@pytest.mark.parametrize("tool", ["jira", "zendesk", "servicenow", "freshservice", "servicedesk_plus"])
def test_a_webhook_function_queues_through_the_light_client(
    endpoint: str, env: dict[str, str], tool: str
) -> None:
    """The whole ingestion path as Lambda runs it: light clients, moto server, one job on the queue."""
    stack = server_world(endpoint).stack()
    tenant = stack.add_tenant(tool)
    handler = make_webhook_handler(
        tool,
        dynamodb=aws.dynamodb(env=env),
        sqs=aws.sqs(env=env),
        secrets=aws.secretsmanager(env=env),
        env={**env, **stack.env(tool)},
    )
    event = tenant.event()
    first, again = invoke(handler, event), invoke(handler, event)
    assert first[0] == 202, first
    assert again == (200, {"status": "duplicate", "job_id": first[1]["job_id"]})
    (queued,) = stack.drain(tool)
    assert queued.job.job_id == first[1]["job_id"]
    assert queued.job.metadata.tenant_id == tenant.tenant_id


def test_a_webhook_function_answers_503_when_aws_is_unreachable(env: dict[str, str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    down = {**env, "AWS_ENDPOINT_URL": dead}
    fast = aws.Timeouts(connect=0.5, read=0.5, max_attempts=1)
    handler = make_webhook_handler(
        "jira",
        dynamodb=aws.dynamodb(fast, env=down),
        sqs=aws.sqs(fast, env=down),
        secrets=aws.secretsmanager(fast, env=down),
        env={**down, "TENANTS_TABLE": "tenants", "DELIVERIES_TABLE": "deliveries", "QUEUE_URL": "q"},
    )
    assert invoke(handler, webhook_event("jira", "acme", b"{}", {})) == (
        503,
        {"error": "temporarily unavailable"},
    )
