"""Where a service's JSON API lives, and whether our own client can call it.

The light client covers the standard case: credentials in the environment (as Lambda provides
them), a region of the ``aws``, ``aws-cn`` or ``aws-us-gov`` partitions, and no FIPS or dual-stack
endpoints. Anything else is left to botocore, which knows every partition and credential source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ticket_enhancer.aws.sigv4 import Credentials


@dataclass(frozen=True, slots=True)
class Service:
    name: str  # botocore's service name, e.g. "secretsmanager"
    endpoint_prefix: str  # host prefix, e.g. "secretsmanager"
    signing_name: str  # SigV4 service name (bedrock-runtime signs as "bedrock")
    env_name: str  # suffix of AWS_ENDPOINT_URL_<...>, e.g. "SECRETS_MANAGER"
    content_type: str  # "application/x-amz-json-1.0" or "-1.1"; rest-json APIs use application/json
    target_prefix: str | None  # X-Amz-Target prefix; None for rest-json
    query_compatible: bool = False  # an old query-protocol API (SQS): sends x-amzn-query-mode


DYNAMODB = Service(
    "dynamodb", "dynamodb", "dynamodb", "DYNAMODB", "application/x-amz-json-1.0", "DynamoDB_20120810"
)
SQS = Service("sqs", "sqs", "sqs", "SQS", "application/x-amz-json-1.0", "AmazonSQS", query_compatible=True)
SECRETS_MANAGER = Service(
    "secretsmanager",
    "secretsmanager",
    "secretsmanager",
    "SECRETS_MANAGER",
    "application/x-amz-json-1.1",
    "secretsmanager",
)
BEDROCK_RUNTIME = Service(
    "bedrock-runtime", "bedrock-runtime", "bedrock", "BEDROCK_RUNTIME", "application/json", None
)

_TRUE = {"true", "1", "yes"}


@dataclass(frozen=True, slots=True)
class Target:
    url: str  # scheme://host[:port], no path
    region: str
    credentials: Credentials


def _dns_suffix(region: str) -> str | None:
    if region.startswith("cn-"):
        return "amazonaws.com.cn"
    if region.startswith(("us-iso", "eu-iso")) or not region:
        return None  # isolated partitions: botocore knows their endpoints
    return "amazonaws.com"


def _botocore_only(env: Mapping[str, str]) -> bool:
    """Settings only botocore honours: forced, FIPS or dual-stack endpoints, no env credentials."""
    return (
        env.get("TICKET_ENHANCER_AWS_CLIENT", "").lower() == "botocore"
        or env.get("AWS_USE_FIPS_ENDPOINT", "").lower() in _TRUE
        or env.get("AWS_USE_DUALSTACK_ENDPOINT", "").lower() in _TRUE
        # profiles, SSO, container or instance credentials: botocore's provider chain
        or not env.get("AWS_ACCESS_KEY_ID")
        or not env.get("AWS_SECRET_ACCESS_KEY")
    )


def resolve(service: Service, env: Mapping[str, str]) -> Target | None:
    """The endpoint and credentials to call ``service`` with, or None when botocore must do it."""
    if _botocore_only(env):
        return None
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""
    credentials = Credentials(
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN") or None
    )
    if env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() not in _TRUE:
        custom = env.get(f"AWS_ENDPOINT_URL_{service.env_name}") or env.get("AWS_ENDPOINT_URL")
        if custom:
            return Target(custom.rstrip("/"), region or "us-east-1", credentials)
    suffix = _dns_suffix(region)
    if suffix is None:
        return None
    return Target(f"https://{service.endpoint_prefix}.{region}.{suffix}", region, credentials)
