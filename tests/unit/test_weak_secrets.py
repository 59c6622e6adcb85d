"""Empty or short webhook secrets never authenticate (an HMAC with an empty key is forgeable).

Every verifier refuses them whatever the secret store holds (the built-in schemes and every scheme
a registered plugin declares), the secret model refuses to load them, and the CLI refuses to store
them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from ticket_enhancer.models import TenantSecret
from ticket_enhancer.plugins.context import Headers, WebhookRequest
from ticket_enhancer.plugins.registry import webhook_schemes
from ticket_enhancer.webhooks import schemes

NOW = 1_735_689_600.0
BODY = b'{"webhookEvent": "jira:issue_created", "issue": {"id": "10001"}}'
WEAK = ["", " ", "tiny!", " " * 40, "\t\n" * 10, "whsec_", "fifteen-bytes!!"]
SCHEMES = webhook_schemes()  # built-in and plugin-declared
MODES = sorted(SCHEMES)


def _mac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def forged_headers(mode: str, secret: str) -> dict[str, str]:
    """What an attacker sends when the tenant's secret is ``secret``: the scheme's own signer, which
    checks nothing (Standard Webhooks' refuses a short key, so that one is signed by hand)."""
    if mode == schemes.STANDARD_WEBHOOKS:
        key = base64.b64decode(secret.strip().removeprefix("whsec_") or "")
        stamp = str(int(NOW))
        mac = base64.b64encode(_mac(key, f"msg_1.{stamp}.".encode() + BODY)).decode()
        return {"webhook-id": "msg_1", "webhook-timestamp": stamp, "webhook-signature": f"v1,{mac}"}
    return {
        name.lower(): value for name, value in SCHEMES[mode].sign(BODY, secret, NOW, "delivery-1").items()
    }


def verify(mode: str, headers: dict[str, str], secrets: list[str]) -> bool:
    request = WebhookRequest(body=BODY, headers=Headers(headers))
    return SCHEMES[mode].verify(request, secrets, NOW)


def test_the_forgeries_are_what_the_tools_send() -> None:
    """The forger above signs as the tools do (so a refusal below is the secret's length, not a
    malformed forgery): Jira's by hand, and a strong secret verifies in every scheme."""
    secret = "s" * 32
    assert forged_headers(schemes.JIRA_HMAC, secret)["x-hub-signature"] == (
        "sha256=" + _mac(secret.encode(), BODY).hex()
    )
    for mode in MODES:
        strong = (
            "whsec_" + base64.b64encode(b"k" * 32).decode() if mode == schemes.STANDARD_WEBHOOKS else secret
        )
        assert verify(mode, forged_headers(mode, strong), [strong]), mode


def test_plugin_schemes_are_covered() -> None:
    assert set(schemes.BUILTIN_SCHEMES) <= set(MODES)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("secret", WEAK)
def test_no_verifier_accepts_a_weak_secret(mode: str, secret: str) -> None:
    if mode == schemes.STANDARD_WEBHOOKS and secret not in ("", "whsec_"):
        secret = "whsec_" + base64.b64encode(secret.strip().encode()).decode()
    assert not verify(mode, forged_headers(mode, secret), [secret])


@pytest.mark.parametrize("mode", MODES)
def test_a_weak_secret_beside_a_strong_one_is_ignored(mode: str) -> None:
    strong = (
        "whsec_" + base64.b64encode(b"k" * 32).decode() if mode == schemes.STANDARD_WEBHOOKS else "s" * 32
    )
    weak = "whsec_" if mode == schemes.STANDARD_WEBHOOKS else ""
    assert not verify(mode, forged_headers(mode, weak), [strong, weak])
    assert verify(mode, forged_headers(mode, strong), [strong, weak])


def test_a_standard_webhooks_key_under_16_bytes_is_refused() -> None:
    assert schemes.standard_webhooks_key("whsec_" + base64.b64encode(b"k" * 15).decode()) is None
    assert schemes.standard_webhooks_key("whsec_" + base64.b64encode(b"k" * 16).decode()) == b"k" * 16


@given(st.text(max_size=15) | st.text(alphabet=" \t\r\n", max_size=64))
def test_strong_secret_property(secret: str) -> None:
    """Fewer than 16 bytes once blanks are stripped is never strong; 16 or more always is."""
    expected = len(secret.strip().encode("utf-8", "replace")) >= schemes.MIN_SECRET_BYTES
    assert schemes.strong_secret(secret) is expected
    if not expected:
        for mode in MODES:
            if mode != schemes.STANDARD_WEBHOOKS:
                assert not verify(mode, forged_headers(mode, secret), [secret])


@pytest.mark.parametrize("secret", WEAK)
def test_the_secret_model_refuses_weak_webhook_secrets(secret: str) -> None:
    with pytest.raises(ValidationError, match="shorter than 16 bytes") as caught:
        TenantSecret.model_validate({"webhook_secrets": ["a-strong-secret-of-32-characters", secret]})
    assert secret not in str(caught.value) or not secret.strip()  # the value is never echoed
