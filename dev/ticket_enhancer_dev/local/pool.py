"""A pool of execution environments per function, the way Lambda scales concurrent invocations.

Each environment is a ``FunctionProcess`` (one invocation at a time). An invocation takes an idle
environment (the most recently used: the warmest), or starts a new one (a cold start) while the pool
holds fewer than its size, or else waits for one to come free. The stack starts one environment per
function, so ``local up`` starts as fast as before; more are started only when invocations overlap.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ticket_enhancer_dev.local.functions import FunctionProcess, FunctionSpec, Outcome

# Environments per function on this machine (Lambda's own limit is the account's concurrency).
# Each one is a Python process of about 70 MB; 4 lets overlapping webhooks and batches of one tool
# run side by side without 40 processes competing for a laptop's cores.
DEFAULT_POOL_SIZE = 4
# Environments per function: DEFAULT_POOL_SIZE, or this variable (1 to MAX_POOL_SIZE).
POOL_SIZE_VARIABLE = "TICKET_ENHANCER_LOCAL_POOL"
MAX_POOL_SIZE = 16


def pool_size_from(environ: Mapping[str, str]) -> int:
    """``TICKET_ENHANCER_LOCAL_POOL`` (environments per function), or the default; ValueError when
    it is not a whole number from 1 to ``MAX_POOL_SIZE``."""
    raw = environ.get(POOL_SIZE_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_POOL_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_POOL_SIZE:
        raise ValueError(f"{POOL_SIZE_VARIABLE} must be a whole number from 1 to {MAX_POOL_SIZE}: {raw!r}")
    return int(raw)


class FunctionPool:
    def __init__(self, spec: FunctionSpec, size: int = DEFAULT_POOL_SIZE) -> None:
        if size < 1:
            raise ValueError("a function pool needs at least one environment")
        self.spec = spec
        self.size = size
        self._ready = threading.Condition()
        self._environments: list[FunctionProcess] = []
        self._idle: list[FunctionProcess] = []
        self._stopped = False

    # -- what the stack's status shows ----------------------------------------------------------------
    @property
    def environments(self) -> list[FunctionProcess]:
        with self._ready:
            return list(self._environments)

    @property
    def pid(self) -> int | None:
        """The first environment's process id (None when it is not running)."""
        environments = self.environments
        return environments[0].pid if environments else None

    @property
    def pids(self) -> list[int]:
        return [pid for env in self.environments if (pid := env.pid) is not None]

    @property
    def invocations(self) -> int:
        return sum(env.invocations for env in self.environments)

    @property
    def restarts(self) -> int:
        return sum(env.restarts for env in self.environments)

    def status(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "pid": self.pid,
            "pids": self.pids,
            "environments": len(self.environments),
            "max_environments": self.size,
            "invocations": self.invocations,
            "restarts": self.restarts,
        }

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> bool:
        """The first environment, warm (Lambda's init) before the stack says ready."""
        first = FunctionProcess(self.spec)
        with self._ready:
            if self._stopped:
                return False
            self._environments.append(first)
        started = first.start()
        with self._ready:
            self._idle.append(first)  # a failed init is retried by its first invocation
            self._ready.notify()
        return started

    def warm(self) -> int:
        """Start every environment the pool may hold (Lambda's provisioned concurrency), so that
        measurements see warm environments only; the number now running."""
        with self._ready:
            if self._stopped:
                return 0
            new = [FunctionProcess(self.spec) for _ in range(self.size - len(self._environments))]
            self._environments.extend(new)
        for env in new:  # one at a time: many imports at once would crowd out everything else
            env.start()
            with self._ready:
                self._idle.append(env)
                self._ready.notify()
        return len(self.pids)

    def _take(self) -> tuple[FunctionProcess | None, bool]:
        """An idle environment, or a new one (True: it needs starting); (None, False) once stopped."""
        with self._ready:
            while not self._stopped:
                if self._idle:
                    return self._idle.pop(), False
                if len(self._environments) < self.size:
                    env = FunctionProcess(self.spec)
                    self._environments.append(env)
                    return env, True
                self._ready.wait()
        return None, False

    def invoke(self, event: dict[str, Any]) -> Outcome:
        env, cold = self._take()
        if env is None:
            return Outcome("crashed", error="the function is stopped")
        try:
            if cold:
                env.start()  # a failed start: invoke() tries once more and reports it
            return env.invoke(event)
        finally:
            with self._ready:
                self._idle.append(env)
                self._ready.notify()

    def stop(self) -> None:
        """Every environment, the busy ones included (their invocations end as crashed)."""
        with self._ready:
            self._stopped = True
            environments = list(self._environments)
            self._ready.notify_all()
        with ThreadPoolExecutor(max_workers=len(environments) or 1) as pool:
            list(pool.map(FunctionProcess.stop, environments))
