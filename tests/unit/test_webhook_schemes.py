"""The four webhook authentication schemes: published vectors, round trips and properties."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.plugins.context import Headers, WebhookRequest
from ticket_enhancer.webhooks import schemes
from ticket_enhancer.webhooks.signing import sign

# Published by the Standard Webhooks project (docs/vendor-facts.md).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

NOW = 1_735_689_600.0
MODES = sorted(schemes.VERIFIERS)
SECRETS = {
    schemes.JIRA_HMAC: "jira-secret-7c1d",
    schemes.ZENDESK_HMAC: "dGhpcyBpcyBhIHplbmRlc2sgc2VjcmV0",
    schemes.STANDARD_WEBHOOKS: "whsec_" + base64.b64encode(b"standard-webhooks-key-0042").decode(),
    schemes.SHARED_TOKEN: "shared-token-3f9a1b2c",
}
HEADER_NAMES = [
    "x-hub-signature",
    "X-Hub-Signature",
    "x-zendesk-webhook-signature",
    "x-zendesk-webhook-signature-timestamp",
    "webhook-id",
    "webhook-timestamp",
    "Webhook-Signature",
    "x-webhook-token",
    "x-atlassian-webhook-identifier",
]


def request(body: bytes, headers: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(body=body, headers=Headers(headers))


def verify(mode: str, body: bytes, headers: dict[str, str], secrets: Sequence[str], now: float = NOW) -> bool:
    return schemes.VERIFIERS[mode](request(body, headers), secrets, now)


def vector_headers(signature: str = VECTOR_SIGNATURE) -> dict[str, str]:
    return {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": signature,
    }


# -- Standard Webhooks -----------------------------------------------------------------------


def test_standard_webhooks_published_vector_signs() -> None:
    headers = sign(
        schemes.STANDARD_WEBHOOKS, VECTOR_BODY, VECTOR_SECRET, now=VECTOR_TIMESTAMP, delivery_id=VECTOR_ID
    )
    assert headers == vector_headers()


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_standard_webhooks_published_vector_verifies(offset: int) -> None:
    assert verify(
        schemes.STANDARD_WEBHOOKS, VECTOR_BODY, vector_headers(), [VECTOR_SECRET], VECTOR_TIMESTAMP + offset
    )


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_standard_webhooks_published_vector_outside_the_window(offset: int) -> None:
    assert not verify(
        schemes.STANDARD_WEBHOOKS, VECTOR_BODY, vector_headers(), [VECTOR_SECRET], VECTOR_TIMESTAMP + offset
    )


def test_standard_webhooks_key_is_the_decoded_secret() -> None:
    key = schemes.standard_webhooks_key(VECTOR_SECRET)
    assert key == base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert schemes.standard_webhooks_key("whsec_not base64!") is None


@pytest.mark.parametrize(
    "signatures",
    [
        f"v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= {VECTOR_SIGNATURE}",
        f"{VECTOR_SIGNATURE} v1,bm9wZQ==",
        f"v2,whatever {VECTOR_SIGNATURE} v1a,abc",
        f"  {VECTOR_SIGNATURE}  ",
    ],
)
def test_standard_webhooks_any_of_several_signatures(signatures: str) -> None:
    assert verify(
        schemes.STANDARD_WEBHOOKS, VECTOR_BODY, vector_headers(signatures), [VECTOR_SECRET], VECTOR_TIMESTAMP
    )


@pytest.mark.parametrize(
    "signatures",
    [
        "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        VECTOR_SIGNATURE.replace("v1,", "v2,"),
        VECTOR_SIGNATURE.replace("v1,", "v1a,"),
        VECTOR_SIGNATURE.removeprefix("v1,"),
        VECTOR_SIGNATURE.replace(",", ", "),
        VECTOR_SIGNATURE[:-2] + "=",
        "",
    ],
)
def test_standard_webhooks_wrong_signatures(signatures: str) -> None:
    assert not verify(
        schemes.STANDARD_WEBHOOKS, VECTOR_BODY, vector_headers(signatures), [VECTOR_SECRET], VECTOR_TIMESTAMP
    )


def test_standard_webhooks_signs_id_and_timestamp() -> None:
    for changed in ({"webhook-id": "msg_other"}, {"webhook-timestamp": str(VECTOR_TIMESTAMP + 1)}):
        headers = {**vector_headers(), **changed}
        assert not verify(schemes.STANDARD_WEBHOOKS, VECTOR_BODY, headers, [VECTOR_SECRET], VECTOR_TIMESTAMP)


FULLWIDTH_DIGITS = "".join(chr(0xFF10 + int(d)) for d in "1614265330")


@pytest.mark.parametrize("stamp", ["9" * 400, "9" * 17, "1614265330" + "0" * 100, FULLWIDTH_DIGITS])
def test_standard_webhooks_absurd_timestamps_are_false_not_errors(stamp: str) -> None:
    headers = {**vector_headers(), "webhook-timestamp": stamp}
    # A float "now", as time.time() gives: a huge int would overflow the comparison.
    assert not verify(
        schemes.STANDARD_WEBHOOKS, VECTOR_BODY, headers, [VECTOR_SECRET], float(VECTOR_TIMESTAMP)
    )


# -- the other schemes -----------------------------------------------------------------------


def test_jira_hmac_is_hex_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"webhookEvent":"jira:issue_created"}'
    digest = hmac.new(b"It's a Secret to Everybody", body, hashlib.sha256).hexdigest()
    headers = sign(schemes.JIRA_HMAC, body, "It's a Secret to Everybody", delivery_id="d-1")
    assert headers == {"X-Hub-Signature": f"sha256={digest}", "X-Atlassian-Webhook-Identifier": "d-1"}
    for presented in (f"sha256={digest}", f"SHA256={digest.upper()}", f" sha256={digest} "):
        assert verify(schemes.JIRA_HMAC, body, {"X-Hub-Signature": presented}, ["It's a Secret to Everybody"])
    for presented in (digest, f"sha1={digest}", f"sha256={digest[:-1]}", "sha256="):
        assert not verify(
            schemes.JIRA_HMAC, body, {"X-Hub-Signature": presented}, ["It's a Secret to Everybody"]
        )


def test_zendesk_hmac_signs_timestamp_then_body() -> None:
    body, secret, stamp = (
        b'{"type":"zen:event-type:ticket.created"}',
        "zendesk-signing-secret",
        "2025-01-01T00:00:00Z",
    )
    mac = base64.b64encode(hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()).decode()
    headers = sign(schemes.ZENDESK_HMAC, body, secret, now=NOW)
    assert headers == {"X-Zendesk-Webhook-Signature": mac, "X-Zendesk-Webhook-Signature-Timestamp": stamp}
    assert verify(schemes.ZENDESK_HMAC, body, headers, [secret])
    # The old documentation's order (body + timestamp) is not what Zendesk signs.
    old = base64.b64encode(hmac.new(secret.encode(), body + stamp.encode(), hashlib.sha256).digest()).decode()
    assert not verify(schemes.ZENDESK_HMAC, body, {**headers, "X-Zendesk-Webhook-Signature": old}, [secret])


@pytest.mark.parametrize(
    ("stamp", "ok"),
    [
        ("2025-01-01T00:05:00Z", True),
        ("2025-01-01T00:05:01Z", False),
        ("2024-12-31T23:55:00Z", True),
        ("2024-12-31T23:54:59Z", False),
        ("2025-01-01T01:00:00+01:00", True),
        ("2025-01-01T00:00:00", False),  # no zone: ambiguous
    ],
)
def test_zendesk_replay_window(stamp: str, ok: bool) -> None:
    body, secret = b"{}", "zendesk-signing-secret"
    mac = base64.b64encode(hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()).decode()
    headers = {"x-zendesk-webhook-signature": mac, "x-zendesk-webhook-signature-timestamp": stamp}
    assert verify(schemes.ZENDESK_HMAC, body, headers, [secret]) is ok


def test_shared_token_is_the_secret_itself() -> None:
    tok = "token-of-16-bytes"
    assert sign(schemes.SHARED_TOKEN, b"{}", tok) == {"X-Webhook-Token": tok}
    assert verify(schemes.SHARED_TOKEN, b"{}", {"X-Webhook-Token": tok}, [tok])
    assert verify(schemes.SHARED_TOKEN, b"{}", {"x-webhook-token": f" {tok} "}, [tok])
    for token in (tok[:-1], tok + "k", tok.upper(), ""):
        assert not verify(schemes.SHARED_TOKEN, b"{}", {"X-Webhook-Token": token}, [tok])


def test_unknown_mode_cannot_be_signed() -> None:
    with pytest.raises(ValueError, match="unknown auth mode"):
        sign("none", b"{}", "s")
    with pytest.raises(ValueError, match="whsec_"):
        sign(schemes.STANDARD_WEBHOOKS, b"{}", "whsec_???")


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("header_case", ["canonical", "lower", "upper"])
def test_sign_then_verify_round_trip(mode: str, header_case: str) -> None:
    body = b'{"ticket_id": 123, "note": "Gr\xc3\xbc\xc3\x9fe"}'
    headers = sign(mode, body, SECRETS[mode], now=NOW)
    cased = {
        "canonical": headers,
        "lower": {k.lower(): v for k, v in headers.items()},
        "upper": {k.upper(): v for k, v in headers.items()},
    }[header_case]
    assert verify(mode, body, cased, [SECRETS[mode]])
    assert not verify(mode, body, cased, [])
    assert not verify(mode, body, {}, [SECRETS[mode]])


@pytest.mark.parametrize("mode", MODES)
def test_any_secret_of_the_rotation_list(mode: str) -> None:
    old, new, other = SECRETS[mode], SECRETS[mode][:-4] + "abcd", SECRETS[mode][:-4] + "wxyz"
    if mode == schemes.STANDARD_WEBHOOKS:
        old, new, other = (
            "whsec_" + base64.b64encode(s.encode() * 4).decode() for s in ("old-key", "new-key", "other-key")
        )
    body = b'{"id": "1"}'
    for signer in (old, new):
        assert verify(mode, body, sign(mode, body, signer, now=NOW), [new, old])
    assert not verify(mode, body, sign(mode, body, other, now=NOW), [new, old])


# -- properties ------------------------------------------------------------------------------

header_values = st.text(max_size=120) | st.from_regex(r"(sha256=|v1,)?[0-9a-fA-F+/=]{0,90}", fullmatch=True)
timestamps = (
    st.integers(min_value=-(10**30), max_value=10**30).map(str)
    | st.from_regex(r"[0-9]{1,400}", fullmatch=True)
    | st.datetimes().map(lambda d: d.isoformat() + "Z")
)
header_dicts = st.dictionaries(
    st.sampled_from(HEADER_NAMES) | st.text(min_size=1, max_size=30),
    header_values | timestamps,
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(mode=st.sampled_from(MODES), body=st.binary(max_size=512), headers=header_dicts)
def test_random_headers_never_verify_without_the_secret(
    mode: str, body: bytes, headers: dict[str, str]
) -> None:
    assert verify(mode, body, headers, [SECRETS[mode]]) is False


@settings(max_examples=200, deadline=None)
@given(
    mode=st.sampled_from([schemes.JIRA_HMAC, schemes.ZENDESK_HMAC, schemes.STANDARD_WEBHOOKS]),
    body=st.binary(min_size=1, max_size=512),
    data=st.data(),
)
def test_any_single_byte_change_to_a_signed_body_fails(mode: str, body: bytes, data: st.DataObject) -> None:
    headers = sign(mode, body, SECRETS[mode], now=NOW)
    assert verify(mode, body, headers, [SECRETS[mode]])
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    replacement = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != body[index]))
    changed = body[:index] + bytes([replacement]) + body[index + 1 :]
    assert not verify(mode, changed, headers, [SECRETS[mode]])
    assert not verify(mode, body + b" ", headers, [SECRETS[mode]])


@settings(max_examples=300, deadline=None)
@given(
    mode=st.sampled_from(MODES),
    body=st.binary(max_size=256),
    headers=header_dicts,
    secrets=st.lists(st.text(max_size=40) | st.just(SECRETS[schemes.STANDARD_WEBHOOKS]), max_size=3),
    now=st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
)
def test_verifiers_never_raise_on_arbitrary_input(
    mode: str, body: bytes, headers: dict[str, str], secrets: list[str], now: float
) -> None:
    result = verify(mode, body, headers, secrets, now)
    assert isinstance(result, bool)
