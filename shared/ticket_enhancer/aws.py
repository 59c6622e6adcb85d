"""AWS clients, created once per container and shared (inject fakes in tests).

Functions build their clients with botocore directly: importing boto3 on top costs ~50 ms of
cold start (its s3transfer and resource machinery) and adds nothing a low-level client needs.
The clients are the same objects `boto3.client()` returns. ``AWS_ENDPOINT_URL`` (honoured by
botocore) points them at the local emulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

# Fail fast on the request path: a webhook answers 503 and the tool retries.
WEBHOOK_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"})
WORKER_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})

_session: botocore.session.Session | None = None


def session() -> botocore.session.Session:
    global _session  # noqa: PLW0603 (one session per container, by design)
    if _session is None:
        _session = botocore.session.get_session()
    return _session


def client(service: str, config: Config) -> Any:
    return session().create_client(service, config=config)


def dynamodb(config: Config = WEBHOOK_CONFIG) -> DynamoDBClient:
    result: DynamoDBClient = client("dynamodb", config)
    return result


def sqs(config: Config = WEBHOOK_CONFIG) -> SQSClient:
    result: SQSClient = client("sqs", config)
    return result


def secretsmanager(config: Config = WEBHOOK_CONFIG) -> SecretsManagerClient:
    result: SecretsManagerClient = client("secretsmanager", config)
    return result
