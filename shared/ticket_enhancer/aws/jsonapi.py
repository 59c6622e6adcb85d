"""A small, fast client for AWS's JSON protocols, raising botocore's own exception types.

Why not botocore here: importing ``botocore.session`` and building three clients costs a
webhook function ~140 ms of cold start (0.9x and 0.55x of ``import boto3``), more than the whole
budget leaves; this module costs a few milliseconds on top of ``http.client``. It speaks only what
our functions need: ``POST`` of a JSON document, SigV4, keep-alive connections, botocore's
"standard" retry rules, and errors as ``botocore.exceptions.ClientError`` (the same ``response``
shape, modeled error fields such as DynamoDB's ``Item`` included), so callers and tests do not
care which client they hold. ``tests/integration/test_aws_vs_botocore.py`` runs both clients side by
side against moto.
"""

from __future__ import annotations

import http.client
import json
import random
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from ticket_enhancer.aws.endpoints import Service, Target
from ticket_enhancer.aws.sigv4 import sign

USER_AGENT = "ticket-enhancer (aws-json)"
MAX_BACKOFF_SECONDS = 20.0
MAX_IDLE_CONNECTIONS = 10
# botocore's standard retry mode: throttling and transient error codes, and these statuses.
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ModelNotReadyException",
    }
)
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float
    read: float
    max_attempts: int  # attempts in all, the first one included (botocore's max_attempts)


class _Retryable(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def error_fields(body: dict[str, Any], headers: http.client.HTTPMessage, status: int) -> dict[str, str]:
    """The ``Error`` of botocore's response: code (``ns#Code`` and ``Code:uri`` forms), message, and
    for SQS the old query-protocol code it sends in ``x-amzn-query-error`` (as botocore does)."""
    raw = str(body.get("__type") or body.get("code") or headers.get("x-amzn-errortype") or status)
    code = raw.split(":", 1)[0].rsplit("#", 1)[-1]
    error = {"Code": code, "Message": str(body.get("message") or body.get("Message") or "")}
    query = (headers.get("x-amzn-query-error") or "").split(";")
    if len(query) == 2 and query[0]:
        error.update(Code=query[0], QueryErrorCode=code, Type=query[1])
    return error


class JsonApiClient:
    """Calls one AWS service. Thread-safe: each call takes its own connection from a small pool."""

    def __init__(
        self,
        service: Service,
        target: Target,
        timeouts: Timeouts,
        *,
        tls: ssl.SSLContext | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.service = service
        self.region = target.region
        self._credentials = target.credentials
        parts = urlsplit(target.url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"unusable endpoint URL for {service.name}: {target.url!r}")
        self._https = parts.scheme == "https"
        self._hostname = parts.hostname
        self._port = parts.port
        self._host_header = parts.netloc
        self._base_path = parts.path.rstrip("/")
        self._timeouts = timeouts
        self._tls = tls if tls is not None or not self._https else ssl.create_default_context()
        self._sleep = sleep
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    @property
    def endpoint_url(self) -> str:
        return f"{'https' if self._https else 'http'}://{self._host_header}{self._base_path}"

    def call(self, operation: str, params: dict[str, Any], *, path: str = "/") -> dict[str, Any]:
        """POST ``params`` as the operation's JSON input; the parsed output, as botocore returns it."""
        body = json.dumps(params, separators=(",", ":")).encode("utf-8")
        headers = {"content-type": self.service.content_type}
        if self.service.target_prefix:
            headers["x-amz-target"] = f"{self.service.target_prefix}.{operation}"
        if self.service.query_compatible:
            headers["x-amzn-query-mode"] = "true"
        attempt = 0
        while True:
            attempt += 1
            try:
                result = self._attempt(operation, self._base_path + path, headers, body)
            except _Retryable as retry:
                if attempt >= self._timeouts.max_attempts:
                    raise retry.error from retry.__cause__
                self._sleep(random.random() * min(MAX_BACKOFF_SECONDS, 2.0 ** (attempt - 1)))  # noqa: S311 # nosec B311 # jitter
                continue
            result.setdefault("ResponseMetadata", {})["RetryAttempts"] = attempt - 1
            return result

    # --- one attempt -------------------------------------------------------------------------------

    def _attempt(self, operation: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        signed = sign(
            method="POST",
            host=self._host_header,
            path=path,
            headers=headers,
            body=body,
            credentials=self._credentials,
            region=self.region,
            service=self.service.signing_name,
        )
        signed["user-agent"] = USER_AGENT
        status, response_headers, data = self._exchange(path, signed, body)
        crc = response_headers.get("x-amz-crc32")
        if crc is not None and crc.isdigit() and zlib.crc32(data) != int(crc):
            raise _Retryable(EndpointConnectionError(endpoint_url=self.endpoint_url, error="CRC32 mismatch"))
        try:
            parsed = json.loads(data) if data else {}
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            if status < 300:  # a garbled success must never read as "no item": retry, then fail
                raise _Retryable(
                    EndpointConnectionError(endpoint_url=self.endpoint_url, error="unreadable answer")
                )
            parsed = {}  # an error page (a proxy's 502): the status is the code
        metadata = {
            "RequestId": response_headers.get("x-amzn-requestid", ""),
            "HTTPStatusCode": status,
            "HTTPHeaders": {k.lower(): v for k, v in response_headers.items()},
        }
        if status < 300:
            parsed["ResponseMetadata"] = metadata
            return parsed
        fields = error_fields(parsed, response_headers, status)
        extra = {k: v for k, v in parsed.items() if k != "__type"}
        error = ClientError(
            {**extra, "Error": fields, "ResponseMetadata": metadata},  # type: ignore[typeddict-item]
            operation,
        )
        if status in RETRYABLE_STATUSES or fields["Code"] in RETRYABLE_CODES:
            raise _Retryable(error)
        raise error

    def _exchange(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request/response on a pooled connection; a stale keep-alive connection is replaced once."""
        for reused in (True, False):
            connection, was_idle = self._connection(fresh=not reused)
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
            except TimeoutError as exc:
                connection.close()
                raise _Retryable(ReadTimeoutError(endpoint_url=self.endpoint_url, error=str(exc))) from exc
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                connection.close()
                if was_idle:
                    continue  # the server closed an idle connection: try again on a new one
                raise _Retryable(
                    EndpointConnectionError(endpoint_url=self.endpoint_url, error=str(exc))
                ) from exc
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                raise _Retryable(
                    EndpointConnectionError(endpoint_url=self.endpoint_url, error=str(exc))
                ) from exc
            if response.will_close:
                connection.close()
            else:
                self._release(connection)
            return response.status, response.headers, data
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self, *, fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
        if not fresh:
            with self._lock:
                if self._idle:
                    return self._idle.pop(), True
        connection: http.client.HTTPConnection
        if self._https:
            connection = http.client.HTTPSConnection(
                self._hostname, self._port, timeout=self._timeouts.connect, context=self._tls
            )
        else:
            connection = http.client.HTTPConnection(
                self._hostname, self._port, timeout=self._timeouts.connect
            )
        try:
            connection.connect()
        except TimeoutError as exc:
            connection.close()
            raise _Retryable(ConnectTimeoutError(endpoint_url=self.endpoint_url, error=str(exc))) from exc
        except OSError as exc:
            connection.close()
            raise _Retryable(EndpointConnectionError(endpoint_url=self.endpoint_url, error=str(exc))) from exc
        if connection.sock is not None:
            connection.sock.settimeout(self._timeouts.read)
        return connection, False

    def _release(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
