"""The local stack's pool of execution environments per function (``local.pool``): overlapping
invocations run side by side in environments of their own, never more than the pool's size, the
warmest idle one is reused, and stopping the pool ends every process it started."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from ticket_enhancer_dev.local.functions import FunctionSpec, Outcome
from ticket_enhancer_dev.local.launcher import code_path
from ticket_enhancer_dev.local.pool import FunctionPool

REPO = Path(__file__).resolve().parents[2]
HANDLER = """
import os, time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid()}
"""


def make_pool(tmp_path: Path, size: int) -> FunctionPool:
    (tmp_path / "pool_handler.py").write_text(HANDLER, encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": f"{tmp_path}{os.pathsep}{code_path(REPO)}"}
    spec = FunctionSpec("Pooled", "pooled", "pool_handler.handler", tmp_path, env, timeout=10.0)
    return FunctionPool(spec, size)


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[FunctionPool]:
    function = make_pool(tmp_path, 3)
    assert function.start()
    yield function
    function.stop()


def invoke_together(pool: FunctionPool, events: list[dict[str, Any]]) -> list[Outcome]:
    start = threading.Barrier(len(events))

    def one(event: dict[str, Any]) -> Outcome:
        start.wait()
        return pool.invoke(event)

    with ThreadPoolExecutor(max_workers=len(events)) as threads:
        return list(threads.map(one, events))


def test_one_warm_environment_at_start_reused_while_invocations_do_not_overlap(pool: FunctionPool) -> None:
    first = pool.invoke({})
    second = pool.invoke({})

    assert first.result["pid"] == second.result["pid"] == pool.pid
    assert pool.status()["environments"] == 1
    assert pool.invocations == 2


def test_overlapping_invocations_run_side_by_side_up_to_the_pool_size(pool: FunctionPool) -> None:
    invoke_together(pool, [{}] * 3)  # warm all three (cold starts are not what is timed)
    started = time.monotonic()

    outcomes = invoke_together(pool, [{"sleep": 1.0}] * 3)

    assert time.monotonic() - started < 2.5  # side by side, not 3 s one after the other
    assert all(o.ok for o in outcomes)
    assert len({o.result["pid"] for o in outcomes}) == 3
    assert sorted(pool.pids) == sorted(o.result["pid"] for o in outcomes)


def test_more_invocations_than_environments_wait_for_a_free_one(pool: FunctionPool) -> None:
    outcomes = invoke_together(pool, [{"sleep": 0.3}] * 7)

    assert all(o.ok for o in outcomes)
    assert len({o.result["pid"] for o in outcomes}) <= 3
    status = pool.status()
    assert (status["environments"], status["max_environments"], status["invocations"]) == (3, 3, 7)
    assert status["restarts"] == 0


def test_stopping_the_pool_ends_every_environment(pool: FunctionPool) -> None:
    invoke_together(pool, [{"sleep": 0.3}] * 3)
    pids = pool.pids
    assert len(pids) == 3

    pool.stop()

    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left behind
    assert pool.invoke({}).status == "crashed"  # nothing starts once stopped
    assert pool.pids == []


def test_a_pool_needs_one_environment(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one"):
        make_pool(tmp_path, 0)


def test_warming_starts_the_whole_pool_before_any_invocation(pool: FunctionPool) -> None:
    assert pool.warm() == 3

    outcomes = invoke_together(pool, [{"sleep": 0.3}] * 3)

    assert len({o.result["pid"] for o in outcomes}) == 3
    assert pool.status()["environments"] == 3
    assert pool.restarts == 0
    assert pool.warm() == 3  # already full: nothing more starts


def test_the_warm_route_needs_the_control_token_and_answers_the_environments() -> None:
    from ticket_enhancer_dev.local.server import LocalApp
    from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

    warmed: list[bool] = []

    def warm() -> dict[str, Any]:
        warmed.append(True)
        return {"environments": {"JiraWebhookFunction": 4}}

    app = LocalApp([], VendorSandbox(), {}, lambda: {}, "token-for-tests", warm=warm)

    refused = app.handle("POST", "/_local/warm", [], b"", "127.0.0.1")
    answer = app.handle("POST", "/_local/warm", [("X-Local-Token", "token-for-tests")], b"", "127.0.0.1")

    assert refused.status == 401
    assert warmed == [True]
    assert (answer.status, answer.body) == (200, b'{"environments": {"JiraWebhookFunction": 4}}')


@pytest.mark.parametrize(("value", "size"), [(None, 4), ("", 4), ("1", 1), ("16", 16), (" 2 ", 2)])
def test_the_pool_size_comes_from_the_environment(value: str | None, size: int) -> None:
    from ticket_enhancer_dev.local.pool import pool_size_from

    assert pool_size_from({} if value is None else {"TICKET_ENHANCER_LOCAL_POOL": value}) == size


@pytest.mark.parametrize("value", ["0", "17", "-1", "two", "1.5"])
def test_a_bad_pool_size_is_one_line_exit_2_and_nothing_starts(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ticket_enhancer_dev.local.stack import run_up

    monkeypatch.setenv("TICKET_ENHANCER_LOCAL_POOL", value)

    assert run_up(port=0, root=tmp_path) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: TICKET_ENHANCER_LOCAL_POOL must be a whole number from 1 to 16")
    assert not (tmp_path / ".ticket-enhancer").exists()
