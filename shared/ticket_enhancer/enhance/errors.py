"""The enhancement package's errors."""

from __future__ import annotations

__all__ = ["ContextStoreError", "SynthesisError"]


class ContextStoreError(ValueError):
    """A write the context store refuses (bad tenant id, a ticket of another tenant, an empty key)."""


class SynthesisError(Exception):
    """A provider could not produce a note (misconfigured, HTTP error, empty or malformed output)."""
