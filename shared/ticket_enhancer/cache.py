"""``TtlCache``: the one per-container cache (tenants, context items, access tokens).

Thread-safe, bounded, each entry with its own time to live, and single-flight: when many
threads ask for the same missing key at once, one loads it and the others wait for that result
instead of calling AWS or the vendor once each. A load that raises caches nothing; the error
reaches every caller that waited for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class _Flight(Generic[V]):
    done: threading.Event = field(default_factory=threading.Event)
    value: V | None = None
    error: BaseException | None = None


class TtlCache(Generic[K, V]):
    def __init__(self, *, max_entries: int = 2048, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[K, tuple[float, V]] = {}
        self._flights: dict[K, _Flight[V]] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries
        self._clock = clock

    def get(self, key: K) -> V | None:
        """The fresh value for ``key``, or ``None``."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] > self._clock():
                return found[1]
            return None

    def put(self, key: K, value: V, ttl: float) -> None:
        with self._lock:
            self._store(key, value, ttl)

    def drop(self, key: K) -> None:
        """Forget ``key`` (a token the vendor refused)."""
        with self._lock:
            self._entries.pop(key, None)

    def get_or_load(self, key: K, load: Callable[[], V], ttl: Callable[[V], float] | float) -> V:
        """The fresh value, else ``load()`` (one caller loads, concurrent ones wait for it)."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] > self._clock():
                return found[1]
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value  # type: ignore[return-value]  # set by the leader before done
        try:
            value = load()
        except BaseException as exc:
            flight.error = exc
            raise
        else:
            flight.value = value
            with self._lock:
                self._store(key, value, ttl(value) if callable(ttl) else ttl)
            return value
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def _store(self, key: K, value: V, ttl: float) -> None:
        if ttl <= 0:
            return
        self._entries.pop(key, None)
        while len(self._entries) >= self._max_entries:  # the oldest entry makes room
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (self._clock() + ttl, value)
