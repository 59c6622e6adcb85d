"""Verify a delivery's authenticity over the raw body bytes.

Every scheme: headers looked up case-insensitively, constant-time comparison, any of the
tenant's current secrets accepted (rotation), and a 300 s replay window where a timestamp is
signed. A scheme answers only "genuine or not": it never says why, so callers cannot leak it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:  # a type only: importing the plugins package here would be circular
    from ticket_enhancer.plugins.context import WebhookRequest

TOLERANCE_SECONDS = 300
MAX_HEADER_LENGTH = 4096
# An HMAC with an empty or short key is forgeable, a short token guessable: such secrets never
# authenticate anything, whatever the secret store holds.
MIN_SECRET_BYTES = 16

JIRA_HMAC = "jira-hmac"
ZENDESK_HMAC = "zendesk-hmac"
STANDARD_WEBHOOKS = "standard-webhooks"
SHARED_TOKEN = "shared-token"  # noqa: S105 # nosec B105 # a mode name, not a secret

Verifier: TypeAlias = "Callable[[WebhookRequest, Sequence[str], float], bool]"


def strong_secret(secret: str) -> bool:
    """Whether ``secret`` may authenticate: at least 16 bytes once surrounding blanks are removed."""
    return len(secret.strip().encode("utf-8", "replace")) >= MIN_SECRET_BYTES


def _strong(secrets: Sequence[str]) -> list[str]:
    return [s for s in secrets if strong_secret(s)]


def _header(request: WebhookRequest, name: str) -> str | None:
    value = request.headers.get(name)
    if value is None or not value or len(value) > MAX_HEADER_LENGTH:
        return None
    return value.strip()


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _any_equal(expected: Sequence[bytes], presented: Sequence[bytes]) -> bool:
    # Compare every pair so timing does not depend on which secret or signature matched. No usable
    # secret (none, or all too short) means nothing is genuine.
    if not expected:
        return False
    results = [hmac.compare_digest(e, p) for e in expected for p in presented]
    return any(results)


def _fresh(timestamp: float, now: float) -> bool:
    return abs(now - timestamp) <= TOLERANCE_SECONDS


def verify_jira_hmac(request: WebhookRequest, secrets: Sequence[str], now: float) -> bool:
    """``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>`` (no timestamp is signed)."""
    header = _header(request, "x-hub-signature")
    if header is None or not header.lower().startswith("sha256="):
        return False
    presented = header[len("sha256=") :].strip().lower().encode("ascii", "replace")
    expected = [_hmac(s.encode(), request.body).hex().encode() for s in _strong(secrets)]
    return _any_equal(expected, [presented])


def parse_iso_timestamp(value: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def verify_zendesk_hmac(request: WebhookRequest, secrets: Sequence[str], now: float) -> bool:
    """``X-Zendesk-Webhook-Signature: base64(HMAC-SHA256(secret, timestamp + body))``."""
    signature = _header(request, "x-zendesk-webhook-signature")
    timestamp = _header(request, "x-zendesk-webhook-signature-timestamp")
    if signature is None or timestamp is None:
        return False
    when = parse_iso_timestamp(timestamp)
    if when is None or not _fresh(when, now):
        return False
    message = timestamp.encode() + request.body
    expected = [base64.b64encode(_hmac(s.encode(), message)) for s in _strong(secrets)]
    return _any_equal(expected, [signature.encode("ascii", "replace")])


def standard_webhooks_key(secret: str) -> bytes | None:
    """The HMAC key of a ``whsec_<base64>`` secret (None when it is not valid base64 or the key
    is shorter than ``MIN_SECRET_BYTES``)."""
    raw = secret.strip().removeprefix("whsec_")
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) >= MIN_SECRET_BYTES else None


def verify_standard_webhooks(request: WebhookRequest, secrets: Sequence[str], now: float) -> bool:
    """Standard Webhooks: ``v1,<base64 HMAC(key, "{id}.{timestamp}.{body}")>``, several allowed."""
    msg_id = _header(request, "webhook-id")
    timestamp = _header(request, "webhook-timestamp")
    signatures = _header(request, "webhook-signature")
    if msg_id is None or timestamp is None or signatures is None:
        return False
    # Bounded length: a huge number would overflow the float comparison (OverflowError, HTTP 500).
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 16:
        return False
    if not _fresh(int(timestamp), now):
        return False
    presented = [part[3:].encode("ascii", "replace") for part in signatures.split() if part.startswith("v1,")]
    if not presented:
        return False
    message = f"{msg_id}.{timestamp}.".encode() + request.body
    keys = [k for k in (standard_webhooks_key(s) for s in secrets) if k is not None]
    expected = [base64.b64encode(_hmac(key, message)) for key in keys]
    return _any_equal(expected, presented)


def verify_shared_token(request: WebhookRequest, secrets: Sequence[str], now: float) -> bool:
    """``X-Webhook-Token: <secret>`` compared in constant time."""
    token = _header(request, "x-webhook-token")
    if token is None:
        return False
    return _any_equal([s.encode() for s in _strong(secrets)], [token.encode("utf-8", "replace")])


VERIFIERS: dict[str, Verifier] = {
    JIRA_HMAC: verify_jira_hmac,
    ZENDESK_HMAC: verify_zendesk_hmac,
    STANDARD_WEBHOOKS: verify_standard_webhooks,
    SHARED_TOKEN: verify_shared_token,
}
