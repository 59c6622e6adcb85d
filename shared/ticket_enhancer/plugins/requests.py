"""What a plugin asks the HTTP layer to do: plain data, no httpx (the webhook path imports it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class VendorRequest:
    """One REST call, relative to the tenant's base URL."""

    method: str
    path: str
    params: Mapping[str, str] | None = None
    json: Any = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Repeating it has no further effect. Adding a note is never idempotent.
    idempotent: bool = False


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A longer Retry-After ends the call with VendorRateLimitedError: the worker reschedules.
    max_retry_after: float = 30.0
    # The whole call (connect, send, every byte of the answer), further bounded by the record's
    # deadline (``ticket_enhancer.deadline``): a vendor trickling bytes is cut off here.
    timeout: float = 10.0
    connect_timeout: float = 3.0
    # An answer's body, counted after decompression (a compression bomb is cut off at this size).
    max_body_bytes: int = 4 * 1024 * 1024
