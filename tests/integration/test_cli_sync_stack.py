"""`tenants sync` / `preview` against a deployed stack's shape: the CLI calls Lambda's Invoke and
follows the checkpoints in DynamoDB (moto); the "Lambda" runs the real ops handler in-process."""

from __future__ import annotations

import io
import json
import time
from argparse import Namespace
from collections.abc import Iterator
from typing import Any

import pytest
from ticket_enhancer.ops.handler import OpsHandler
from ticket_enhancer_dev.cli import sync as cli_sync
from ticket_enhancer_dev.cli.errors import CliError
from ticket_enhancer_dev.cli.target import Target, ToolResources
from ticket_enhancer_dev.sandbox.tickets import seed_ticket_id

from tests.integration.test_ops_function import Context, Ops
from tests.support import Stack
from tests.sync_support import Clock

OPS_NAME = "ticket-enhancer-JiraOpsFunction-abc"


class FakeLambda:
    """Lambda's Invoke for one function: runs the handler with ``seconds`` of remaining time."""

    def __init__(self, handler: OpsHandler, seconds: float = 600.0, fail: bool = False) -> None:
        self.handler, self.seconds, self.fail = handler, seconds, fail
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        assert FunctionName == OPS_NAME
        event = json.loads(Payload)
        self.calls.append((InvocationType, event))
        if self.fail:
            body = {"errorMessage": "boom", "errorType": "RuntimeError"}
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(json.dumps(body).encode()),
            }
        result = self.handler(event, Context(self.seconds))
        return {
            "StatusCode": 202 if InvocationType == "Event" else 200,
            "Payload": io.BytesIO(json.dumps(result).encode()),
        }


@pytest.fixture
def ops(aws: Stack) -> Iterator[Ops]:
    made = Ops(aws)
    yield made
    for handler in made.handlers:
        handler.worker.close()


def target_for(ops: Ops, fake: FakeLambda) -> Target:
    target = Target(
        "stack",
        "us-east-1",
        {"TenantsTable": ops.stack.tenants_table, "ContextTable": ops.context_table},
        {"jira": ToolResources("u", "q", "d", "w", "k", ops_function=OPS_NAME)},
    )
    target._clients.update(dynamodb=ops.stack.dynamodb, **{"lambda": fake})
    return target


def args(tenant_id: str, **extra: Any) -> Namespace:
    values = {"history_days": 180, "no_history": False, "no_knowledge": False, **extra}
    return Namespace(tenant_id=tenant_id, **values)


def test_sync_invokes_asynchronously_and_reports_each_source(
    ops: Ops, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli_sync, "POLL_SECONDS", 0.01)
    tenant_id = ops.tenant()
    fake = FakeLambda(ops.handler())
    assert cli_sync.sync(target_for(ops, fake), args(tenant_id, history_days=30)) == 0
    assert fake.calls == [
        (
            "Event",
            {
                "action": "sync",
                "tenant_id": tenant_id,
                "history_days": 30,
                "history": True,
                "knowledge": True,
            },
        )
    ]
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "history: done, 31 imported, 0 skipped, page 4",
        "knowledge: done, 4 imported, 0 skipped, page 1",
    ]
    assert "syncing" in err
    assert "VPN" not in err  # no ticket text in the progress line


def test_the_cli_invokes_again_when_an_invocation_ended_with_work_left(
    ops: Ops, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant_id = ops.tenant()
    work = Clock()

    def page_takes_six_seconds(source: str, cursor: str | None) -> None:
        work.now += 6.0

    ops.plugin.source.fault = page_takes_six_seconds
    fake = FakeLambda(ops.handler(monotonic=work), seconds=31)  # one page per invocation
    wall = Clock(time.time())
    done = cli_sync.follow(
        target_for(ops, fake),
        "jira",
        {"action": "sync", "tenant_id": tenant_id, "history": True, "knowledge": False},
        ("history",),
        out=io.StringIO(),
        clock=wall,
        sleep=lambda seconds: setattr(wall, "now", wall.now + 30),
    )
    assert done["history"]["status"] == "done"
    assert len(fake.calls) == 4  # 31 tickets, 10 a page, one page per invocation
    assert all(kind == "Event" for kind, _ in fake.calls)
    assert all(count == 1 for count in ops.plugin.source.calls.values())


def test_preview_prints_the_rendered_note(ops: Ops, capsys: pytest.CaptureFixture[str]) -> None:
    tenant_id = ops.tenant()
    fake = FakeLambda(ops.handler())
    code = cli_sync.preview(
        target_for(ops, fake), Namespace(tenant_id=tenant_id, ticket_id=seed_ticket_id("jira"))
    )
    assert code == 0
    assert fake.calls[0][0] == "RequestResponse"
    out, err = capsys.readouterr()
    assert json.loads(out)["type"] == "doc"
    assert "nothing posted" in err
    assert ops.sandbox.notes("jira") == []


def test_a_failing_function_is_one_clear_error(ops: Ops) -> None:
    tenant_id = ops.tenant()
    target = target_for(ops, FakeLambda(ops.handler(), fail=True))
    with pytest.raises(CliError, match="the ops function failed: boom"):
        cli_sync.preview(target, Namespace(tenant_id=tenant_id, ticket_id="1"))


def test_a_stack_without_ops_functions_says_so(ops: Ops) -> None:
    tenant_id = ops.tenant()
    target = target_for(ops, FakeLambda(ops.handler()))
    target.tools["jira"] = ToolResources("u", "q", "d", "w", "k")
    with pytest.raises(CliError, match="no ops function for jira"):
        cli_sync.sync(target, args(tenant_id))
