"""The sync's share of the vendor API budget: options, the token bucket, the metering transport."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ticket_enhancer.sync.ratelimit import (
    DEFAULT_SHARE,
    DOCUMENTED_LIMITS,
    OptionError,
    RateLimitedTransport,
    TokenBucket,
    option_problems,
    sync_rate_per_minute,
    sync_share,
    tool_limit,
)

from tests.sync_support import Clock


def test_default_is_a_quarter_of_the_documented_limit() -> None:
    assert sync_rate_per_minute("zendesk", {}) == DEFAULT_SHARE * DOCUMENTED_LIMITS["zendesk"] == 50.0


def test_tenant_options_choose_share_and_limit() -> None:
    assert sync_rate_per_minute("zendesk", {"sync_api_share": "0.5", "sync_api_limit": "700"}) == 350.0


def test_a_plugin_may_declare_its_documented_limit() -> None:
    class Declared:
        documented_rate_limit_per_minute = 400

    assert tool_limit("freshservice", {}, Declared()) == 400.0
    assert tool_limit("freshservice", {"sync_api_limit": "500"}, Declared()) == 500.0


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "nan", "inf", "a quarter", "1e400"])
def test_bad_share_is_refused(value: str) -> None:
    with pytest.raises(OptionError, match="sync_api_share"):
        sync_share({"sync_api_share": value})


@given(st.text(max_size=12))
def test_share_is_in_range_or_refused(text: str) -> None:
    try:
        share = sync_share({"sync_api_share": text})
    except OptionError:
        return
    assert 0 < share <= 1


@given(st.floats(min_value=0.5, max_value=5000), st.integers(min_value=2, max_value=40))
def test_the_bucket_never_exceeds_its_rate(rate: float, requests: int) -> None:
    clock = Clock(0.0)
    bucket = TokenBucket(rate, clock=clock, sleep=clock.sleep)

    async def go() -> None:
        for _ in range(requests):
            await bucket.acquire()

    asyncio.run(go())
    # one token to start with, then one per 60/rate seconds
    assert clock.now >= (requests - 1) * 60.0 / rate - 1e-6
    assert clock.now <= (requests - 1) * 60.0 / rate + 1e-6


def test_every_vendor_request_waits_for_a_token() -> None:
    clock = Clock(0.0)
    bucket = TokenBucket(30.0, clock=clock, sleep=clock.sleep)  # one request every 2 s
    seen: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(clock.now)
        return httpx.Response(200, json={})

    async def go() -> None:
        transport = RateLimitedTransport(bucket, httpx.MockTransport(answer))
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in range(4):
                await client.get("https://acme.zendesk.com/api/v2/tickets/1")

    asyncio.run(go())
    assert seen == [0.0, 2.0, 4.0, 6.0]
    assert bucket.acquired == 4


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"sync_api_share": "2"}, "sync_api_share"),
        ({"sync_api_limit": "-5"}, "sync_api_limit"),
        ({"sync_history_days": "0"}, "sync_history_days"),
        ({"sync_history_days": "ten"}, "sync_history_days"),
        ({"sync_schedule": "hourly"}, "sync_schedule"),
    ],
)
def test_bad_sync_options_are_named(options: dict[str, str], problem: str) -> None:
    found = option_problems(options)
    assert len(found) == 1
    assert problem in found[0]


def test_good_sync_options_pass() -> None:
    options = {
        "sync_api_share": "0.5",
        "sync_api_limit": "700",
        "sync_history_days": "30",
        "sync_schedule": "off",
    }
    assert option_problems(options) == []
