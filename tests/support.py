"""Helpers shared by the webhook tests: the template's tables and queues in moto, tenants,
API Gateway HTTP API (payload 2.0) events, signing, and one realistic body per tool."""

from __future__ import annotations

import base64 as b64
import itertools
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from unittest import mock

import boto3
import pytest
from moto import mock_aws
from ticket_enhancer.ingest.handler import WebhookHandler, make_webhook_handler
from ticket_enhancer.models import EnhancementJob
from ticket_enhancer.tenants import WEBHOOK_SECRET_SUFFIX, secret_name
from ticket_enhancer.webhooks import schemes
from ticket_enhancer.webhooks.signing import sign

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import KeySchemaElementTypeDef
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

TOOLS: tuple[str, ...] = ("jira", "zendesk", "servicenow", "freshservice", "servicedesk_plus", "zammad")
REGION = "us-east-1"
CONTEXT_TABLE = "context"  # the context table (pk, sk) of the integration tests' `context_table` fixture

DEFAULT_MODES: dict[str, str] = {
    "jira": schemes.JIRA_HMAC,
    "zendesk": schemes.ZENDESK_HMAC,
    "servicenow": schemes.STANDARD_WEBHOOKS,
    "freshservice": schemes.SHARED_TOKEN,
    "servicedesk_plus": schemes.SHARED_TOKEN,
    "zammad": "zammad-hmac",
}
BASE_URLS: dict[str, str] = {
    "jira": "https://acme.atlassian.net",
    "zendesk": "https://acme.zendesk.com",
    "servicenow": "https://acme.service-now.com",
    "freshservice": "https://acme.freshservice.com",
    "servicedesk_plus": "https://sdpondemand.manageengine.com/app/acme",
    "zammad": "https://acme.zammad.com",
}
# Text that must never reach a log line.
SECRET_DESCRIPTION = "PRIVATE-DESCRIPTION: the CFO's laptop password is hunter2"
API_TOKEN = "api-token-never-logged-5b1f"

_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}"


def whsec(raw: bytes) -> str:
    return "whsec_" + b64.b64encode(raw).decode()


def new_secret(mode: str) -> str:
    """A fresh webhook secret that suits ``mode`` (Standard Webhooks needs ``whsec_<base64>``)."""
    raw = f"s3cret-{next(_counter)}-{os.urandom(8).hex()}"
    return whsec(raw.encode()) if mode == schemes.STANDARD_WEBHOOKS else raw


# -- sample bodies ---------------------------------------------------------------------------


def jira_body(issue_id: str = "10001", priority: Any = "Highest") -> dict[str, Any]:
    return {
        "timestamp": 1550286112971,
        "webhookEvent": "jira:issue_created",
        "issue_event_type_name": "issue_created",
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Ann Agent"},
        "issue": {
            "id": issue_id,
            "self": f"https://acme.atlassian.net/rest/api/2/issue/{issue_id}",
            "key": "IT-42",
            "fields": {
                "summary": "VPN down for the Berlin office",
                "description": SECRET_DESCRIPTION,
                "priority": {"name": priority, "id": "1"},
                "reporter": {
                    "accountId": "5b10a2844c20165700ede21g",
                    "displayName": "Ann Agent",
                    "emailAddress": "ann@example.com",
                },
                "created": "2019-02-15T19:01:52.971-0800",
                "status": {"name": "Open"},
                "project": {"key": "IT"},
            },
        },
    }


def zendesk_event_body(ticket_id: str = "123", priority: Any = "urgent") -> dict[str, Any]:
    return {
        "type": "zen:event-type:ticket.created",
        "account_id": 22129848,
        "id": "cbe4028c-7239-495d-b020-f22348516046",
        "time": "2024-01-02T03:04:05Z",
        "zendesk_event_version": "2022-11-06",
        "subject": f"zen:ticket:{ticket_id}",
        "detail": {
            "id": ticket_id,
            "subject": "Printer on fire",
            "description": SECRET_DESCRIPTION,
            "priority": priority,
            "status": "NEW",
            "requester_id": "8193592318236",
            "created_at": "2024-01-02T03:04:05Z",
        },
        "event": {},
    }


def zendesk_trigger_body(ticket_id: str = "123") -> dict[str, Any]:
    return {"ticket_id": ticket_id, "event": "created"}


SYS_ID = "9d385017c611228701d22104cc95c371"


def servicenow_body(sys_id: str = SYS_ID, priority: Any = "1") -> dict[str, Any]:
    return {
        "sys_id": sys_id,
        "number": "INC0010001",
        "short_description": "Email not syncing on mobile",
        "description": SECRET_DESCRIPTION,
        "priority": priority,
        "state": "1",
        "caller_id": "Abel Tuter",
        "opened_at": "2024-01-02 03:04:05",
    }


def freshservice_wrapped_body(ticket_id: Any = 123, priority: Any = 3) -> dict[str, Any]:
    return {
        "freshservice_webhook": {
            "ticket_id": ticket_id,
            "ticket_subject": "Laptop will not boot",
            "ticket_description": SECRET_DESCRIPTION,
            "ticket_priority": priority,
            "ticket_status": "Open",
            "ticket_requester_email": "bob@example.com",
        }
    }


def freshservice_plain_body(ticket_id: Any = 123) -> dict[str, Any]:
    return {"ticket_id": ticket_id}


def sdp_wrapped_body(request_id: str = "123", priority: Any = "Urgent") -> dict[str, Any]:
    return {
        "request": {
            "id": request_id,
            "display_id": "REQ-123",
            "subject": "Cannot access shared drive",
            "description": SECRET_DESCRIPTION,
            "priority": {"name": priority, "id": "4"},
            "requester": {"name": "Carol", "email_id": "carol@example.com"},
            "created_time": {"value": "1704164645000", "display_value": "Jan 2, 2024 03:04 AM"},
            "status": {"name": "Open"},
        }
    }


def sdp_plain_body(request_id: str = "123") -> dict[str, Any]:
    return {"id": request_id}


def zammad_body(ticket_id: Any = 81, priority: Any = "3 high") -> dict[str, Any]:
    """A trigger's default webhook body (no custom payload): the ticket and its first article."""
    return {
        "ticket": {
            "id": ticket_id,
            "number": "10081",
            "title": "Shared mailbox not syncing",
            "group": {"id": 3, "name": "Service Desk"},
            "group_id": 3,
            "state": "new",
            "state_id": 1,
            "priority": {"id": 3, "name": priority},
            "priority_id": 3,
            "customer": {"id": 8, "firstname": "Emily", "lastname": "Adams", "email": "emily@example.com"},
            "customer_id": 8,
            "organization": {"id": 3, "name": "Awesome Customer Inc."},
            "article_count": 1,
            "article_ids": [104],
            "created_at": "2020-11-13T14:34:35.282Z",
            "updated_at": "2020-11-13T14:34:35.333Z",
        },
        "article": {
            "id": 104,
            "ticket_id": ticket_id,
            "from": "Emily Adams <emily@example.com>",
            "body": f"<div>{SECRET_DESCRIPTION}</div>",
            "content_type": "text/html",
            "type": "phone",
            "sender": "Customer",
            "internal": False,
        },
    }


def zammad_custom_body(ticket_id: str = "81", event: str = "created") -> dict[str, Any]:
    """A custom payload (the README's template) after Zammad filled in its placeholders."""
    return {
        "ticket": {
            "id": ticket_id,
            "number": "10081",
            "title": "Shared mailbox not syncing",
            "priority": "2 normal",
        },
        "event": event,
    }


BODY_FACTORIES: dict[str, Callable[[], dict[str, Any]]] = {
    "jira": jira_body,
    "zendesk": zendesk_event_body,
    "servicenow": servicenow_body,
    "freshservice": freshservice_wrapped_body,
    "servicedesk_plus": sdp_wrapped_body,
    "zammad": zammad_body,
}


def default_body(tool: str) -> bytes:
    return json.dumps(BODY_FACTORIES[tool]()).encode()


# -- events ----------------------------------------------------------------------------------


def webhook_event(
    tool: str,
    tenant_id: str,
    body: bytes,
    headers: Mapping[str, str],
    base64: bool = False,
    *,
    lowercase: bool = True,
    request_id: str | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event for ``POST /webhooks/{tool}/{tenant_id}``.

    ``lowercase=False`` keeps the sender's header case, as a REST API would.
    """
    sent = {(k.lower() if lowercase else k): v for k, v in headers.items()}
    sent.setdefault("content-type" if lowercase else "Content-Type", "application/json")
    path = f"/webhooks/{tool}/{tenant_id}"
    return {
        "version": "2.0",
        "routeKey": "POST /webhooks/{tool}/{tenant_id}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": sent,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1234567",
            "domainName": "api1234567.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "test",
            },
            "requestId": request_id or unique("req"),
            "routeKey": "POST /webhooks/{tool}/{tenant_id}",
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "pathParameters": {"tool": tool, "tenant_id": tenant_id},
        "body": b64.b64encode(body).decode() if base64 else body.decode("utf-8", "surrogateescape"),
        "isBase64Encoded": base64,
    }


@dataclass(frozen=True)
class Tenant:
    tool: str
    tenant_id: str
    mode: str
    secrets: tuple[str, ...]

    @property
    def secret(self) -> str:
        return self.secrets[0]

    def headers(
        self,
        body: bytes,
        *,
        now: float | None = None,
        delivery_id: str | None = None,
        secret: str | None = None,
        mode: str | None = None,
    ) -> dict[str, str]:
        """What the tool sends (canonical capitalisation), signed with this tenant's newest secret."""
        if delivery_id is None and (mode or self.mode) == schemes.JIRA_HMAC:
            delivery_id = unique("jira-delivery")
        return sign(mode or self.mode, body, secret or self.secret, now=now, delivery_id=delivery_id)

    def event(
        self,
        body: bytes | None = None,
        *,
        now: float | None = None,
        delivery_id: str | None = None,
        secret: str | None = None,
        base64: bool = False,
        lowercase: bool = True,
    ) -> dict[str, Any]:
        raw = default_body(self.tool) if body is None else body
        headers = self.headers(raw, now=now, delivery_id=delivery_id, secret=secret)
        return webhook_event(self.tool, self.tenant_id, raw, headers, base64, lowercase=lowercase)


class TenantFactory(Protocol):
    def __call__(
        self,
        tool: str,
        tenant_id: str | None = None,
        *,
        webhook_auth: str | None = None,
        secrets: list[str] | None = None,
        enabled: bool = True,
        tool_type: str | None = None,
        secret_id: str | None = None,
        options: dict[str, str] | None = None,
    ) -> Tenant: ...


class EventBuilder(Protocol):
    def __call__(
        self,
        tool: str,
        tenant_id: str,
        body: bytes,
        headers: Mapping[str, str],
        base64: bool = False,
        *,
        lowercase: bool = True,
        request_id: str | None = None,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class QueuedMessage:
    job: EnhancementJob
    dedupe_id: str
    group_id: str
    body: str = ""


def moto_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and region for moto's in-process ``mock_aws``; no endpoint override."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def create_table(dynamodb: DynamoDBClient, name: str, hash_key: str, range_key: str | None = None) -> None:
    """An on-demand table keyed by string attributes, as the template declares its tables."""
    schema: list[KeySchemaElementTypeDef] = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    dynamodb.create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=[
            {"AttributeName": key["AttributeName"], "AttributeType": "S"} for key in schema
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def create_tables(dynamodb: DynamoDBClient, tenants_table: str, deliveries_table: str) -> None:
    """The template's TenantsTable (key ``tenant_id``) and DeliveriesTable (key ``dedupe_key``, TTL)."""
    create_table(dynamodb, tenants_table, "tenant_id")
    create_table(dynamodb, deliveries_table, "dedupe_key")
    dynamodb.update_time_to_live(
        TableName=deliveries_table,
        TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True},
    )


def create_tool_queues(sqs: SQSClient, name: str) -> tuple[str, str]:
    """A tool's FIFO queue and FIFO dead-letter queue, as the template declares them."""
    dlq = sqs.create_queue(
        QueueName=f"{name}-dlq.fifo",
        Attributes={"FifoQueue": "true", "MessageRetentionPeriod": "1209600"},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=f"{name}.fifo",
        Attributes={
            "FifoQueue": "true",
            "DeduplicationScope": "queue",
            "VisibilityTimeout": "360",
            "MessageRetentionPeriod": "1209600",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 50}),
        },
    )["QueueUrl"]
    return queue, dlq


@dataclass
class World:
    """One moto account (started once per test module) and the clients every test shares."""

    dynamodb: DynamoDBClient
    sqs: SQSClient
    secretsmanager: SecretsManagerClient

    @classmethod
    def create(cls) -> World:
        return cls(
            boto3.client("dynamodb", region_name=REGION),
            boto3.client("sqs", region_name=REGION),
            boto3.client("secretsmanager", region_name=REGION),
        )

    def stack(self) -> Stack:
        """Fresh tables (and, on first use, queues) under names no other test uses."""
        prefix = unique("te")
        tenants, deliveries = f"{prefix}-TenantsTable", f"{prefix}-DeliveriesTable"
        create_tables(self.dynamodb, tenants, deliveries)
        return Stack(self.dynamodb, self.sqs, self.secretsmanager, prefix, tenants, deliveries)


@dataclass
class Stack:
    dynamodb: DynamoDBClient
    sqs: SQSClient
    secretsmanager: SecretsManagerClient
    prefix: str
    tenants_table: str
    deliveries_table: str
    queue_urls: dict[str, str] = field(default_factory=dict)
    dlq_urls: dict[str, str] = field(default_factory=dict)
    tenants: list[Tenant] = field(default_factory=list)
    _hooks: list[tuple[Any, str, Callable[..., Any]]] = field(default_factory=list)

    def queue_url(self, tool: str) -> str:
        if tool not in self.queue_urls:
            name = f"{self.prefix}-{tool.replace('_', '-')}"
            self.queue_urls[tool], self.dlq_urls[tool] = create_tool_queues(self.sqs, name)
        return self.queue_urls[tool]

    def hook(self, client: Any, event_name: str, handler: Callable[..., Any]) -> None:
        """``client.meta.events.register(event_name, handler)`` until ``unhook`` or the test ends."""
        client.meta.events.register(event_name, handler)
        self._hooks.append((client, event_name, handler))

    def unhook(self) -> None:
        for client, event_name, handler in reversed(self._hooks):
            client.meta.events.unregister(event_name, handler)
        self._hooks.clear()

    def env(self, tool: str) -> dict[str, str]:
        return {
            "QUEUE_URL": self.queue_url(tool),
            "TENANTS_TABLE": self.tenants_table,
            "DELIVERIES_TABLE": self.deliveries_table,
            "TENANT_CACHE_SECONDS": "300",
            # A fresh logger per handler, so its stream is the test's (captured) stdout.
            "POWERTOOLS_SERVICE_NAME": unique("ticket-enhancer-test"),
        }

    def handler(self, tool: str, *, clock: Callable[[], float] | None = None) -> WebhookHandler:
        """The tool's webhook function as Lambda builds it, on this stack's resources."""
        return make_webhook_handler(
            tool,
            dynamodb=self.dynamodb,
            sqs=self.sqs,
            secrets=self.secretsmanager,
            env=self.env(tool),
            clock=clock or time.time,
        )

    def put_secret(self, name: str, document: dict[str, Any]) -> None:
        text = json.dumps(document)
        try:
            self.secretsmanager.create_secret(Name=name, SecretString=text)
        except self.secretsmanager.exceptions.ResourceExistsException:  # a fixed id used again
            self.secretsmanager.put_secret_value(SecretId=name, SecretString=text)

    def add_tenant(
        self,
        tool: str,
        tenant_id: str | None = None,
        *,
        webhook_auth: str | None = None,
        secrets: list[str] | None = None,
        enabled: bool = True,
        tool_type: str | None = None,
        secret_id: str | None = None,
        options: dict[str, str] | None = None,
    ) -> Tenant:
        """Write a tenant row and its two secrets (``ticket-enhancer/<tool>/<tenant_id>[/webhook]``)."""
        tenant_id = tenant_id or unique(f"acme-{tool.replace('_', '-')}")
        row_tool = tool_type or tool
        mode = webhook_auth or DEFAULT_MODES[tool]
        secret_list = secrets or [new_secret(mode)]
        sid = secret_id or secret_name(row_tool, tenant_id)
        item: dict[str, Any] = {
            "tenant_id": {"S": tenant_id},
            "tool_type": {"S": row_tool},
            "base_url": {"S": BASE_URLS.get(row_tool, "https://example.com")},
            "enabled": {"BOOL": enabled},
            "secret_id": {"S": sid},
            "options": {
                "M": {k: {"S": v} for k, v in (options or {"synthesis_provider": "offline"}).items()}
            },
            "created_at": {"S": "2024-01-02T03:04:05+00:00"},
            "updated_at": {"S": "2024-01-02T03:04:05+00:00"},
        }
        if webhook_auth is not None:
            item["webhook_auth"] = {"S": webhook_auth}
        self.dynamodb.put_item(TableName=self.tenants_table, Item=item)
        documents: dict[str, dict[str, Any]] = {
            sid + WEBHOOK_SECRET_SUFFIX: {"webhook_secrets": secret_list},
            sid: {"api_user": "agent@example.com", "api_token": API_TOKEN},
        }
        for name, document in documents.items():
            self.put_secret(name, document)
        tenant = Tenant(tool=tool, tenant_id=tenant_id, mode=mode, secrets=tuple(secret_list))
        self.tenants.append(tenant)
        return tenant

    def drain(self, tool: str) -> list[QueuedMessage]:
        """Every message on the tool's queue (received and deleted)."""
        url = self.queue_url(tool)
        found: list[QueuedMessage] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=30,
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                return found
            for message in got:
                attributes = message.get("Attributes", {})
                found.append(
                    QueuedMessage(
                        job=EnhancementJob.model_validate_json(message["Body"]),
                        dedupe_id=attributes.get("MessageDeduplicationId", ""),
                        group_id=attributes.get("MessageGroupId", ""),
                        body=message["Body"],
                    )
                )
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def delivery_records(self) -> list[dict[str, Any]]:
        return list(self.dynamodb.scan(TableName=self.deliveries_table).get("Items", []))


AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_METRICS_NAMESPACE": "TicketEnhancerTest",
}


@contextmanager
def moto_world() -> Iterator[World]:
    """moto (``mock_aws``) with dummy credentials from the environment, region us-east-1."""
    with mock.patch.dict(os.environ, AWS_ENV), mock_aws():
        os.environ.pop("AWS_ENDPOINT_URL", None)
        yield World.create()


@contextmanager
def moto_server() -> Iterator[str]:
    """moto as an HTTP server on localhost (its URL): for functions run in another process."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def server_world(endpoint: str) -> World:
    """boto3 clients on a moto server (to seed and inspect what the code under test did)."""
    options: dict[str, Any] = {
        "region_name": REGION,
        "endpoint_url": endpoint,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    return World(
        boto3.client("dynamodb", **options),
        boto3.client("sqs", **options),
        boto3.client("secretsmanager", **options),
    )


def server_env(endpoint: str) -> dict[str, str]:
    """A function's AWS environment with its clients pointed at ``endpoint`` (dummy credentials)."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
    }


@contextmanager
def aws_stack() -> Iterator[Stack]:
    """A moto account of its own holding the template's tables and queues (for scripts)."""
    with moto_world() as world:
        yield world.stack()


def invoke(handler: WebhookHandler, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Call the handler; the status and the decoded JSON body (checked to be JSON)."""
    answer = handler(event, None)
    assert answer["headers"]["content-type"] == "application/json"
    body: dict[str, Any] = json.loads(answer["body"])
    return int(answer["statusCode"]), body


def public_resolver(host: str, port: int) -> list[str]:
    """A resolver for tests: every host is public (nothing connects: transports are fakes)."""
    return ["93.184.216.34"]


def check_base_url(
    tool: str,
    url: str,
    *,
    allow_custom_host: bool = False,
    local: bool = False,
    zoho_data_centre: str | None = None,
) -> str:
    """A tenant base URL checked by the tool's plugin (its ``host_policy`` and own rules)."""
    from ticket_enhancer.plugins import PluginManager
    from ticket_enhancer.urls import BaseUrlError

    options = {"zoho_data_centre": zoho_data_centre} if zoho_data_centre is not None else {}
    if not PluginManager().is_plugin_registered(tool):
        raise BaseUrlError(f"unknown tool {tool!r}")
    plugin = PluginManager().get_plugin(tool)
    custom = allow_custom_host and plugin.host_policy.custom_host  # as the worker reads a tenant row
    return plugin.check_base_url(url, allow_custom_host=custom, local=local, options=options)


def is_vendor_host(tool: str, url: str) -> bool:
    from ticket_enhancer.plugins import PluginManager
    from ticket_enhancer.urls import is_vendor_host as on_domain

    return on_domain(PluginManager().get_plugin(tool).host_policy, url)
