"""Upgrading from one secret per tenant to two: no tenant answers 401 afterwards, nothing is lost."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from ticket_enhancer import migrations

from tests.support import API_TOKEN, Stack, TenantFactory, invoke

pytestmark = pytest.mark.filterwarnings("ignore:Dimension 'tool' has already been added")


def _pre_split(aws: Stack, tenant: TenantFactory, tool: str) -> Any:
    """A tenant as an older release onboarded it: webhook secrets inside the one secret."""
    acme = tenant(tool)
    name = f"ticket-enhancer/{tool}/{acme.tenant_id}"
    aws.secretsmanager.delete_secret(SecretId=f"{name}/webhook", ForceDeleteWithoutRecovery=True)
    document = {
        "webhook_secrets": list(acme.secrets),
        "api_user": "agent@example.com",
        "api_token": API_TOKEN,
    }
    aws.put_secret(name, document)
    return acme


def test_pre_split_tenants_keep_working_after_the_migration(aws: Stack, tenant: TenantFactory) -> None:
    old = [_pre_split(aws, tenant, tool) for tool in ("jira", "freshservice")]
    assert invoke(aws.handler("jira"), old[0].event())[0] == 401  # the new webhook cannot read them

    report = migrations.split_tenant_secrets(aws.dynamodb, aws.secretsmanager, aws.tenants_table)

    assert sorted(report.copied) == sorted(t.tenant_id for t in old)
    for acme in old:
        assert invoke(aws.handler(acme.tool), acme.event())[0] == 202
        api = json.loads(
            aws.secretsmanager.get_secret_value(SecretId=f"ticket-enhancer/{acme.tool}/{acme.tenant_id}")[
                "SecretString"
            ]
        )
        assert api["api_token"] == API_TOKEN  # credentials untouched


def test_the_migration_is_idempotent_and_never_overwrites(aws: Stack, tenant: TenantFactory) -> None:
    split = tenant("zendesk", secrets=["the-current-zendesk-signing-secret"])
    old = _pre_split(aws, tenant, "servicenow")
    aws.put_secret(  # a stale pre-split copy beside an existing webhook secret
        f"ticket-enhancer/zendesk/{split.tenant_id}", {"webhook_secrets": ["a-stale-old-secret-000000"]}
    )
    first = migrations.split_tenant_secrets(aws.dynamodb, aws.secretsmanager, aws.tenants_table)
    second = migrations.split_tenant_secrets(aws.dynamodb, aws.secretsmanager, aws.tenants_table)

    assert first.copied == [old.tenant_id]
    assert second.copied == []
    assert second.already_split == 2
    assert invoke(aws.handler("zendesk"), split.event())[0] == 202


def test_the_custom_resource_answers_cloudformation(aws: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []

    class Answer:
        def __enter__(self) -> Answer:
            return self

        def __exit__(self, *_: object) -> None:
            return None

    def urlopen(request: Any, timeout: float) -> Answer:
        assert request.get_method() == "PUT"
        assert request.full_url == "https://cloudformation-custom-resource-response.example/x"
        sent.append(json.loads(request.data))
        return Answer()

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    handler = migrations.make_handler(aws.dynamodb, aws.secretsmanager, aws.tenants_table)
    event = {
        "StackId": "stack",
        "RequestId": "r1",
        "LogicalResourceId": "SecretsLayoutMigration",
        "ResponseURL": "https://cloudformation-custom-resource-response.example/x",
    }
    for kind in ("Create", "Update", "Delete"):
        handler({**event, "RequestType": kind}, None)
    assert [answer["Status"] for answer in sent] == ["SUCCESS"] * 3

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("scan failed")

    monkeypatch.setattr(migrations, "split_tenant_secrets", broken)
    handler({**event, "RequestType": "Update"}, None)
    assert sent[-1]["Status"] == "FAILED"
