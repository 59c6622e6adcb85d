"""SigV4 of the light AWS client: identical to botocore's ``SigV4Auth`` for any request we send."""

from __future__ import annotations

import datetime as dt
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.aws.sigv4 import Credentials, canonical_uri, sign

TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=40)
HEADER_VALUE = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30).map(
    lambda s: s.strip() or "x"
)
NOW = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda d: d.replace(tzinfo=dt.UTC, microsecond=0)
)


def botocore_authorization(
    *,
    host: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    creds: Credentials,
    region: str,
    service: str,
    now: dt.datetime,
) -> dict[str, str]:
    request = AWSRequest(method="POST", url=f"https://{host}{path}", data=body, headers=dict(headers))
    auth = SigV4Auth(BotoCredentials(creds.access_key, creds.secret_key, creds.token), service, region)
    naive = now.replace(tzinfo=None)
    with mock.patch("botocore.auth.datetime.datetime") as clock:
        clock.now.return_value = now
        clock.utcnow.return_value = naive
        clock.strptime = dt.datetime.strptime
        auth.add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=300) | TEXT.map(str.encode),
    target=st.sampled_from(
        ["DynamoDB_20120810.PutItem", "AmazonSQS.SendMessage", "secretsmanager.GetSecretValue"]
    ),
    region=st.sampled_from(["us-east-1", "eu-west-3", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]),
    service=st.sampled_from(["dynamodb", "sqs", "secretsmanager", "bedrock"]),
    token=st.none() | HEADER_VALUE,
    secret=HEADER_VALUE,
    now=NOW,
    model=TEXT.filter(lambda m: m not in ("", ".", "..")),  # a model id is never empty or a dot segment
)
def test_signature_matches_botocore(  # noqa: PLR0917 (hypothesis passes each strategy by name)
    body: bytes,
    target: str,
    region: str,
    service: str,
    token: str | None,
    secret: str,
    now: dt.datetime,
    model: str,
) -> None:
    from urllib.parse import quote

    creds = Credentials("AKIDEXAMPLE", secret, token)
    host = f"{service}.{region}.amazonaws.com"
    path = "/" if service != "bedrock" else f"/model/{quote(model, safe='')}/converse"
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target}
    if target.startswith("AmazonSQS."):
        headers["x-amzn-query-mode"] = "true"
    ours = sign(
        method="POST",
        host=host,
        path=path,
        headers=headers,
        body=body,
        credentials=creds,
        region=region,
        service=service,
        now=now,
    )
    theirs = botocore_authorization(
        host=host, path=path, headers=headers, body=body, creds=creds, region=region, service=service, now=now
    )
    assert ours["authorization"] == theirs["authorization"]
    assert ours["x-amz-date"] == theirs["x-amz-date"]
    assert ours.get("x-amz-security-token") == theirs.get("x-amz-security-token")


def test_aws_published_example_key_derivation() -> None:
    """The signing-key example of the SigV4 documentation (wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY)."""
    from ticket_enhancer.aws.sigv4 import signing_key

    key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_path_is_encoded_twice_for_non_s3_services() -> None:
    assert canonical_uri("/model/a%3Ab/converse") == "/model/a%253Ab/converse"
    assert canonical_uri("") == "/"


def test_credentials_never_print_their_secret() -> None:
    creds = Credentials("AKID", "very-secret-key", "session-token-value")
    assert "very-secret-key" not in repr(creds)
    assert "session-token-value" not in repr(creds)
