"""The enhancement package's errors."""

from __future__ import annotations

__all__ = ["ContextStoreError", "ModelThrottledError", "SynthesisError"]


class ContextStoreError(ValueError):
    """A write the context store refuses (bad tenant id, a ticket of another tenant, an empty key)."""


class SynthesisError(Exception):
    """A provider could not produce a note (misconfigured, HTTP error, empty or malformed output)."""


class ModelThrottledError(SynthesisError):
    """The model provider refused the call for its quota or rate (Bedrock ``ThrottlingException``,
    HTTP 429): the account's quota is shared by every tenant, so the note goes out without the model."""
