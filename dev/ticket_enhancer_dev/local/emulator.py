"""The embedded AWS emulator (moto server) and the template's tables and queues inside it.

Lambda event source mappings are not created in the emulator: ``poller`` plays that part.
The emulator answers only requests whose ``Host`` is its own loopback address (``guard.HostCheck``).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

from ticket_enhancer_dev.local.guard import HostCheck, loopback_hosts
from ticket_enhancer_dev.local.template import Queue, Table, Template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient
    from werkzeug.serving import BaseWSGIServer

HOST = "127.0.0.1"
REGION = "us-east-1"
STACK_NAME = "ticket-enhancer-local"
# The embedded emulator's dummy credentials (what moto expects), never real ones.
DUMMY_CREDENTIALS = dict.fromkeys(
    ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"), "testing"
)
SCALED_QUEUE_TIMINGS = ("VisibilityTimeout", "DelaySeconds")


@dataclass(frozen=True)
class QueueInfo:
    name: str
    url: str
    arn: str


@dataclass(frozen=True)
class Resources:
    tables: dict[str, str]  # logical id -> table name
    queues: dict[str, QueueInfo]  # logical id -> queue
    buckets: dict[str, str] = field(default_factory=dict)  # logical id -> bucket name


class Emulator:
    """moto's server (what ``moto.server.ThreadedMotoServer`` runs) on an ephemeral loopback port,
    behind a Host check."""

    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per long poll
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.endpoint_url = ""

    def start(self) -> str:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        from ticket_enhancer_dev.local import moto_speedups

        moto_speedups.install()  # a Query reads its partition, not the whole table
        app = HostCheck(DomainDispatcherApplication(create_backend_app))
        server = make_server(HOST, 0, app, threaded=True, request_handler=MotoRequestHandler)
        port = int(server.server_address[1])
        app.allowed = loopback_hosts(port)  # bound, not serving yet
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="emulator", daemon=True)
        self._thread.start()
        self.endpoint_url = f"http://{HOST}:{port}"
        return self.endpoint_url

    def stop(self) -> None:
        """Stop the server and forget its resources: moto keeps them per process, so a later
        emulator in the same process (benchmarks, tests) would otherwise find them again."""
        if self.endpoint_url:
            import urllib.request

            # Our own loopback emulator, an http:// URL we built.
            url = f"{self.endpoint_url}/moto-api/reset"
            reset = urllib.request.Request(url, method="POST")  # noqa: S310 # nosec B310
            with urllib.request.urlopen(reset, timeout=10):  # noqa: S310 # nosec B310
                pass
            self.endpoint_url = ""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        )


def local_name(logical_id: str) -> str:
    return f"{STACK_NAME}-{logical_id}"


def create_resources(emulator: Emulator, template: Template, time_scale: float) -> Resources:
    dynamodb: DynamoDBClient = emulator.client("dynamodb")
    sqs: SQSClient = emulator.client("sqs")
    tables = {logical_id: _create_table(dynamodb, table) for logical_id, table in template.tables.items()}
    queues: dict[str, QueueInfo] = {}
    # Dead-letter queues first: a queue's redrive policy names its DLQ's ARN.
    for queue in sorted(template.queues.values(), key=lambda q: q.dlq is not None):
        queues[queue.logical_id] = _create_queue(sqs, queue, queues, time_scale)
    s3 = emulator.client("s3")
    buckets = {logical_id: local_name(logical_id).lower() for logical_id in template.buckets}
    for name in buckets.values():
        s3.create_bucket(Bucket=name)
    return Resources(tables, queues, buckets)


def scaled(seconds: str, time_scale: float) -> str:
    value = int(seconds)
    return str(max(1, round(value / time_scale)) if value else 0)


def _create_table(dynamodb: DynamoDBClient, table: Table) -> str:
    name = local_name(table.logical_id)
    extra: dict[str, Any] = {}
    if table.global_indexes:
        extra["GlobalSecondaryIndexes"] = table.global_indexes
    dynamodb.create_table(
        TableName=name,
        KeySchema=table.key_schema,  # type: ignore[arg-type]
        AttributeDefinitions=table.attribute_definitions,  # type: ignore[arg-type]
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": table.ttl_attribute, "Enabled": True},
        )
    return name


def _create_queue(
    sqs: SQSClient, queue: Queue, created: dict[str, QueueInfo], time_scale: float
) -> QueueInfo:
    name = local_name(queue.logical_id) + (".fifo" if queue.fifo else "")
    attributes = dict(queue.attributes)
    for key in SCALED_QUEUE_TIMINGS:
        if key in attributes:
            attributes[key] = scaled(attributes[key], time_scale)
    if queue.dlq is not None:
        policy = {"deadLetterTargetArn": created[queue.dlq].arn, "maxReceiveCount": queue.max_receive_count}
        attributes["RedrivePolicy"] = json.dumps(policy)
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return QueueInfo(name, url, arn)
