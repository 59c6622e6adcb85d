"""The time a record may still use: every wait and call of its job is bounded by it (issue 14).

The worker makes one ``Deadline`` per invocation from the Lambda context's remaining time minus a
safety margin (the bookkeeping after a cut-off: releasing the lease, deferring the message) and sets
it in ``CURRENT`` for each record's task. The vendor HTTP layer (``plugins.http.send``) and the
pipeline read it from there, so no plugin signature carries it. Plain Python: no httpx here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar

# Lambda's timeout for the worker is 60 s (scripts/template/constants.py WORKER_TIMEOUT); without a context
# (tests, scripts) a record gets what an invocation would.
DEFAULT_SECONDS = 60.0
# Kept back from the invocation's remaining time: after a cut-off the record still releases its
# lease, records the deferral or error (DynamoDB) and may change its visibility (SQS).
SAFETY_MARGIN_SECONDS = 5.0

Clock = Callable[[], float]


class DeadlineExceededError(TimeoutError):
    """The record's time is up: it goes back to the queue (a real attempt, not a deferral)."""


class Deadline:
    """An end time on a monotonic clock (``clock`` injectable for tests)."""

    __slots__ = ("_clock", "_end")

    def __init__(self, seconds: float, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + max(0.0, seconds)

    @classmethod
    def from_context(
        cls,
        context: object,
        *,
        default: float = DEFAULT_SECONDS,
        margin: float = SAFETY_MARGIN_SECONDS,
        clock: Clock = time.monotonic,
    ) -> Deadline:
        """From ``context.get_remaining_time_in_millis()`` less ``margin``; ``default`` without one."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        seconds = remaining() / 1000 if callable(remaining) else default
        return cls(float(seconds) - margin, clock)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self._end - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0


# The deadline of the record whose task is running; None outside the worker (no bound).
CURRENT: ContextVar[Deadline | None] = ContextVar("ticket_enhancer_deadline", default=None)


def remaining(cap: float) -> float:
    """``cap``, or less when the current record has less time left."""
    deadline = CURRENT.get()
    return cap if deadline is None else min(cap, deadline.remaining())
