"""AWS clients, created once per container and shared (inject fakes in tests).

Functions call four JSON APIs (DynamoDB, SQS, Secrets Manager, Bedrock Runtime). In Lambda they do
it with ``ticket_enhancer.aws.jsonapi``, a small SigV4 client that answers like botocore, because
botocore's import and client construction alone cost more cold start than a webhook's budget
(README, "Cold start"). Where that client does not apply (no credentials in the environment,
FIPS, dual-stack or isolated partitions, or ``TICKET_ENHANCER_AWS_CLIENT=botocore``), botocore
clients are built instead, without importing boto3. ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>`` point either kind at the local emulator.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ticket_enhancer.aws import endpoints, services
from ticket_enhancer.aws.jsonapi import JsonApiClient, Timeouts

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "WEBHOOK_CONFIG",
    "WORKER_CONFIG",
    "Timeouts",
    "bedrock_runtime",
    "dynamodb",
    "secretsmanager",
    "sqs",
]

# Fail fast on the request path: a webhook answers 503 and the tool retries.
WEBHOOK_CONFIG = Timeouts(connect=2, read=3, max_attempts=3)
WORKER_CONFIG = Timeouts(connect=3, read=10, max_attempts=4)

_tls: ssl.SSLContext | None = None


def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per container (certifi's bundle when present, as botocore does)."""
    global _tls  # noqa: PLW0603 (one context per container, by design)
    if _tls is None:
        try:
            import certifi

            _tls = ssl.create_default_context(cafile=certifi.where())
        except ImportError:  # pragma: no cover - the dependency layer ships certifi
            _tls = ssl.create_default_context()
    return _tls


def _client(
    service: endpoints.Service,
    facade: type[services._Facade],
    config: Timeouts,
    env: Mapping[str, str] | None,
) -> Any:
    settings = os.environ if env is None else env
    target = endpoints.resolve(service, settings)
    if target is None:
        from ticket_enhancer.aws.botocore_clients import create

        return create(service, config, settings)
    tls = tls_context() if target.url.startswith("https:") else None
    return facade(JsonApiClient(service, target, config, tls=tls))


def dynamodb(config: Timeouts = WEBHOOK_CONFIG, *, env: Mapping[str, str] | None = None) -> DynamoDBClient:
    result: DynamoDBClient = _client(endpoints.DYNAMODB, services.DynamoDB, config, env)
    return result


def sqs(config: Timeouts = WEBHOOK_CONFIG, *, env: Mapping[str, str] | None = None) -> SQSClient:
    result: SQSClient = _client(endpoints.SQS, services.SQS, config, env)
    return result


def secretsmanager(
    config: Timeouts = WEBHOOK_CONFIG, *, env: Mapping[str, str] | None = None
) -> SecretsManagerClient:
    result: SecretsManagerClient = _client(endpoints.SECRETS_MANAGER, services.SecretsManager, config, env)
    return result


def bedrock_runtime(config: Timeouts = WORKER_CONFIG, *, env: Mapping[str, str] | None = None) -> Any:
    return _client(endpoints.BEDROCK_RUNTIME, services.BedrockRuntime, config, env)
