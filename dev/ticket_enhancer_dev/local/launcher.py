"""Start `ticket-enhancer local up` as a subprocess: for `local demo`, the load test and tests.

The stack's output is drained into a log file by a thread for as long as it runs (an undrained
pipe would block it once full), and ``launch`` returns when the ``ready:`` line appears.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess  # nosec B404 # runs our own interpreter with a fixed argument list, never a shell
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ticket_enhancer_dev.local.guard import TOKEN_HEADER

STATE_FILE = Path(".ticket-enhancer") / "local.json"
LOG_FILE = Path(".ticket-enhancer") / "local-up.log"
# The project's own code: the layer's package (shared/) and the dev-only one (dev/: the CLI, this
# stack, the vendor sandbox). The stack and its functions' processes import from both.
CODE_DIRS = ("shared", "dev")
PROJECT_PARTS = ("template.yaml", "functions", *CODE_DIRS)


class LaunchError(RuntimeError):
    """`local up` exited or did not become ready in time; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def code_path(repo: Path) -> str:
    """A PYTHONPATH holding ``repo``'s own code (``CODE_DIRS``)."""
    return os.pathsep.join(str(repo / name) for name in CODE_DIRS)


def link_project(root: Path, repo: Path) -> Path:
    """A project root that links to ``repo``'s template, functions, shared and dev code, so that
    `local.json` and logs are written in ``root`` and never in the checkout."""
    for name in PROJECT_PARTS:
        (root / name).symlink_to(repo / name)
    return root


@dataclass
class Launched:
    proc: subprocess.Popen[str]
    root: Path
    port: int
    log: Path
    ready_line: str
    lines: list[str] = field(default_factory=list)  # everything it printed on stdout
    config: dict[str, Any] = field(default_factory=dict)  # its local.json, read once ready

    @property
    def control_headers(self) -> dict[str, str]:
        """What the control routes need (``/_local``; the sandbox's ``_reset``, ``_fail``, ``_tickets``,
        ``_delay``)."""
        return {TOKEN_HEADER: self.config["control_token"]}

    def client(self, service: str) -> Any:
        """A boto3 client on the stack's emulator (dummy credentials: it accepts any)."""
        import boto3

        config = self.config
        dummy = "testing"
        return boto3.session.Session().client(  # type: ignore[call-overload]
            service,
            endpoint_url=config["endpoint_url"],
            region_name=config["region"],
            aws_access_key_id=dummy,
            aws_secret_access_key=dummy,
        )

    def stop(self, timeout: float = 30.0) -> int | None:
        """Ctrl-C, as a user would; killed if it does not stop in time. Its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def launch(
    root: Path,
    *,
    port: int | None = None,
    time_scale: float | None = None,
    timeout: float = 90.0,
    env: Mapping[str, str] | None = None,
) -> Launched:
    """`python -m ticket_enhancer local up` in ``root``; returns once it printed ``ready:``."""
    chosen = port or free_port()
    command = [sys.executable, "-m", "ticket_enhancer", "local", "up", "--port", str(chosen)]
    if time_scale is not None:
        command += ["--time-scale", f"{time_scale:g}"]
    log = root / LOG_FILE
    log.parent.mkdir(parents=True, exist_ok=True)
    log_file = log.open("w", encoding="utf-8")
    proc = subprocess.Popen(  # noqa: S603 # nosec B603 # our own interpreter and CLI, no shell
        command,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=log_file,
        text=True,
        env=dict(os.environ if env is None else env),
    )
    ready = threading.Event()
    launched = Launched(proc, root, chosen, log, ready_line="")

    def drain(stream: IO[str]) -> None:
        for line in stream:
            launched.lines.append(line.rstrip("\n"))
            log_file.write(line)
            log_file.flush()
            if line.startswith("ready: ") and not ready.is_set():
                launched.ready_line = line.strip()
                ready.set()
        log_file.close()
        ready.set()  # it exited: stop waiting

    if proc.stdout is None:  # Popen(stdout=PIPE)
        raise LaunchError("`local up` has no stdout")
    threading.Thread(target=drain, args=(proc.stdout,), daemon=True).start()
    if not ready.wait(timeout) or not launched.ready_line:
        launched.stop(timeout=10)
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:] if log.exists() else ""
        raise LaunchError(f"`local up` did not become ready in {timeout:g} s:\n{tail}")
    launched.config = json.loads((root / STATE_FILE).read_text(encoding="utf-8"))
    return launched
