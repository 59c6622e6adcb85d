"""Every `ticket-enhancer` command against a deployed stack (`--stack`), emulated by moto.

The stack's resources and its CloudFormation outputs live in moto (``tests.cli_support``); the CLI
runs in this process and finds every name through the stack's outputs, as it does in AWS.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ticket_enhancer.enhance.store import ContextStore
from ticket_enhancer.models import EnhancementJob, JobTicket, TicketMetadata
from ticket_enhancer.plugins.context import Headers, WebhookRequest
from ticket_enhancer.plugins.registry import webhook_schemes
from ticket_enhancer.webhooks import schemes
from ticket_enhancer.webhooks.signing import sign

from tests.cli_support import Deployment
from tests.support import BASE_URLS, DEFAULT_MODES, TOOLS

ZENDESK_SECRET = "zendesk-signing-secret-0123456789"
BODY_TEMPLATE_TOOLS = ("zendesk", "servicenow", "freshservice", "servicedesk_plus", "zammad")


def add(deployed: Deployment, tool: str, tenant_id: str, *extra: str) -> str:
    """Onboard a tenant; returns the webhook secret it was given (printed or passed)."""
    args = ["tenants", "add", tenant_id, "--tool", tool, "--base-url", BASE_URLS[tool], *extra]
    if tool == "zendesk" and "--webhook-secret" not in extra:
        args += ["--webhook-secret", ZENDESK_SECRET]
    run = deployed.cli(*args, "--api-user", "bot@acme.example", "--api-token", "api-token-xyz")
    assert (run.code, run.err) == (0, ""), run.err
    return str(deployed.secret(tool, tenant_id)["webhook_secrets"][0])


def printed_secret(out: str) -> str:
    lines = [line for line in out.splitlines() if "(shown once): " in line]
    assert len(lines) == 1, out
    return lines[0].split("(shown once): ", 1)[1]


def verifies(mode: str, body: bytes, headers: dict[str, str], secrets: list[str]) -> bool:
    request = WebhookRequest(body=body, headers=Headers(headers))
    return webhook_schemes()[mode].verify(request, secrets, time.time())


# -- tenants add -------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", TOOLS)
def test_add_stores_row_and_secret_and_prints_the_setup(deployed: Deployment, tool: str) -> None:
    tenant_id = f"acme-{tool.replace('_', '-')}"
    mode = DEFAULT_MODES[tool]
    args = ["tenants", "add", tenant_id, "--tool", tool, "--base-url", BASE_URLS[tool] + "/"]
    args += ["--api-user", "bot@acme.example", "--api-token", "api-token-xyz"]
    args += ["--option", "synthesis_provider=openai", "--option", "synthesis_model=gpt-x"]
    if tool == "zendesk":
        args += ["--webhook-secret", ZENDESK_SECRET]

    run = deployed.cli(*args)

    assert (run.code, run.err) == (0, "")
    assert run.lines[0] == f"tenant {tenant_id} added ({tool}, auth {mode})"
    document = deployed.secret(tool, tenant_id)
    if tool == "zendesk":  # Zendesk's own signing secret: stored, never echoed
        assert "(shown once)" not in run.out
        assert ZENDESK_SECRET not in run.out
        assert document["webhook_secrets"] == [ZENDESK_SECRET]
    else:
        secret = printed_secret(run.out)
        assert run.out.count(secret) == 1
        assert document["webhook_secrets"] == [secret]
        assert len(secret) >= 32
    if tool == "servicenow":
        assert document["webhook_secrets"][0].startswith("whsec_")
        assert schemes.standard_webhooks_key(document["webhook_secrets"][0]) is not None
        assert len(base64.b64decode(document["webhook_secrets"][0][len("whsec_") :])) == 32
    assert document["api_user"] == "bot@acme.example"
    assert document["api_token"] == "api-token-xyz"
    assert "api-token-xyz" not in run.out

    row = deployed.row(tenant_id)
    assert row is not None
    assert row["tool_type"] == tool
    assert row["base_url"] == BASE_URLS[tool]  # trailing slash dropped
    assert row["enabled"] is True
    assert row["webhook_auth"] == mode
    assert row["secret_id"] == f"ticket-enhancer/{tool}/{tenant_id}"
    assert row["options"] == {"synthesis_provider": "openai", "synthesis_model": "gpt-x"}
    assert datetime.fromisoformat(row["created_at"]) <= datetime.now(UTC)
    assert row["updated_at"] == row["created_at"]

    assert f"URL:     {deployed.webhook_url(tool, tenant_id)}" in run.lines
    assert any(line.startswith("Where:   ") for line in run.lines)
    if mode == schemes.SHARED_TOKEN:
        assert "Header:  X-Webhook-Token: <the secret above>" in run.lines
    if mode == schemes.STANDARD_WEBHOOKS:
        assert any(line.startswith("Headers: webhook-id, webhook-timestamp") for line in run.lines)
    if mode == "zammad-hmac":
        secret_lines = [line for line in run.lines if line.startswith("Secret:  ")]
        assert any("'HMAC SHA1 Signature Token'" in line for line in secret_lines)
    assert any(line.startswith("Body:    ") for line in run.lines) == (tool in BODY_TEMPLATE_TOOLS)


def test_add_with_a_chosen_mode_and_secret(deployed: Deployment) -> None:
    secret = "automation-rule-token-0123456789"
    run = deployed.cli(
        "tenants",
        "add",
        "acme",
        "--tool",
        "jira",
        "--base-url",
        "https://acme.atlassian.net",
        "--webhook-auth",
        "shared-token",
        "--webhook-secret",
        secret,
    )

    assert (run.code, run.err) == (0, "")
    assert "(shown once)" not in run.out
    assert secret not in run.out
    assert "Header:  X-Webhook-Token: <the secret above>" in run.lines
    row = deployed.row("acme")
    assert row is not None
    assert row["webhook_auth"] == "shared-token"
    assert deployed.secret("jira", "acme")["webhook_secrets"] == [secret]


def test_add_servicedesk_plus_on_prem_with_custom_host(deployed: Deployment) -> None:
    run = deployed.cli(
        "tenants",
        "add",
        "onprem",
        "--tool",
        "servicedesk_plus",
        "--base-url",
        "https://sdp.acme.example:8443/",
        "--allow-custom-host",
    )

    assert (run.code, run.err) == (0, "")
    row = deployed.row("onprem")
    assert row is not None
    assert row["base_url"] == "https://sdp.acme.example:8443"
    assert row["options"] == {"allow_custom_host": "true"}


# -- list, show, enable, disable ---------------------------------------------------------------


def test_list_and_show_never_print_a_secret(deployed: Deployment) -> None:
    empty = deployed.cli("tenants", "list")
    assert (empty.code, empty.out) == (0, "no tenants\n")
    jira_secret = add(deployed, "jira", "zeta")
    servicenow_secret = add(deployed, "servicenow", "alpha")

    listed = deployed.cli("tenants", "list")
    shown = deployed.cli("tenants", "show", "zeta")

    assert (listed.code, listed.err) == (0, "")
    assert listed.lines[0].split() == ["TENANT", "TOOL", "ENABLED", "AUTH", "BASE", "URL"]
    assert [line.split() for line in listed.lines[1:]] == [
        ["alpha", "servicenow", "yes", "standard-webhooks", BASE_URLS["servicenow"]],
        ["zeta", "jira", "yes", "jira-hmac", BASE_URLS["jira"]],
    ]
    assert (shown.code, shown.err) == (0, "")
    details = json.loads(shown.out)
    assert details["tenant_id"] == "zeta"
    assert details["tool_type"] == "jira"
    assert details["base_url"] == BASE_URLS["jira"]
    assert details["secret_id"] == "ticket-enhancer/jira/zeta"
    assert details["webhook_secrets"] == "1 current (values not shown)"
    assert details["api_credentials"] == "set"
    for run in (listed, shown):
        for value in (jira_secret, servicenow_secret, "api-token-xyz"):
            assert value not in run.out + run.err


def test_disable_and_enable(deployed: Deployment) -> None:
    add(deployed, "freshservice", "acme")
    before = deployed.row("acme")
    assert before is not None

    disabled = deployed.cli("tenants", "disable", "acme")
    row = deployed.row("acme")
    assert row is not None
    assert disabled.code == 0
    assert disabled.lines[0].startswith("tenant acme disabled")
    assert row["enabled"] is False
    assert row["updated_at"] > before["updated_at"]
    assert {k: v for k, v in row.items() if k not in ("enabled", "updated_at")} == {
        k: v for k, v in before.items() if k not in ("enabled", "updated_at")
    }

    enabled = deployed.cli("tenants", "enable", "acme")
    row = deployed.row("acme")
    assert row is not None
    assert enabled.code == 0
    assert enabled.lines[0].startswith("tenant acme enabled")
    assert row["enabled"] is True


# -- knowledge, assets, remove -----------------------------------------------------------------


def test_knowledge_loads_every_article(deployed: Deployment, tmp_path: Path) -> None:
    add(deployed, "jira", "acme")
    articles = [
        {"title": "VPN troubleshooting", "body": "Restart the client.", "url": "https://kb.acme.example/vpn"},
        {"title": "Printer jams", "body": "Open tray 2.", "url": "https://kb.acme.example/printer"},
    ]
    path = tmp_path / "kb.jsonl"
    path.write_text(json.dumps(articles[0]) + "\n\n" + json.dumps(articles[1]) + "\n", encoding="utf-8")

    run = deployed.cli("tenants", "knowledge", "acme", str(path))

    assert (run.code, run.err) == (0, "")
    assert run.out == "tenant acme: 2 knowledge article(s) loaded\n"
    stored = ContextStore(deployed.dynamodb, deployed.tables["ContextTable"]).list_articles("acme")
    assert sorted((a.title, a.body, a.url) for a in stored) == sorted(
        (a["title"], a["body"], a["url"]) for a in articles
    )


def test_assets_loads_every_row(deployed: Deployment, tmp_path: Path) -> None:
    add(deployed, "zendesk", "acme")
    path = tmp_path / "assets.csv"
    path.write_text(
        "cidr_or_host,name,notes\n"
        "10.20.30.0/24,db-subnet,Production databases\n"
        'vpn.acme.example,vpn-gw,"Cisco ASA pair, HA"\n'
        "192.0.2.10,mail-gw,SMTP relay\n",
        encoding="utf-8",
    )

    run = deployed.cli("tenants", "assets", "acme", str(path))

    assert (run.code, run.err) == (0, "")
    assert run.out == "tenant acme: 3 network/asset row(s) loaded\n"
    stored = ContextStore(deployed.dynamodb, deployed.tables["ContextTable"]).list_assets("acme")
    assert sorted((a.cidr_or_host, a.name, a.notes) for a in stored) == [
        ("10.20.30.0/24", "db-subnet", "Production databases"),
        ("192.0.2.10", "mail-gw", "SMTP relay"),
        ("vpn.acme.example", "vpn-gw", "Cisco ASA pair, HA"),
    ]


def test_remove_deletes_row_secret_and_context_of_that_tenant_only(
    deployed: Deployment, tmp_path: Path
) -> None:
    for tenant_id in ("gone", "kept"):
        add(deployed, "servicenow", tenant_id)
    kb = tmp_path / "kb.jsonl"
    kb.write_text(json.dumps({"title": "T", "body": "B", "url": "https://kb.example/t"}) + "\n")
    assets = tmp_path / "assets.csv"
    assets.write_text("10.0.0.0/8,corp,all\n")
    for tenant_id in ("gone", "kept"):
        assert deployed.cli("tenants", "knowledge", tenant_id, str(kb)).code == 0
        assert deployed.cli("tenants", "assets", tenant_id, str(assets)).code == 0
    store = ContextStore(deployed.dynamodb, deployed.tables["ContextTable"])
    store.put_asset("gone", "192.0.2.1", "extra", "")
    deployed.dynamodb.put_item(  # an indexed past ticket
        TableName=deployed.tables["ContextTable"],
        Item={"pk": {"S": "gone#ticket"}, "sk": {"S": "INC1"}, "subject": {"S": "old"}},
    )

    run = deployed.cli("tenants", "remove", "gone")

    assert (run.code, run.err) == (0, "")
    assert run.lines[0].startswith("tenant gone removed")
    assert deployed.row("gone") is None
    assert deployed.secret_names() == [
        "ticket-enhancer/servicenow/kept",
        "ticket-enhancer/servicenow/kept/webhook",
    ]
    pks = {item["pk"]["S"] for item in deployed.items("ContextTable")}
    assert pks == {"kept#kb", "kept#asset"}
    assert deployed.row("kept") is not None
    assert deployed.cli("tenants", "show", "gone").code == 2


# -- rotate-secret -----------------------------------------------------------------------------


def test_rotate_secret_keeps_exactly_the_previous_one(deployed: Deployment) -> None:
    first = add(deployed, "jira", "acme")
    body = b'{"issue": {"id": "10001"}}'

    rotated = deployed.cli("tenants", "rotate-secret", "acme")
    second = printed_secret(rotated.out)
    after_one = deployed.secret("jira", "acme")
    third = printed_secret(deployed.cli("tenants", "rotate-secret", "acme").out)
    after_two = deployed.secret("jira", "acme")

    assert (rotated.code, rotated.err) == (0, "")
    assert rotated.out.count(second) == 1
    assert first not in rotated.out
    assert len({first, second, third}) == 3
    assert after_one["webhook_secrets"] == [second, first]  # new one first, the previous one kept
    assert after_two["webhook_secrets"] == [third, second]  # the older one dropped
    assert after_two["api_user"] == "bot@acme.example"
    assert after_two["api_token"] == "api-token-xyz"
    secrets = after_two["webhook_secrets"]
    for current in (second, third):
        assert verifies(schemes.JIRA_HMAC, body, sign(schemes.JIRA_HMAC, body, current), secrets)
    assert not verifies(schemes.JIRA_HMAC, body, sign(schemes.JIRA_HMAC, body, first), secrets)


def test_rotate_servicenow_generates_a_standard_webhooks_secret(deployed: Deployment) -> None:
    add(deployed, "servicenow", "acme")

    run = deployed.cli("tenants", "rotate-secret", "acme")

    assert run.code == 0
    new = printed_secret(run.out)
    assert new.startswith("whsec_")
    assert deployed.secret("servicenow", "acme")["webhook_secrets"][0] == new


def test_rotate_zendesk_takes_the_new_signing_secret(deployed: Deployment) -> None:
    add(deployed, "zendesk", "acme")
    new = "zendesk-new-signing-secret-987654"

    run = deployed.cli("tenants", "rotate-secret", "acme", "--webhook-secret", new)

    assert run.code == 0
    assert new not in run.out  # a secret the operator supplied is stored, never echoed
    assert deployed.secret("zendesk", "acme")["webhook_secrets"] == [new, ZENDESK_SECRET]


# -- plugins -----------------------------------------------------------------------------------


def _plugin_rows(out: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in out.splitlines()[1:]}


def test_plugins_list_pause_resume_drive_the_event_source_mapping(deployed: Deployment) -> None:
    uuid = deployed.mappings["jira"]

    listed = deployed.cli("plugins", "list")
    paused = deployed.cli("plugins", "pause", "jira")
    state_paused = deployed.lambda_.get_event_source_mapping(UUID=uuid)["State"]
    listed_paused = deployed.cli("plugins", "list")
    resumed = deployed.cli("plugins", "resume", "jira")
    state_resumed = deployed.lambda_.get_event_source_mapping(UUID=uuid)["State"]

    assert (listed.code, listed.err) == (0, "")
    assert "WORKER" in listed.lines[0]
    rows = _plugin_rows(listed.out)
    assert set(rows) == set(TOOLS)
    for row in rows.values():
        assert row[4:7] == ["running", "0+0", "0+0"]
    assert (paused.code, paused.out) == (0, "jira worker paused: jobs wait in its queue\n")
    assert state_paused == "Disabled"
    rows = _plugin_rows(listed_paused.out)
    assert rows["jira"][4] == "paused"
    assert all(rows[tool][4] == "running" for tool in TOOLS if tool != "jira")
    assert (resumed.code, resumed.out) == (0, "jira worker resumed: waiting jobs are being processed\n")
    assert state_resumed == "Enabled"
    others = {
        t: deployed.lambda_.get_event_source_mapping(UUID=u)["State"] for t, u in deployed.mappings.items()
    }
    assert set(others.values()) == {"Enabled"}


def test_plugins_list_without_a_target_lists_the_plugins(deployed: Deployment) -> None:
    run = deployed.cli("plugins", "list", target=False)

    assert (run.code, run.err) == (0, "")
    assert "WORKER" not in run.lines[0]
    assert set(_plugin_rows(run.out)) == set(TOOLS)


# -- sign --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "mode", "secret"),
    [
        ("jira", None, "jira-secret-0123456789abcdef"),
        ("zendesk", None, ZENDESK_SECRET),
        ("servicenow", None, "whsec_" + base64.b64encode(b"k" * 32).decode()),
        ("freshservice", None, "fs-token-0123456789abcdef"),
        ("servicedesk_plus", None, "sdp-token-0123456789abcdef"),
        ("zammad", None, "zammad-token-0123456789abcdef"),
        ("jira", "shared-token", "automation-token-0123456789"),
        ("freshservice", "standard-webhooks", "whsec_" + base64.b64encode(b"f" * 24).decode()),
    ],
)
def test_sign_prints_headers_the_webhook_accepts(
    deployed: Deployment, tmp_path: Path, tool: str, mode: str | None, secret: str
) -> None:
    body = json.dumps({"ticket_id": 123, "event": "created"}).encode()
    path = tmp_path / "body.json"
    path.write_bytes(body)
    args = ["sign", tool, "--secret", secret, "--body", str(path)] + (["--mode", mode] if mode else [])

    run = deployed.cli(*args, target=False)

    assert (run.code, run.err) == (0, "")
    headers = dict(line.split(": ", 1) for line in run.lines)
    used = mode or DEFAULT_MODES[tool]
    assert verifies(used, body, headers, [secret])
    if used != schemes.SHARED_TOKEN:  # a token does not cover the body; signatures do
        assert not verifies(used, body + b" ", headers, [secret])
    assert not verifies(used, body, headers, ["another-secret-0123456789"])


def test_sign_without_a_body_signs_a_sample(deployed: Deployment) -> None:
    from ticket_enhancer_dev.sandbox.tickets import webhook_body

    secret = "jira-secret-0123456789abcdef"
    run = deployed.cli("sign", "jira", "--secret", secret, target=False)

    headers = dict(line.split(": ", 1) for line in run.lines)
    body = json.dumps(webhook_body("jira", "demo")).encode()
    assert run.code == 0
    assert set(headers) == {"X-Hub-Signature", "X-Atlassian-Webhook-Identifier"}
    assert verifies(schemes.JIRA_HMAC, body, headers, [secret])


# -- dlq ---------------------------------------------------------------------------------------


def _job(tenant_id: str, ticket_id: str) -> EnhancementJob:
    metadata = TicketMetadata(
        tool_type="jira", tenant_id=tenant_id, ticket_id=ticket_id, delivery_id=f"d-{ticket_id}"
    )
    return EnhancementJob(
        job_id=f"job-{ticket_id}", metadata=JobTicket.of(metadata), queued_at=datetime.now(UTC)
    )


def test_dlq_list_and_redrive_move_each_job_back_once(deployed: Deployment) -> None:
    # Paused, as an operator would before inspecting: moto's mapping would otherwise take the job.
    assert deployed.cli("plugins", "pause", "jira").code == 0
    job = _job("acme", "10001")
    deployed.sqs.send_message(
        QueueUrl=deployed.dlqs["jira"],
        MessageBody=job.model_dump_json(),
        MessageGroupId="acme#10001",
        MessageDeduplicationId="first",
    )

    listed = deployed.cli("dlq", "list")
    listed_jira = deployed.cli("dlq", "list", "--tool", "jira")
    still_there = deployed.depth(deployed.dlqs["jira"])
    redriven = deployed.cli("dlq", "redrive")
    again = deployed.cli("dlq", "redrive", "--tool", "jira")

    assert (listed.code, listed.err) == (0, "")
    assert "jira: 1 job(s) in the dead-letter queue" in listed.lines
    assert "  job job-10001 tenant acme ticket 10001 (received 1 times)" in listed.lines  # this peek
    assert listed.lines[-1] == "total: 1"
    empty = [line for line in listed.lines if line.endswith(": 0 job(s) in the dead-letter queue")]
    assert len(empty) == len(TOOLS) - 1
    assert listed_jira.lines[0] == "jira: 1 job(s) in the dead-letter queue"
    assert not any(line.startswith("zendesk") for line in listed_jira.lines)
    assert still_there == 1  # listing only peeks
    assert (redriven.code, redriven.err) == (0, "")
    assert "jira: 1 job(s) moved back to the queue" in redriven.lines
    assert again.lines == ["jira: 0 job(s) moved back to the queue"]
    assert deployed.depth(deployed.dlqs["jira"]) == 0
    messages = deployed.sqs.receive_message(
        QueueUrl=deployed.queues["jira"], MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    ).get("Messages", [])
    assert len(messages) == 1
    assert EnhancementJob.model_validate_json(messages[0]["Body"]) == job
    assert messages[0]["Attributes"]["MessageGroupId"] == "acme#10001"
    assert all(deployed.depth(deployed.queues[t]) == 0 for t in TOOLS if t != "jira")
