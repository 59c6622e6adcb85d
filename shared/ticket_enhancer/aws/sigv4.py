"""AWS Signature Version 4 for the JSON APIs our functions call (no S3 rules, no query signing).

Checked against botocore's ``SigV4Auth`` by a property test (``tests/unit/test_aws_sigv4.py``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key: str
    secret_key: str = ""
    token: str | None = None

    def __repr__(self) -> str:  # never print the secret or the session token
        return f"Credentials(access_key={self.access_key!r}, secret_key='**********')"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    key = _hmac(("AWS4" + secret_key).encode("utf-8"), day)
    return _hmac(_hmac(_hmac(key, region), service), "aws4_request")


def canonical_uri(path: str) -> str:
    """Non-S3 services sign the path URI-encoded once more (``%3A`` becomes ``%253A``)."""
    return quote(path or "/", safe="/~")


def sign(
    *,
    method: str,
    host: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    credentials: Credentials,
    region: str,
    service: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers to send: ``headers`` (names lowercased) plus host, date, token and Authorization.

    Every header passed in is signed, so pass only those the request needs (not user-agent).
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    signed = {name.lower(): value for name, value in headers.items()}
    signed["host"] = host
    signed["x-amz-date"] = stamp
    if credentials.token:
        signed["x-amz-security-token"] = credentials.token
    names = sorted(signed)
    canonical_headers = "".join(f"{name}:{' '.join(signed[name].split())}\n" for name in names)
    signed_names = ";".join(names)
    canonical_request = "\n".join(
        (method, canonical_uri(path), "", canonical_headers, signed_names, hashlib.sha256(body).hexdigest())
    )
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        (ALGORITHM, stamp, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest())
    )
    signature = hmac.new(
        signing_key(credentials.secret_key, stamp[:8], region, service),
        to_sign.encode("utf-8"),
        hashlib.sha256,
    ).hexdigest()
    signed["authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={signed_names}, Signature={signature}"
    )
    return signed
