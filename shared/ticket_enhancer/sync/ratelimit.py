"""The sync's share of a tenant's vendor API budget: a token bucket under every vendor request.

A tenant's tool answers a fixed number of requests a minute (its plan's limit), shared by the note
posting and the customer's other integrations. The sync takes at most ``sync_api_share`` of it
(tenant option, default 0.25): requests per minute = share x the tool's limit. The limit is the
tenant's ``sync_api_limit`` option (requests a minute: its plan's), else the plugin's
``documented_rate_limit_per_minute``, else :data:`DOCUMENTED_LIMITS` below (the lowest plan's, so the
default never exceeds what any plan allows).

The bucket sits in the sync's HTTP transport (:class:`RateLimitedTransport`), so it meters every
request a plugin makes for a page (a history page can cost a request per ticket for its comments).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

DEFAULT_SHARE = 0.25
SHARE_OPTION = "sync_api_share"
LIMIT_OPTION = "sync_api_limit"

# Requests a minute for a plugin that declares no ``documented_rate_limit_per_minute`` (the
# built-ins declare theirs, with the vendor page each comes from; these mirror them). Jira Cloud and
# ServiceNow publish no fixed number (Jira: cost-based points; ServiceNow: rules an admin defines
# per hour), ServiceDesk Plus and self-hosted Zammad none: planning figures until the tenant sets
# `sync_api_limit`.
DOCUMENTED_LIMITS: Mapping[str, float] = {
    "jira": 100.0,
    "zendesk": 200.0,  # Support Team plan: 200 requests/min (Growth 400, Enterprise 700, add-on 2,500)
    "servicenow": 300.0,
    "freshservice": 100.0,  # Starter: 100/min (Growth 200, Pro 400, Enterprise 500)
    "servicedesk_plus": 60.0,
    "zammad": 100.0,
}
FALLBACK_LIMIT = 60.0


class OptionError(ValueError):
    """A tenant's sync option is not usable (the message names it)."""


def _positive(options: Mapping[str, Any], key: str) -> float | None:
    raw = options.get(key)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise OptionError(f"option {key} must be a number, not {str(raw)[:40]!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise OptionError(f"option {key} must be a positive number, not {str(raw)[:40]!r}")
    return value


def sync_share(options: Mapping[str, Any]) -> float:
    """``sync_api_share`` (0 < share <= 1), default 0.25."""
    share = _positive(options, SHARE_OPTION)
    if share is None:
        return DEFAULT_SHARE
    if share > 1:
        raise OptionError(f"option {SHARE_OPTION} must be at most 1, not {share:g}")
    return share


def tool_limit(tool: str, options: Mapping[str, Any], plugin: object = None) -> float:
    """The tenant's vendor limit in requests a minute (option, plugin, documented table)."""
    chosen = _positive(options, LIMIT_OPTION)
    if chosen is not None:
        return chosen
    declared = getattr(plugin, "documented_rate_limit_per_minute", None)
    if isinstance(declared, int | float) and not isinstance(declared, bool) and declared > 0:
        return float(declared)
    return DOCUMENTED_LIMITS.get(tool, FALLBACK_LIMIT)


def sync_rate_per_minute(tool: str, options: Mapping[str, Any], plugin: object = None) -> float:
    """Requests a minute the sync may make for this tenant: share x limit."""
    return sync_share(options) * tool_limit(tool, options, plugin)


Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """``rate`` tokens a second, at most ``capacity`` saved; ``acquire`` waits for one."""

    def __init__(
        self,
        rate_per_minute: float,
        *,
        capacity: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate_per_minute <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate_per_minute / 60.0
        self.capacity = max(1.0, capacity)
        self._clock, self._sleep = clock, sleep
        self._tokens = self.capacity
        self._last = clock()
        self._lock = asyncio.Lock()
        self.acquired = 0
        self.waited = 0.0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    async def acquire(self) -> None:
        async with self._lock:  # requests queue in order
            self._refill()
            if self._tokens < 1:
                wait = (1 - self._tokens) / self.rate
                self.waited += wait
                await self._sleep(wait)
                self._refill()
                self._tokens = max(self._tokens, 1.0)
            self._tokens -= 1
            self.acquired += 1


class RateLimitedTransport(httpx.AsyncBaseTransport):
    """Every request waits for a token of ``bucket`` before ``inner`` sends it."""

    def __init__(self, bucket: TokenBucket, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.bucket = bucket
        self._inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.bucket.acquire()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


HISTORY_DAYS_OPTION = "sync_history_days"  # the scheduled sync's window (1 to 3650, default 180)
SCHEDULE_OPTION = "sync_schedule"  # "daily" (default) or "off": no scheduled sync for the tenant


def option_problems(options: Mapping[str, str]) -> list[str]:
    """What is wrong with the sync options among ``options`` (``tenants add/update`` refuse them)."""
    problems: list[str] = []
    for check in (sync_share, lambda o: _positive(o, LIMIT_OPTION)):
        try:
            check(options)
        except OptionError as exc:
            problems.append(str(exc))
    days = options.get(HISTORY_DAYS_OPTION)
    if days is not None and not (days.isascii() and days.isdigit() and 1 <= int(days) <= 3650):
        problems.append(f"option {HISTORY_DAYS_OPTION} must be a whole number of days from 1 to 3650")
    if options.get(SCHEDULE_OPTION, "daily") not in ("daily", "off"):
        problems.append(f"option {SCHEDULE_OPTION} must be daily or off")
    return problems
