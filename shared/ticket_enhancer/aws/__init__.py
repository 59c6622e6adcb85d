"""AWS clients for functions: botocore's, created once per container at init and injected.

Functions call DynamoDB, SQS, Secrets Manager and Bedrock Runtime with the clients botocore
builds, the same objects ``boto3.client()`` returns and the ones every test suite runs against
(``mock_aws``, moto's server, the fault suite's event hooks). boto3 itself is not imported: its
session adds import time and nothing our calls use. One botocore session per container, so the
clients share its loaded data (endpoints, partitions, retry rules).

Credentials, region and endpoint come from the environment as botocore reads them (Lambda sets
``AWS_REGION``; ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>`` point clients at the local
stack's emulator). botocore itself is imported on the first client, not with this module.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import botocore.session
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "WEBHOOK_CONFIG",
    "WORKER_CONFIG",
    "LazyClient",
    "Timeouts",
    "bedrock_runtime",
    "dynamodb",
    "s3",
    "secretsmanager",
    "sqs",
]


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float
    read: float
    max_attempts: int  # attempts in all, the first one included (botocore's total_max_attempts)
    max_pool_connections: int = 10  # botocore's default; the worker's records call at once


# Fail fast on the request path: a webhook answers 503 and the tool retries.
WEBHOOK_CONFIG = Timeouts(connect=2, read=3, max_attempts=3)
WORKER_CONFIG = Timeouts(connect=3, read=10, max_attempts=4, max_pool_connections=32)

_session: botocore.session.Session | None = None
_lock = threading.Lock()  # botocore sessions are not thread-safe; clients are


def _client(service: str, timeouts: Timeouts) -> Any:
    """A botocore client of ``service``: standard retry mode, our timeouts, the environment's region."""
    global _session  # noqa: PLW0603 (one session per container, by design)
    import botocore.session
    from botocore.config import Config

    config = Config(
        connect_timeout=timeouts.connect,
        read_timeout=timeouts.read,
        retries={"total_max_attempts": timeouts.max_attempts, "mode": "standard"},
        max_pool_connections=timeouts.max_pool_connections,
    )
    with _lock:
        if _session is None:
            _session = botocore.session.get_session()
        # botocore reads AWS_DEFAULT_REGION only; Lambda sets AWS_REGION (and both, today).
        region = os.environ.get("AWS_REGION") or None
        return _session.create_client(service, region_name=region, config=config)


class LazyClient:
    """A client made on first use (thread-safe), then used for every call: for a client that only
    some jobs need (the worker's S3 for index loads, its SQS for deferrals), so init does not pay."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory, self._client, self._lock = factory, None, threading.Lock()

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._factory()
        return getattr(self._client, name)


def dynamodb(config: Timeouts = WEBHOOK_CONFIG) -> DynamoDBClient:
    return cast("DynamoDBClient", _client("dynamodb", config))


def sqs(config: Timeouts = WEBHOOK_CONFIG) -> SQSClient:
    return cast("SQSClient", _client("sqs", config))


def secretsmanager(config: Timeouts = WEBHOOK_CONFIG) -> SecretsManagerClient:
    return cast("SecretsManagerClient", _client("secretsmanager", config))


def bedrock_runtime(config: Timeouts = WORKER_CONFIG) -> Any:
    return _client("bedrock-runtime", config)


def s3(config: Timeouts = WORKER_CONFIG) -> Any:
    """S3 (the tenants' search indexes, ``CONTEXT_INDEX_BUCKET``)."""
    return _client("s3", config)
