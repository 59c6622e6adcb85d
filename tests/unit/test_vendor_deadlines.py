"""Hostile vendors (issue 14): ``plugins.http.send`` bounds every call by its total time and the
record's deadline, streams bodies with a cap on decoded bytes, and never sleeps past the deadline.

Times are real but small (a fraction of a second): ``asyncio.wait_for`` runs on the loop's clock.
"""

from __future__ import annotations

import asyncio
import math
import time
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ticket_enhancer import deadline
from ticket_enhancer.deadline import Deadline
from ticket_enhancer.plugins.errors import (
    VendorOutcomeUnknownError,
    VendorRateLimitedError,
    VendorUnavailableError,
)
from ticket_enhancer.plugins.http import send
from ticket_enhancer.plugins.requests import RetryPolicy, VendorRequest

BASE_URL = "https://acme.zendesk.com"
GET = VendorRequest("GET", "/api/v2/tickets/42.json", idempotent=True)
POST = VendorRequest("POST", "/api/v2/tickets/42.json", json={"note": "x"})
ONE_TRY = RetryPolicy(attempts=1, timeout=0.3, max_body_bytes=64 * 1024)


class Stream(httpx.AsyncByteStream):
    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            yield chunk


async def trickle() -> AsyncIterator[bytes]:
    for _ in range(100):
        yield b" "
        await asyncio.sleep(0.05)  # a byte every few seconds, scaled down


async def huge() -> AsyncIterator[bytes]:
    for _ in range(64):
        yield b"x" * 65536


async def bomb() -> AsyncIterator[bytes]:
    """64 MiB of zeros gzip-compressed (about 64 KiB on the wire)."""
    gzip = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    for _ in range(64):
        yield gzip.compress(block)
    yield gzip.flush()


def gzipped(data: bytes) -> bytes:
    gzip = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return gzip.compress(data) + gzip.flush()


async def handler(request: httpx.Request) -> httpx.Response:
    kind = request.headers["x-behaviour"]
    if kind == "silent":
        await asyncio.sleep(3600)
    if kind == "trickle":
        return httpx.Response(200, stream=Stream(trickle()))
    if kind == "huge":
        return httpx.Response(200, stream=Stream(huge()))
    if kind == "bomb":
        return httpx.Response(200, headers={"content-encoding": "gzip"}, stream=Stream(bomb()))
    body = gzipped(b'{"ticket": {"id": 42}}')

    async def one() -> AsyncIterator[bytes]:
        yield body

    return httpx.Response(200, headers={"content-encoding": "gzip"}, stream=Stream(one()))


async def call(behaviour: str, request: VendorRequest = GET, policy: RetryPolicy = ONE_TRY) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return await send(
            client,
            BASE_URL,
            request,
            headers={"x-behaviour": behaviour},
            tool="zendesk",
            operation="get_ticket",
            policy=policy,
        )


@pytest.mark.parametrize("behaviour", ["silent", "trickle"])
def test_a_vendor_never_answering_or_trickling_is_cut_off_at_the_total_time(behaviour: str) -> None:
    started = time.monotonic()
    with pytest.raises(VendorUnavailableError, match="_CallTimedOutError"):
        asyncio.run(call(behaviour))
    assert time.monotonic() - started < 1.0  # timeout 0.3 s; a trickle would take 5 s


def test_a_write_cut_off_is_outcome_unknown() -> None:
    with pytest.raises(VendorOutcomeUnknownError):
        asyncio.run(call("silent", POST))


@pytest.mark.parametrize("behaviour", ["huge", "bomb"])
def test_a_huge_or_compression_bomb_body_is_cut_off_at_the_cap(behaviour: str) -> None:
    """4 MiB of body raw, or 64 MiB of zeros in 64 KiB of gzip: cut at the cap on decoded bytes
    (64 KiB here), never decompressed in full."""
    with pytest.raises(VendorUnavailableError, match="ResponseTooLargeError"):
        asyncio.run(call(behaviour))


def test_a_gzip_answer_is_decoded_once() -> None:
    response = asyncio.run(call("gzip"))
    assert response.json() == {"ticket": {"id": 42}}
    assert "content-encoding" not in response.headers


def test_the_deadline_bounds_a_call_below_the_policy_timeout() -> None:
    async def bounded() -> None:
        token = deadline.CURRENT.set(Deadline(0.2))
        try:
            await call("silent", policy=RetryPolicy(attempts=1, timeout=10.0))
        finally:
            deadline.CURRENT.reset(token)

    started = time.monotonic()
    with pytest.raises(VendorUnavailableError):
        asyncio.run(bounded())
    assert time.monotonic() - started < 1.0


def test_no_call_starts_after_the_deadline() -> None:
    async def expired() -> None:
        token = deadline.CURRENT.set(Deadline(0))
        try:
            await call("gzip")
        finally:
            deadline.CURRENT.reset(token)

    with pytest.raises(VendorUnavailableError, match="no time left"):
        asyncio.run(expired())


def test_a_retry_after_longer_than_the_deadline_is_raised_not_slept() -> None:
    """Retry-After: 20 is within what a call may wait (30 s) but not within the record's time left
    (5 s): raised at once, for the worker to defer the record."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"retry-after": "20"})

    async def run() -> None:
        token = deadline.CURRENT.set(Deadline(5.0))
        try:
            async with httpx.AsyncClient(transport=httpx.MockTransport(limited)) as client:
                await send(
                    client, BASE_URL, GET, headers={}, tool="zendesk", operation="get_ticket",
                    policy=RetryPolicy(), sleep=sleep,
                )  # fmt: skip
        finally:
            deadline.CURRENT.reset(token)

    with pytest.raises(VendorRateLimitedError) as caught:
        asyncio.run(run())
    assert caught.value.retry_after == 20.0
    assert slept == []


def test_503_with_retry_after_is_a_rate_limit() -> None:
    async def unavailable(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"retry-after": "3600"})

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(unavailable)) as client:
            await send(
                client, BASE_URL, POST, headers={}, tool="zendesk", operation="add_note", policy=RetryPolicy()
            )

    with pytest.raises(VendorRateLimitedError) as caught:
        asyncio.run(run())
    assert (caught.value.status, caught.value.retry_after) == (503, 3600.0)


def test_deadline_from_the_lambda_context_less_the_margin() -> None:
    now = [100.0]

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 30_000

    made = Deadline.from_context(Context(), clock=lambda: now[0])
    assert made.remaining() == 30.0 - deadline.SAFETY_MARGIN_SECONDS
    now[0] += 26
    assert made.expired
    assert Deadline.from_context(None, clock=lambda: now[0]).remaining() == (
        deadline.DEFAULT_SECONDS - deadline.SAFETY_MARGIN_SECONDS
    )


def test_deferrals_grow_with_the_jobs_deferrals_and_stop_at_sqs_maximum() -> None:
    """A deferral waits the vendor's Retry-After or 60 s x 2^deferrals so far, whichever is longer, plus
    up to 10 % (at most 60 s) of jitter, capped at 12 h: a vendor answering ``Retry-After: 60`` for
    ever costs ~12 receives a day, not one a minute (``maxReceiveCount`` is 50)."""
    from ticket_enhancer.worker.handler import MAX_VISIBILITY_SECONDS, deferral_seconds

    for n in range(10):
        assert 60 * 2**n <= deferral_seconds(60, n) <= 60 * 2**n + 60
        assert 60 * 2**n <= deferral_seconds(None, n) <= 60 * 2**n + 60
    assert 3600 <= deferral_seconds(3600, 0) <= 3660  # the vendor's wait when it is the longer
    assert deferral_seconds(60, 10) == deferral_seconds(60, 1000) == MAX_VISIBILITY_SECONDS == 43_200
    assert deferral_seconds(10 * 86_400, 0) == MAX_VISIBILITY_SECONDS
    waits, total = 0, 0
    while total < 24 * 3600:
        total += deferral_seconds(60, waits)
        waits += 1
    assert waits <= 12


@given(
    seconds=st.integers(min_value=1, max_value=43_200),
    factor=st.floats(min_value=1, max_value=10_000, allow_nan=False),
)
def test_a_local_deferral_waits_the_scaled_time(seconds: int, factor: float) -> None:
    """The local stack divides a deferral's visibility by its time scale, as it does the queues'."""
    from ticket_enhancer.worker.deferral import scaled_wait

    wait = scaled_wait(seconds, factor)

    assert 1 <= wait <= seconds
    assert wait == max(1, math.ceil(seconds / factor))
    assert scaled_wait(seconds, 1.0) == seconds


@pytest.mark.parametrize(
    ("settings", "factor"),
    [
        ({"TICKET_ENHANCER_LOCAL": "1", "TICKET_ENHANCER_TIME_SCALE": "60"}, 60.0),
        ({"TICKET_ENHANCER_LOCAL": "1", "TICKET_ENHANCER_TIME_SCALE": "120"}, 120.0),
        ({"TICKET_ENHANCER_TIME_SCALE": "60"}, 1.0),  # never in Lambda: only `local up` sets it
        ({"TICKET_ENHANCER_LOCAL": "1"}, 1.0),
        ({"TICKET_ENHANCER_LOCAL": "1", "TICKET_ENHANCER_TIME_SCALE": "fast"}, 1.0),
        ({"TICKET_ENHANCER_LOCAL": "1", "TICKET_ENHANCER_TIME_SCALE": "nan"}, 1.0),
        ({"TICKET_ENHANCER_LOCAL": "1", "TICKET_ENHANCER_TIME_SCALE": "0.5"}, 1.0),  # never slower
    ],
)
def test_the_time_scale_comes_from_the_local_stack_only(settings: dict[str, str], factor: float) -> None:
    from ticket_enhancer.worker.deferral import time_scale_from

    assert time_scale_from(settings) == factor
