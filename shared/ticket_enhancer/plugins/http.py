"""Vendor HTTP calls (httpx): timeouts, retries with backoff and jitter, Retry-After, typed errors.

Imported only on the worker path (it imports httpx). ``send`` is what every plugin uses; a
tool never writes its own retry loop.

Bounds (issue 14): each call's total time (connect, send, every byte of the answer) is at most
``RetryPolicy.timeout`` and never past the record's deadline (``ticket_enhancer.deadline``); httpx's
own timeouts are per read, so a vendor trickling a byte every few seconds would otherwise hold the
call for ever. Answers are streamed and decoded here with a bounded decompressor, at most
``RetryPolicy.max_body_bytes`` decoded bytes (a compression bomb never expands past that). A backoff
or Retry-After wait the deadline cannot afford is not slept: the error is raised, and the worker
defers the record (rate limits) or lets the queue redeliver it.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import logging
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from ticket_enhancer import deadline
from ticket_enhancer.plugins.errors import (
    VendorAuthError,
    VendorError,
    VendorNotFoundError,
    VendorOutcomeUnknownError,
    VendorRateLimitedError,
    VendorRequestError,
    VendorUnavailableError,
)
from ticket_enhancer.plugins.requests import RetryPolicy, VendorRequest

logger = logging.getLogger(__name__)

# The request never reached the server: safe to repeat whatever the method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# What we accept: the encodings decoded here with a bound (brotli and zstd would need their own).
ACCEPT_ENCODING = "gzip, deflate"
# Decoded headers describe the raw body, not the capped content the response is rebuilt from.
_DROPPED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class ResponseTooLargeError(Exception):
    """The answer's decoded body passed ``RetryPolicy.max_body_bytes``."""


class _CallTimedOutError(Exception):
    """The whole call passed its total time (``RetryPolicy.timeout`` or the deadline)."""


class _Decoder:
    """gzip / deflate / identity, never producing more than ``limit`` + 1 bytes in all."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._limit = limit
        self._size = 0
        self._raw_deflate_tried = False
        name = encoding.strip().lower()
        self._encoding = name
        if name in ("", "identity"):
            self._zlib: Any = None
        elif name in ("gzip", "x-gzip", "deflate"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
        else:
            raise ResponseTooLargeError(f"unsupported content-encoding {name[:40]!r}")

    def _count(self, data: bytes) -> bytes:
        self._size += len(data)
        if self._size > self._limit:
            raise ResponseTooLargeError(f"body over {self._limit} bytes")
        return data

    def feed(self, data: bytes) -> bytes:
        if self._zlib is None:
            return self._count(data)
        out: list[bytes] = []
        pending = data
        while pending:
            room = self._limit - self._size + 1  # one byte more than allowed: enough to know
            try:
                chunk = self._zlib.decompress(pending, room)
            except zlib.error:
                if self._encoding != "deflate" or self._raw_deflate_tried or self._size:
                    raise
                self._raw_deflate_tried = True  # servers that send raw deflate (no zlib header)
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            out.append(self._count(chunk))
            pending = self._zlib.unconsumed_tail
        return b"".join(out)

    def flush(self) -> bytes:
        if self._zlib is None:
            return b""
        return self._count(self._zlib.flush(self._limit - self._size + 1))


async def _request(
    client: httpx.AsyncClient,
    request: httpx.Request,
    limit: int,
) -> httpx.Response:
    """Send ``request``; the answer rebuilt from its decoded body of at most ``limit`` bytes."""
    response = await client.send(request, stream=True)
    try:
        if response.is_stream_consumed:  # answered from memory (a test transport): decoded already
            chunks = [response.content]
            if len(response.content) > limit:
                raise ResponseTooLargeError(f"body over {limit} bytes")
        else:
            decoder = _Decoder(response.headers.get("content-encoding", ""), limit)
            chunks = [decoder.feed(raw) async for raw in response.aiter_raw()]
            chunks.append(decoder.flush())
    finally:
        await response.aclose()
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _DROPPED_HEADERS]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=b"".join(chunks),
        request=request,
        extensions={k: v for k, v in response.extensions.items() if k == "http_version"},
    )


Sleep = Callable[[float], Awaitable[None]]


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": a UTC time (HTTP dates are always GMT)
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt: int, policy: RetryPolicy, retry_after: float | None) -> float:
    """Full-jitter exponential backoff; a Retry-After is honoured (plus a little jitter)."""
    if retry_after is not None:
        return retry_after + random.uniform(0, min(1.0, retry_after * 0.1))  # noqa: S311 # nosec B311 # jitter
    return random.uniform(0, min(policy.max_delay, policy.base_delay * 2**attempt))  # noqa: S311 # nosec B311 # jitter


def _error_for(response: httpx.Response, request: VendorRequest, tool: str, operation: str) -> VendorError:
    status = response.status_code
    message = f"HTTP {status} from {request.method} {request.path}"
    if status in (401, 403):
        return VendorAuthError(message, tool_type=tool, operation=operation, status=status)
    if status == 404:
        return VendorNotFoundError(message, tool_type=tool, operation=operation, status=status)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    # 503 with a Retry-After: unavailable for a stated time, a rate limit in all but name (and the
    # request had no effect).
    if status == 429 or (status == 503 and retry_after is not None):
        return VendorRateLimitedError(
            message, tool_type=tool, operation=operation, retry_after=retry_after, status=status
        )
    if status >= 500:
        if request.idempotent or status == 503:
            return VendorUnavailableError(message, tool_type=tool, operation=operation, status=status)
        return VendorOutcomeUnknownError(message, tool_type=tool, operation=operation, status=status)
    return VendorRequestError(message, tool_type=tool, operation=operation, status=status)


def pinned(url: str, address: str) -> tuple[str, str, str]:
    """``url`` aimed at ``address``; with the ``Host`` header and TLS server name it had."""
    parts = httpx.URL(url)
    host = parts.raw_host.decode("ascii")  # IDNA form, as TLS and DNS see it
    return str(parts.copy_with(host=address)), parts.netloc.decode("ascii"), host


async def _exchange(  # noqa: PLR0917 (one call's parts)
    client: httpx.AsyncClient,
    built: httpx.Request,
    request: VendorRequest,
    limit: int,
    total: float,
    tool: str,
    operation: str,
) -> httpx.Response | VendorError:
    """One try within ``total`` seconds: the answer, or the retryable error of a failed exchange.

    Raises ``VendorOutcomeUnknownError`` when a non-idempotent request may have taken effect."""
    what = f"{request.method} {request.path}"
    try:
        try:
            return await asyncio.wait_for(_request(client, built, limit), total)
        except TimeoutError:
            raise _CallTimedOutError(f"no complete answer in {total:.1f} s") from None
    except _NOT_SENT as exc:
        return VendorUnavailableError(f"{type(exc).__name__} on {what}", tool_type=tool, operation=operation)
    except (
        httpx.TransportError,
        httpx.DecodingError,
        _CallTimedOutError,
        ResponseTooLargeError,
        zlib.error,
    ) as exc:
        # Sent, but no usable answer: the request may have taken effect.
        message = f"{type(exc).__name__} on {what}"
        if not request.idempotent:
            raise VendorOutcomeUnknownError(message, tool_type=tool, operation=operation) from exc
        return VendorUnavailableError(message, tool_type=tool, operation=operation)


async def send(
    client: httpx.AsyncClient,
    base_url: str,
    request: VendorRequest,
    *,
    headers: Mapping[str, str],
    tool: str,
    operation: str,
    policy: RetryPolicy,
    sleep: Sleep | None = None,
    connect_to: str | None = None,
) -> httpx.Response:
    """Send with retries; return a 2xx response or raise a typed ``VendorError``.

    ``connect_to``: an address checked for this host (``urls.check_resolved_host``). The request
    goes to that address while TLS (SNI and certificate) and ``Host`` keep the host name.
    """
    url = base_url.rstrip("/") + request.path
    merged = {**headers, **request.headers}
    extensions: dict[str, str] = {}
    if connect_to is not None:
        url, merged["Host"], extensions["sni_hostname"] = pinned(url, connect_to)
    merged.setdefault("Accept-Encoding", ACCEPT_ENCODING)
    last: VendorError | None = None
    for attempt in range(policy.attempts):
        total = deadline.remaining(policy.timeout)
        if total <= 0:
            raise last or VendorUnavailableError(
                f"no time left for {request.method} {request.path}", tool_type=tool, operation=operation
            )
        built = client.build_request(
            request.method,
            url,
            params=request.params,
            json=request.json,
            data=request.form,
            headers=merged,
            timeout=httpx.Timeout(policy.timeout, connect=policy.connect_timeout),
            extensions=extensions,
        )
        answer = await _exchange(client, built, request, policy.max_body_bytes, total, tool, operation)
        if isinstance(answer, VendorError):
            last, retry_after = answer, None
        elif answer.is_success:
            return answer
        else:
            last = _error_for(answer, request, tool, operation)
            if not last.retryable or isinstance(last, VendorOutcomeUnknownError):
                raise last
            retry_after = last.retry_after if isinstance(last, VendorRateLimitedError) else None
            if retry_after is not None and retry_after > deadline.remaining(policy.max_retry_after):
                raise last  # longer than this call may wait: the worker defers the record
        if attempt + 1 < policy.attempts:
            delay = backoff_delay(attempt, policy, retry_after)
            if delay >= deadline.remaining(delay + 1):
                raise last  # the record's time would run out while waiting
            logger.info(
                "vendor call retrying",
                extra={
                    "tool": tool,
                    "operation": operation,
                    "attempt": attempt + 1,
                    "delay_s": round(delay, 3),
                    "error": type(last).__name__,
                },
            )
            await (sleep or asyncio.sleep)(delay)
    if last is None:  # policy.attempts < 1: nothing was sent
        raise ValueError("RetryPolicy.attempts must be at least 1")
    raise last
