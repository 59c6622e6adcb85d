"""``TtlCache``: expiry, bounds, single-flight loading, errors never cached."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ticket_enhancer.cache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_values_expire_after_their_ttl() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(clock=clock)
    loads: list[str] = []

    def load() -> int:
        loads.append("x")
        return len(loads)

    assert cache.get_or_load("k", load, 10) == 1
    clock.now += 9.9
    assert cache.get_or_load("k", load, 10) == 1
    clock.now += 0.2
    assert cache.get_or_load("k", load, 10) == 2
    assert cache.get("k") == 2


def test_none_is_a_value_with_its_own_ttl() -> None:
    """The tenant store caches "unknown tenant" (None) for less time than a tenant."""
    clock = Clock()
    cache: TtlCache[str, int | None] = TtlCache(clock=clock)
    calls = 0

    def load() -> int | None:
        nonlocal calls
        calls += 1
        return None

    def ttl(value: int | None) -> float:
        return 300 if value is not None else 10

    cache.get_or_load("t", load, ttl)
    cache.get_or_load("t", load, ttl)
    assert calls == 1
    clock.now += 11
    cache.get_or_load("t", load, ttl)
    assert calls == 2


def test_concurrent_misses_load_once() -> None:
    cache: TtlCache[str, str] = TtlCache()
    started, release = threading.Event(), threading.Event()
    loads = 0

    def load() -> str:
        nonlocal loads
        loads += 1
        started.set()
        release.wait(5)
        return "value"

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.get_or_load, "k", load, 60) for _ in range(8)]
        assert started.wait(5)
        time.sleep(0.05)  # the other seven are waiting on the flight by now
        release.set()
        assert [f.result(5) for f in futures] == ["value"] * 8
    assert loads == 1


def test_a_failed_load_is_not_cached_and_reaches_every_waiter() -> None:
    cache: TtlCache[str, str] = TtlCache()

    def boom() -> str:
        raise RuntimeError("store down")

    with pytest.raises(RuntimeError, match="store down"):
        cache.get_or_load("k", boom, 60)
    assert cache.get_or_load("k", lambda: "ok", 60) == "ok"


@given(st.lists(st.integers(0, 50), max_size=200), st.integers(1, 10))
def test_never_more_entries_than_the_bound(keys: list[int], bound: int) -> None:
    cache: TtlCache[int, int] = TtlCache(max_entries=bound)
    for key in keys:
        cache.put(key, key, 60)
        assert len(cache._entries) <= bound
    if keys:
        assert cache.get(keys[-1]) == keys[-1]  # the newest entry is always kept
