"""Function processes: one warm ``function_host`` per template function, restarted when it dies.

Like a Lambda execution environment, a process handles one invocation at a time; an invocation
that outlives the function's timeout kills the process (the next one starts cold).
"""

from __future__ import annotations

import json
import queue
import subprocess  # nosec B404 # runs our own interpreter with a fixed argument list, never a shell
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

INIT_TIMEOUT = 30.0  # generous: ten processes import pydantic, boto3 and Powertools at once
STOP_GRACE = 3.0

Reply = dict[str, Any] | None  # None: the process closed its stdout (it died)


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str  # the local function name (AWS_LAMBDA_FUNCTION_NAME)
    handler: str  # module.attribute
    code_dir: Path
    env: dict[str, str]
    timeout: float


@dataclass(frozen=True)
class Outcome:
    status: Literal["ok", "error", "crashed", "timeout"]
    result: Any = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _read_replies(stream: IO[str], replies: queue.Queue[Reply]) -> None:
    for line in stream:
        try:
            replies.put(json.loads(line))
        except ValueError:
            continue
    replies.put(None)


def _pump_logs(stream: IO[str], prefix: str) -> None:
    for line in stream:
        sys.stderr.write(f"{prefix} {line}" if line.endswith("\n") else f"{prefix} {line}\n")


class FunctionProcess:
    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.invocations = 0
        self.restarts = 0
        self._lock = threading.Lock()  # one invocation at a time
        self._state = threading.Lock()  # guards _proc and _stopped against stop()
        self._stopped = False
        self._proc: subprocess.Popen[str] | None = None
        self._replies: queue.Queue[Reply] = queue.Queue()

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> bool:
        with self._lock:
            return self._spawn()

    def _spawn(self) -> bool:
        if self._stopped:
            return False
        proc = subprocess.Popen(  # noqa: S603 # nosec B603 # our own interpreter and module, no shell
            [sys.executable, "-m", "ticket_enhancer_dev.local.function_host", self.spec.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.spec.env,
            cwd=self.spec.code_dir,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        if proc.stdout is None or proc.stderr is None:  # Popen(stdout=PIPE, stderr=PIPE)
            raise RuntimeError("the function process has no pipes")
        replies: queue.Queue[Reply] = queue.Queue()
        threading.Thread(target=_read_replies, args=(proc.stdout, replies), daemon=True).start()
        threading.Thread(
            target=_pump_logs, args=(proc.stderr, f"[{self.spec.logical_id}]"), daemon=True
        ).start()
        try:
            first = replies.get(timeout=INIT_TIMEOUT)
        except queue.Empty:
            first = None
        if not first or not first.get("ready"):
            _end(proc)
            sys.stderr.write(f"[{self.spec.logical_id}] init failed: {(first or {}).get('init_error')}\n")
            self._proc = None
            return False
        with self._state:
            if self._stopped:
                _end(proc)
                return False
            self._proc, self._replies = proc, replies
        return True

    def _restart(self, *, kill: bool = False) -> bool:
        if self._proc is not None:
            _end(self._proc, graceful=not kill)
        self.restarts += 1
        return self._spawn()

    def invoke(self, event: dict[str, Any]) -> Outcome:
        """Run the handler on ``event``; a dead process is restarted (and this call reports it)."""
        with self._lock:
            self.invocations += 1
            if (self._proc is None or self._proc.poll() is not None) and not self._restart():
                return Outcome("crashed", error="the function failed to initialise")
            proc = self._proc
            if proc is None or proc.stdin is None:  # _restart() succeeded: both are set
                return Outcome("crashed", error="the function process is gone")
            request = {
                "event": event,
                "request_id": str(uuid.uuid4()),
                "deadline_ms": int((time.time() + self.spec.timeout) * 1000),
            }
            try:
                proc.stdin.write(json.dumps(request) + "\n")
                proc.stdin.flush()
                reply = self._replies.get(timeout=self.spec.timeout)
            except OSError:
                reply = None
            except queue.Empty:
                self._restart(kill=True)  # Lambda ends a timed-out environment
                return Outcome("timeout", error=f"timed out after {self.spec.timeout:g} s")
            if reply is None:
                self._restart()
                return Outcome("crashed", error="the function process died")
            if "error" in reply:
                return Outcome("error", error=str(reply["error"].get("errorMessage", "")))
            return Outcome("ok", result=reply.get("result"))

    def stop(self) -> None:
        with self._state:
            self._stopped = True
            proc, self._proc = self._proc, None
        if proc is not None:
            _end(proc)


def _end(proc: subprocess.Popen[str], *, graceful: bool = True) -> None:
    """EOF first (the host exits by itself), then SIGTERM, then SIGKILL."""
    if not graceful:
        proc.kill()
    try:
        if proc.stdin is not None:
            proc.stdin.close()
    except OSError:
        pass
    for step in (None, proc.terminate, proc.kill):
        if step is not None:
            step()
        try:
            proc.wait(timeout=STOP_GRACE)
            return
        except subprocess.TimeoutExpired:
            continue
