"""Which client a function gets, and where the light client sends its calls."""

from __future__ import annotations

import pytest
from ticket_enhancer.aws import endpoints

LAMBDA_ENV = {
    "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_SESSION_TOKEN": "token",
    "AWS_REGION": "eu-central-1",
}


def test_lambdas_environment_gets_the_regional_endpoint_and_its_credentials() -> None:
    target = endpoints.resolve(endpoints.DYNAMODB, LAMBDA_ENV)
    assert target is not None
    assert target.url == "https://dynamodb.eu-central-1.amazonaws.com"
    assert target.region == "eu-central-1"
    assert target.credentials.token == "token"


@pytest.mark.parametrize(
    ("service", "region", "url"),
    [
        (endpoints.SQS, "us-east-1", "https://sqs.us-east-1.amazonaws.com"),
        (endpoints.SECRETS_MANAGER, "ap-south-1", "https://secretsmanager.ap-south-1.amazonaws.com"),
        (endpoints.BEDROCK_RUNTIME, "us-west-2", "https://bedrock-runtime.us-west-2.amazonaws.com"),
        (endpoints.DYNAMODB, "cn-north-1", "https://dynamodb.cn-north-1.amazonaws.com.cn"),
        (endpoints.DYNAMODB, "us-gov-west-1", "https://dynamodb.us-gov-west-1.amazonaws.com"),
    ],
)
def test_partitions_we_serve(service: endpoints.Service, region: str, url: str) -> None:
    target = endpoints.resolve(service, {**LAMBDA_ENV, "AWS_REGION": region})
    assert target is not None
    assert target.url == url


@pytest.mark.parametrize(
    "change",
    [
        {"AWS_REGION": "us-iso-east-1"},  # isolated partitions
        {"AWS_REGION": "", "AWS_DEFAULT_REGION": ""},
        {"AWS_USE_FIPS_ENDPOINT": "true"},
        {"AWS_USE_DUALSTACK_ENDPOINT": "true"},
        {"AWS_ACCESS_KEY_ID": ""},  # profile, SSO, container or instance credentials
        {"AWS_SECRET_ACCESS_KEY": ""},
        {"TICKET_ENHANCER_AWS_CLIENT": "botocore"},
    ],
)
def test_everything_else_is_left_to_botocore(change: dict[str, str]) -> None:
    assert endpoints.resolve(endpoints.DYNAMODB, {**LAMBDA_ENV, **change}) is None


def test_endpoint_overrides_follow_botocores_variables() -> None:
    env = {
        **LAMBDA_ENV,
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566/",
        "AWS_ENDPOINT_URL_SQS": "http://sqs.local:9324",
    }
    assert endpoints.resolve(endpoints.DYNAMODB, env).url == "http://127.0.0.1:4566"  # type: ignore[union-attr]
    assert endpoints.resolve(endpoints.SQS, env).url == "http://sqs.local:9324"  # type: ignore[union-attr]
    ignored = endpoints.resolve(endpoints.SQS, {**env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"})
    assert ignored is not None
    assert ignored.url == "https://sqs.eu-central-1.amazonaws.com"


def test_session_token_is_optional() -> None:
    env = {k: v for k, v in LAMBDA_ENV.items() if k != "AWS_SESSION_TOKEN"}
    target = endpoints.resolve(endpoints.SECRETS_MANAGER, env)
    assert target is not None
    assert target.credentials.token is None
