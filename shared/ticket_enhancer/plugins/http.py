"""Vendor HTTP calls (httpx): timeouts, retries with backoff and jitter, Retry-After, typed errors.

Imported only on the worker path (it imports httpx). ``send`` is what every plugin uses; a
tool never writes its own retry loop.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping

import httpx

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
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return VendorRateLimitedError(message, tool_type=tool, operation=operation, retry_after=retry_after)
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
    last: VendorError | None = None
    for attempt in range(policy.attempts):
        try:
            response = await client.request(
                request.method,
                url,
                params=request.params,
                json=request.json,
                data=request.form,
                headers=merged,
                timeout=httpx.Timeout(policy.timeout, connect=policy.connect_timeout),
                extensions=extensions,
            )
        except _NOT_SENT as exc:
            last = VendorUnavailableError(
                f"{type(exc).__name__} on {request.method} {request.path}",
                tool_type=tool,
                operation=operation,
            )
            retry_after = None
        except httpx.TransportError as exc:
            error_type = VendorUnavailableError if request.idempotent else VendorOutcomeUnknownError
            error = error_type(
                f"{type(exc).__name__} on {request.method} {request.path}",
                tool_type=tool,
                operation=operation,
            )
            if not request.idempotent:
                raise error from exc
            last, retry_after = error, None
        else:
            if response.is_success:
                return response
            last = _error_for(response, request, tool, operation)
            if not last.retryable or isinstance(last, VendorOutcomeUnknownError):
                raise last
            retry_after = last.retry_after if isinstance(last, VendorRateLimitedError) else None
            if retry_after is not None and retry_after > policy.max_retry_after:
                raise last
        if attempt + 1 < policy.attempts:
            delay = backoff_delay(attempt, policy, retry_after)
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
