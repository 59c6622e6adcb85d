"""`python -m ticket_enhancer` is the CLI (contract.md), which lives in the dev-only package
``ticket_enhancer_dev`` (dev/): ``shared/ticket_enhancer/__main__.py`` imports it when run."""

from __future__ import annotations

import importlib.abc
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ticket_enhancer.__main__ import main

REPO = Path(__file__).resolve().parents[2]
SECRET = "s" * 32


class NotInstalled(importlib.abc.MetaPathFinder):
    """Import finds no ``module`` (as where only the layer's package is installed)."""

    def __init__(self, module: str) -> None:
        self.module = module

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == self.module:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def _without(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    for name in [m for m in sys.modules if m.partition(".")[0] == "ticket_enhancer_dev"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [NotInstalled(module), *sys.meta_path])


def test_without_the_dev_package_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _without(monkeypatch, "ticket_enhancer_dev")
    assert main(["tenants", "list", "--local"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "ticket-enhancer: error: the CLI's package ticket_enhancer_dev (dev/) is not installed: "
        "run `make install` in a checkout of the repository"
    ]


def test_a_module_missing_inside_the_cli_is_raised_as_is_not_called_a_missing_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _without(monkeypatch, "ticket_enhancer_dev.cli.main")
    with pytest.raises(ModuleNotFoundError) as raised:
        main(["tenants", "list", "--local"])
    assert raised.value.name == "ticket_enhancer_dev.cli.main"


def test_python_m_runs_the_cli() -> None:
    """A real `python -m ticket_enhancer` with the repo's shared/ and dev/ on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TICKET_ENHANCER_"))}
    env["PYTHONPATH"] = os.pathsep.join(str(REPO / name) for name in ("shared", "dev"))
    done = subprocess.run(  # noqa: S603 # our own interpreter, fixed arguments, no shell
        [sys.executable, "-m", "ticket_enhancer", "sign", "jira", "--secret", SECRET],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    names = [line.split(":", 1)[0] for line in done.stdout.splitlines()]
    assert "X-Hub-Signature" in names


def test_the_console_script_and_python_m_are_the_same_cli() -> None:
    import tomllib

    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"ticket-enhancer": "ticket_enhancer_dev.cli.main:main"}
