"""`tenants sync` and `tenants preview` with `--local`: the CLI invokes the local stack's ops
function (``POST /_local/invoke/...``), which runs the sync inside the stack against the vendor
sandbox; the CLI follows the checkpoints. The stack is `test_cli_local`'s fixture (one per module)."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.integration import test_cli_local
from tests.integration.test_cli_local import Stack

stack = test_cli_local.stack  # that module's `local up` fixture: one stack for this module too


def checkpoints(running: Stack, tenant_id: str) -> dict[str, str]:
    config = running.config
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=config["endpoint_url"],
        region_name=config["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    items = dynamodb.query(
        TableName=config["tables"]["ContextTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"{tenant_id}#sync"}},
    )["Items"]
    return {i["sk"]["S"]: i["status"]["S"] for i in items}


def test_sync_runs_inside_the_stack_and_the_cli_follows_it(stack: Stack) -> None:
    assert stack.http.post(f"{stack.config['sandbox_url']}/_reset").status_code == 200
    stack.onboard("freshservice", "sync-1")
    # the sandbox is no vendor: no need to keep to Freshservice's 100 requests a minute
    stack.ok("tenants", "update", "sync-1", "--option", "sync_api_limit=600000", "--local")
    done = stack.cli("tenants", "sync", "sync-1", "--history-days", "30", "--local", timeout=180)
    assert done.returncode == 0, (done.stdout, done.stderr)
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["history", "knowledge"]
    for line in lines:  # the sandbox's history and knowledge base, imported
        assert " done, " in line, line
        assert int(line.split(" done, ")[1].split()[0].replace(",", "")) > 25, line
    assert "syncing sync-1 (freshservice) at up to 150000 requests a minute" in done.stderr
    assert "api_token" not in done.stderr
    assert "sandbox-token" not in done.stderr
    assert set(checkpoints(stack, "sync-1")) == {"history", "knowledge"}
    assert stack.status()["functions"]["FreshserviceOpsFunction"]["invocations"] >= 1

    only = stack.cli("tenants", "sync", "sync-1", "--no-knowledge", "--local", timeout=180)
    assert only.returncode == 0, only.stderr
    assert [line.split(":")[0] for line in only.stdout.splitlines()] == ["history"]


def test_preview_prints_the_note_and_posts_nothing(stack: Stack) -> None:
    from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id

    assert stack.http.post(f"{stack.config['sandbox_url']}/_reset").status_code == 200
    stack.onboard("jira", "preview-1")
    done = stack.cli("tenants", "preview", "preview-1", seed_ticket_id("jira"), "--local", timeout=120)
    assert done.returncode == 0, (done.stdout, done.stderr)
    note = json.loads(done.stdout)  # Jira notes are ADF documents
    assert note["type"] == "doc"
    assert "job preview" in done.stdout
    assert "nothing posted" in done.stderr
    assert stack.notes("jira") == []


@pytest.mark.parametrize(
    "args",
    [
        ("tenants", "sync", "nobody-here", "--local"),
        ("tenants", "sync", "sync-1", "--history-days", "0", "--local"),
        ("tenants", "sync", "sync-1", "--no-history", "--no-knowledge", "--local"),
        ("tenants", "preview", "nobody-here", "1", "--local"),
        ("tenants", "sync", "bad id!", "--local"),
    ],
)
def test_bad_input_is_one_line_exit_2(stack: Stack, args: tuple[str, ...]) -> None:
    done = stack.cli(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stdout == ""
