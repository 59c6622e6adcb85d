"""Secrets never on the command line, two secrets per tenant, and `tenants update` (contract, CLI)."""

from __future__ import annotations

import io
import json
import sys

import pytest

from tests.cli_support import Deployment, Run
from tests.support import BASE_URLS

TOKEN = "api-token-from-a-pipe-0123"  # nosec B105 # a test value


def with_stdin(deployed: Deployment, text: str, *argv: str) -> Run:
    saved = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        return deployed.cli(*argv)
    finally:
        sys.stdin = saved


def add_args(tenant_id: str, tool: str = "jira", *extra: str) -> list[str]:
    return ["tenants", "add", tenant_id, "--tool", tool, "--base-url", BASE_URLS[tool], *extra]


def test_add_reads_the_api_token_from_stdin(deployed: Deployment) -> None:
    run = with_stdin(
        deployed, TOKEN + "\n", *add_args("acme", "jira", "--api-user", "bot@x.example", "--api-token", "-")
    )
    assert (run.code, run.err) == (0, "")
    assert deployed.secret("jira", "acme")["api_token"] == TOKEN
    assert TOKEN not in run.out


def test_the_api_user_reads_stdin_like_the_token(deployed: Deployment) -> None:
    added = with_stdin(deployed, "bot@from-a-pipe.example\n", *add_args("acme", "jira", "--api-user", "-"))
    assert (added.code, added.err) == (0, "")
    assert deployed.secret("jira", "acme")["api_user"] == "bot@from-a-pipe.example"

    updated = with_stdin(
        deployed, "ops@from-a-pipe.example\n", "tenants", "update", "acme", "--api-user", "-"
    )
    assert (updated.code, updated.err) == (0, ""), updated.err
    assert "ops@from-a-pipe.example" not in updated.out
    assert deployed.secret("jira", "acme")["api_user"] == "ops@from-a-pipe.example"

    before = deployed.snapshot()
    both = with_stdin(deployed, "x\n", "tenants", "update", "acme", "--api-user", "-", "--api-token", "-")
    assert (both.code, both.out) == (2, "")
    assert both.err.strip().splitlines() == [
        "ticket-enhancer: error: --api-token and --api-user both ask for standard input: give one another way"
    ]
    assert deployed.snapshot() == before


def test_add_reads_the_webhook_secret_from_stdin(deployed: Deployment) -> None:
    secret = "zendesk-signing-secret-from-stdin"
    run = with_stdin(deployed, secret, *add_args("zen", "zendesk", "--webhook-secret", "-"))
    assert (run.code, run.err) == (0, "")
    assert deployed.secret("zendesk", "zen")["webhook_secrets"] == [secret]
    assert secret not in run.out


def test_add_reads_the_environment_when_the_options_are_absent(
    deployed: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKET_ENHANCER_WEBHOOK_SECRET", "zendesk-signing-secret-from-env")
    monkeypatch.setenv("TICKET_ENHANCER_API_TOKEN", TOKEN)
    run = deployed.cli(*add_args("zen", "zendesk"))
    assert (run.code, run.err) == (0, "")
    document = deployed.secret("zendesk", "zen")
    assert document["webhook_secrets"] == ["zendesk-signing-secret-from-env"]
    assert document["api_token"] == TOKEN


def test_add_writes_two_secrets(deployed: Deployment) -> None:
    assert deployed.cli(*add_args("acme")).code == 0
    assert deployed.secret_names() == ["ticket-enhancer/jira/acme", "ticket-enhancer/jira/acme/webhook"]


@pytest.mark.parametrize(
    ("stdin", "argv", "fragment"),
    [
        ("", ["--api-token", "-"], "nothing was read from standard input"),
        ("a\nb\n", ["--api-token", "-"], "more than one line"),
        ("x" * 40, ["--api-token", "-", "--webhook-secret", "-"], "both ask for standard input"),
        ("", ["--webhook-secret", "short"], "at least 16 bytes"),
        ("", ["--webhook-secret", " " * 20], "at least 16 bytes"),
    ],
)
def test_bad_secret_input_changes_nothing(
    deployed: Deployment, stdin: str, argv: list[str], fragment: str
) -> None:
    before = deployed.snapshot()
    run = with_stdin(deployed, stdin, *add_args("acme", "jira", "--webhook-auth", "shared-token", *argv))
    assert run.code == 2
    assert fragment in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert deployed.snapshot() == before


def test_update_changes_options_base_url_and_credentials(deployed: Deployment) -> None:
    assert deployed.cli(*add_args("acme", "jira", "--option", "synthesis_provider=bedrock")).code == 0
    run = with_stdin(
        deployed,
        "sk-model-key-123456\n",
        "tenants",
        "update",
        "acme",
        "--base-url",
        "https://acme-new.atlassian.net",
        "--option",
        "note_language=de",
        "--unset",
        "synthesis_provider",
        "--api-token",
        TOKEN,
        "--llm-api-key",
        "-",
    )
    assert (run.code, run.err) == (0, ""), run.err
    assert TOKEN not in run.out
    assert "sk-model-key" not in run.out
    assert "credential llm_api_key set" in run.out
    row = deployed.row("acme")
    assert row is not None
    assert row["base_url"] == "https://acme-new.atlassian.net"
    assert row["options"] == {"note_language": "de"}
    document = deployed.secret("jira", "acme")
    assert (document["api_token"], document["llm_api_key"]) == (TOKEN, "sk-model-key-123456")


def test_update_sets_servicenow_oauth_client_credentials(deployed: Deployment) -> None:
    """Issue 15: OAuth client credentials for ServiceNow (the secret from stdin), never by hand."""
    assert deployed.cli(*add_args("acme-sn", "servicenow")).code == 0
    run = with_stdin(
        deployed,
        "oauth-client-secret-0123\n",
        "tenants",
        "update",
        "acme-sn",
        "--credential",
        "oauth_client_id=3f9c0e6d2b1a4",
        "--credential",
        "oauth_client_secret=-",
        "--option",
        "servicenow_tables=incident,sc_req_item",
    )
    assert (run.code, run.err) == (0, ""), run.err
    assert "oauth-client-secret-0123" not in run.out
    assert "credential oauth_client_secret set" in run.out
    document = deployed.secret("servicenow", "acme-sn")
    assert (document["oauth_client_id"], document["oauth_client_secret"]) == (
        "3f9c0e6d2b1a4",
        "oauth-client-secret-0123",
    )
    row = deployed.row("acme-sn")
    assert row is not None
    assert row["options"]["servicenow_tables"] == "incident,sc_req_item"


def test_update_sets_zoho_credentials_for_servicedesk_plus_cloud(deployed: Deployment) -> None:
    url = "https://sdpondemand.manageengine.eu/app/itdesk"
    argv = ["tenants", "add", "acme-sdp", "--tool", "servicedesk_plus", "--base-url", url]
    assert deployed.cli(*argv).code == 0
    run = with_stdin(
        deployed,
        "1000.refresh-token-abc\n",
        "tenants",
        "update",
        "acme-sdp",
        "--credential",
        "zoho_client_id=1000.CLIENT",
        "--credential",
        "zoho_client_secret=zoho-client-secret-value",
        "--credential",
        "zoho_refresh_token=-",
    )
    assert (run.code, run.err) == (0, ""), run.err
    assert "refresh-token-abc" not in run.out
    assert "zoho-client-secret-value" not in run.out
    document = deployed.secret("servicedesk_plus", "acme-sdp")
    assert document["zoho_refresh_token"] == "1000.refresh-token-abc"
    assert document["zoho_client_id"] == "1000.CLIENT"


def test_update_sets_a_jira_gateway_base_url_and_site(deployed: Deployment) -> None:
    assert deployed.cli(*add_args("acme")).code == 0
    gateway = "https://api.atlassian.com/ex/jira/11223344-a1b2-3c4d-5e6f-aabbccddeeff"
    run = deployed.cli(
        "tenants", "update", "acme", "--base-url", gateway, "--option", "site_url=https://acme.atlassian.net"
    )
    assert (run.code, run.err) == (0, ""), run.err
    row = deployed.row("acme")
    assert row is not None
    assert row["base_url"] == gateway


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([], "nothing to update"),
        (["--base-url", "https://acme.evil.example"], "not a jira host"),
        (["--credential", "webhook_secrets=x"], "is not a credential"),
        (["--credential", "api_token"], "KEY=VALUE"),
        (["--unset", "nope"], "no such option"),
        (["--option", "synthesis_provider=gpt"], "synthesis_provider must be one of"),
        (["--option", "allow_custom_host=true"], "allow_custom_host"),
        (["--credential", "zoho_refresh_token=x"], "is for ManageEngine ServiceDesk Plus only"),
        (["--credential", "oauth_client_secret=x"], "is for ServiceNow only"),
        (
            ["--base-url", "https://api.atlassian.com/ex/confluence/11223344-a1b2-3c4d-5e6f-aabbccddeeff"],
            "/ex/jira/",
        ),
        (["--option", "site_url=https://evil.example"], "site_url"),
        (["--option", "servicenow_tables=incident"], "is for ServiceNow only"),
    ],
)
def test_bad_update_changes_nothing(deployed: Deployment, argv: list[str], fragment: str) -> None:
    assert deployed.cli(*add_args("acme")).code == 0
    before = deployed.snapshot()
    run = deployed.cli("tenants", "update", "acme", *argv)
    assert run.code == 2, run.err
    assert fragment in run.err
    assert deployed.snapshot() == before


def test_rotation_moves_a_pre_split_tenant_to_two_secrets(deployed: Deployment) -> None:
    """A tenant onboarded before the split: rotation writes the webhook secret and drops the old copy."""
    assert deployed.cli(*add_args("acme", "jira", "--api-token", TOKEN)).code == 0
    old = deployed.secret("jira", "acme")["webhook_secrets"]
    sm = deployed.secretsmanager
    sm.delete_secret(SecretId="ticket-enhancer/jira/acme/webhook", ForceDeleteWithoutRecovery=True)
    legacy = {"webhook_secrets": old, "api_user": "", "api_token": TOKEN}
    sm.put_secret_value(SecretId="ticket-enhancer/jira/acme", SecretString=json.dumps(legacy))

    run = deployed.cli("tenants", "rotate-secret", "acme")

    assert run.code == 0, run.err
    document = deployed.secret("jira", "acme")  # asserts the API secret holds no webhook secrets
    assert document["webhook_secrets"][1:] == old
    assert document["api_token"] == TOKEN


def test_remove_deletes_both_secrets(deployed: Deployment) -> None:
    assert deployed.cli(*add_args("acme")).code == 0
    run = deployed.cli("tenants", "remove", "acme")
    assert run.code == 0
    assert deployed.secret_names() == []


def test_rotation_reads_the_new_secret_from_stdin_and_never_echoes_it(deployed: Deployment) -> None:
    assert (
        deployed.cli(*add_args("zen", "zendesk", "--webhook-secret", "zendesk-first-signing-secret")).code
        == 0
    )
    new = "zendesk-rotated-signing-secret-42"
    run = with_stdin(deployed, new + "\n", "tenants", "rotate-secret", "zen", "--webhook-secret", "-")
    assert (run.code, run.err) == (0, ""), run.err
    assert new not in run.out
    assert "new webhook secret stored" in run.out
    assert deployed.secret("zendesk", "zen")["webhook_secrets"] == [new, "zendesk-first-signing-secret"]
