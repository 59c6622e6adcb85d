"""Verify a delivery's authenticity over the raw body bytes, and sign one (tests, `events/`, CLI).

Every scheme: headers looked up case-insensitively, constant-time comparison, any of the
tenant's current secrets accepted (rotation), secrets under ``MIN_SECRET_BYTES`` never
authenticating, and a 300 s replay window where a timestamp is signed. A scheme answers only
"genuine or not": it never says why, so callers cannot leak it.

A ``WebhookScheme`` bundles what the system knows of one mode: its verifier and signer, the line
the CLI's setup guide prints, its delivery-id header and its secret rules. Standard Webhooks and
the shared token are available to every tool (``COMMON_SCHEMES``); a tool's own scheme is declared
on its plugin (``TicketingToolPlugin.webhook_schemes``), most simply with ``hmac_hex_scheme``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
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
# (raw body, secret, now, delivery id or None) -> the headers the sender adds (canonical case)
Signer: TypeAlias = "Callable[[bytes, str, float, str | None], dict[str, str]]"
SignedAt: TypeAlias = "Callable[[WebhookRequest], float | None]"


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


def _random_token() -> str:
    import secrets  # new secrets are made by the CLI only: not on the webhook path

    return secrets.token_urlsafe(32)


def _any_secret(secret: str) -> str | None:
    return None


def _new_delivery_id() -> str:
    import uuid  # signing only (tests, events, CLI): not on the webhook path

    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class WebhookScheme:
    """One webhook authentication mode: how a delivery is verified and signed, and its rules."""

    name: str
    verify: Verifier
    sign: Signer
    # What the CLI's setup guide prints for this mode (after `tenants add` / `rotate-secret`).
    setup_line: str
    # The header carrying the sender's id of a delivery (retries repeat it), if there is one;
    # ``delivery_id_signed``: the signature covers it, so it identifies the delivery for
    # de-duplication. An unsigned one is only a fallback (see ``dedupe_on_body`` on the plugin).
    delivery_id_header: str | None = None
    delivery_id_signed: bool = False
    # The signed timestamp of a delivery, for schemes that sign one (None: no timestamp).
    signed_at: SignedAt | None = None
    # The tool generates the secret itself (the admin copies it into `--webhook-secret`).
    tool_makes_secret: bool = False
    # What is wrong with a secret's format beyond its length (None: nothing), and a new secret.
    secret_problem: Callable[[str], str | None] = _any_secret
    new_secret: Callable[[], str] = _random_token


def hmac_hex_scheme(
    name: str,
    *,
    header: str,
    prefix: str,
    algorithm: str,
    setup_line: str,
    delivery_id_header: str | None = None,
) -> WebhookScheme:
    """A scheme whose sender puts ``<prefix><hex HMAC-<algorithm>(secret, raw body)>`` in ``header``
    (GitHub-style ``X-Hub-Signature: sha1=...``). No timestamp is signed, so replays are caught by
    de-duplication only; ``delivery_id_header`` names the sender's (unsigned) delivery id."""
    hmac.new(b"check", b"", algorithm)  # an unknown algorithm fails here, at import, not per request
    lowered = prefix.lower()

    def verify(request: WebhookRequest, secrets: Sequence[str], now: float) -> bool:
        value = _header(request, header)
        if value is None or not value.lower().startswith(lowered):
            return False
        presented = value[len(prefix) :].strip().lower().encode("ascii", "replace")
        expected = [
            hmac.new(s.encode(), request.body, algorithm).hexdigest().encode() for s in _strong(secrets)
        ]
        return _any_equal(expected, [presented])

    def sign(body: bytes, secret: str, now: float, delivery_id: str | None) -> dict[str, str]:
        signed = {header: prefix + hmac.new(secret.encode(), body, algorithm).hexdigest()}
        if delivery_id_header:
            signed[delivery_id_header] = delivery_id or _new_delivery_id()
        return signed

    verify.__doc__ = f"``{header}: {prefix}<hex HMAC-{algorithm.upper()}(secret, body)>`` (no timestamp)."
    return WebhookScheme(name, verify, sign, setup_line, delivery_id_header=delivery_id_header)


# -- Jira: X-Hub-Signature, SHA-256 ------------------------------------------------------------

JIRA = hmac_hex_scheme(
    JIRA_HMAC,
    header="X-Hub-Signature",
    prefix="sha256=",
    algorithm="sha256",
    delivery_id_header="X-Atlassian-Webhook-Identifier",
    setup_line="Secret:  paste the secret above into the webhook's Secret field (Jira signs X-Hub-Signature)",
)


# -- Zendesk: base64 HMAC-SHA256 over timestamp + body --------------------------------------------


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


def _sign_zendesk(body: bytes, secret: str, now: float, delivery_id: str | None) -> dict[str, str]:
    stamp = datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    mac = _hmac(secret.encode(), stamp.encode() + body)
    return {
        "X-Zendesk-Webhook-Signature": base64.b64encode(mac).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }


def _zendesk_signed_at(request: WebhookRequest) -> float | None:
    return parse_iso_timestamp(request.headers.get("x-zendesk-webhook-signature-timestamp", ""))


ZENDESK = WebhookScheme(
    ZENDESK_HMAC,
    verify_zendesk_hmac,
    _sign_zendesk,
    "Secret:  Zendesk signs with its own secret (X-Zendesk-Webhook-Signature); it is stored",
    signed_at=_zendesk_signed_at,
    tool_makes_secret=True,
)


# -- Standard Webhooks ----------------------------------------------------------------------------


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


def _sign_standard_webhooks(body: bytes, secret: str, now: float, delivery_id: str | None) -> dict[str, str]:
    key = standard_webhooks_key(secret)
    if key is None:
        raise ValueError("standard-webhooks secret must be whsec_<base64>")
    msg_id = delivery_id or f"msg_{_new_delivery_id().replace('-', '')}"
    stamp = str(int(now))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": f"v1,{base64.b64encode(mac).decode()}",
    }


def _standard_webhooks_signed_at(request: WebhookRequest) -> float | None:
    stamp = request.headers.get("webhook-timestamp", "")
    return float(stamp) if stamp.isascii() and stamp.isdigit() and len(stamp) <= 16 else None


def _standard_webhooks_secret_problem(secret: str) -> str | None:
    if standard_webhooks_key(secret) is None:
        return f"standard-webhooks secrets look like whsec_<base64 of at least {MIN_SECRET_BYTES} bytes>"
    return None


def _new_standard_webhooks_secret() -> str:
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


STANDARD = WebhookScheme(
    STANDARD_WEBHOOKS,
    verify_standard_webhooks,
    _sign_standard_webhooks,
    "Headers: webhook-id, webhook-timestamp (unix seconds), webhook-signature: "
    "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>, key = base64-decoded secret after 'whsec_'",
    delivery_id_header="webhook-id",
    delivery_id_signed=True,
    signed_at=_standard_webhooks_signed_at,
    secret_problem=_standard_webhooks_secret_problem,
    new_secret=_new_standard_webhooks_secret,
)


# -- shared token ---------------------------------------------------------------------------------


def verify_shared_token(request: WebhookRequest, secrets: Sequence[str], now: float) -> bool:
    """``X-Webhook-Token: <secret>`` compared in constant time."""
    token = _header(request, "x-webhook-token")
    if token is None:
        return False
    return _any_equal([s.encode() for s in _strong(secrets)], [token.encode("utf-8", "replace")])


def _sign_shared_token(body: bytes, secret: str, now: float, delivery_id: str | None) -> dict[str, str]:
    return {"X-Webhook-Token": secret}


SHARED = WebhookScheme(
    SHARED_TOKEN,
    verify_shared_token,
    _sign_shared_token,
    "Header:  X-Webhook-Token: <the secret above>",
)


# Available to every tool; a tool adds its own (``TicketingToolPlugin.webhook_schemes``).
COMMON_SCHEMES: tuple[WebhookScheme, ...] = (STANDARD, SHARED)
# The schemes defined here (the built-in tools declare Jira's and Zendesk's). Every scheme of every
# registered tool, plugins' own included: ``ticket_enhancer.plugins.registry.webhook_schemes()``.
BUILTIN_SCHEMES: dict[str, WebhookScheme] = {s.name: s for s in (JIRA, ZENDESK, STANDARD, SHARED)}
VERIFIERS: dict[str, Verifier] = {name: scheme.verify for name, scheme in BUILTIN_SCHEMES.items()}
