"""How long a deferred record waits (issue 14): the vendor's Retry-After or a growing backoff.

Plain Python: the worker's handler uses it, and so does anything that has to predict a deferral.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

# SQS's maximum visibility timeout: a deferral never asks for more.
MAX_VISIBILITY_SECONDS = 43_200
# The first deferral waits at least this long (a 429 that named no Retry-After too); each later one of
# the same job doubles it (60 s x 2^deferrals so far), so a vendor that keeps answering a short
# Retry-After uses ~12 receives a day, not one per Retry-After (maxReceiveCount is 50).
DEFAULT_DEFERRAL_SECONDS = 60.0


def deferral_seconds(retry_after: float | None, deferrals: int = 0) -> int:
    """The visibility timeout of a job's deferral number ``deferrals + 1``: the vendor's Retry-After or
    60 s x 2^deferrals, whichever is longer, plus up to 10 % jitter (at most 60 s), capped at 12 h."""
    backoff = DEFAULT_DEFERRAL_SECONDS * (1 << min(max(0, deferrals), 16))
    wait = max(backoff, 0.0 if retry_after is None else retry_after)
    jitter = random.uniform(0, min(60.0, wait * 0.1))  # noqa: S311 # nosec B311 # jitter
    return max(1, min(MAX_VISIBILITY_SECONDS, math.ceil(wait + jitter)))


def scaled_wait(seconds: int, time_scale: float) -> int:
    """A deferral's visibility on a stack whose timings run ``time_scale`` times faster (1: as is)."""
    if time_scale <= 1:
        return seconds
    return max(1, math.ceil(seconds / time_scale))


def time_scale_from(settings: Mapping[str, str]) -> float:
    """The local stack's factor (``TICKET_ENHANCER_TIME_SCALE``, set by ``local up`` only); 1 else."""
    if settings.get("TICKET_ENHANCER_LOCAL") != "1":
        return 1.0
    try:
        factor = float(settings.get("TICKET_ENHANCER_TIME_SCALE", "1"))
    except ValueError:
        return 1.0
    return factor if math.isfinite(factor) and factor >= 1 else 1.0
