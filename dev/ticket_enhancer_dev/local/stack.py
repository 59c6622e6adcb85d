"""``ticket-enhancer local up``: run what ``template.yaml`` declares on this machine.

``run_up(port, time_scale, root)`` binds 127.0.0.1:PORT first (a port in use, or a second
``local up``, is one line on stderr and exit code 2), starts the emulator with the template's tables
and queues, a pool of execution environments per function (``pool``: one warm process at start, up
to ``DEFAULT_POOL_SIZE`` (4) or ``TICKET_ENHANCER_LOCAL_POOL`` as invocations overlap, as Lambda
scales; ``POST /_local/warm`` starts them all), the pollers of each worker (its
mapping's ``MaximumConcurrency``, at most the pool's size), then serves HTTP. It writes
``<root>/.ticket-enhancer/local.json`` (what ``--local`` reads), prints the URLs and
``ready: http://127.0.0.1:PORT``; SIGINT or SIGTERM stops everything and removes local.json.
local.json (mode 0600) holds the control token the control routes need (``guard``).

Time scale: the queues' visibility timeout and delay are divided by ``time_scale`` (default 60:
360 s -> 6 s), and so is Lambda's 20 s long poll (at least 1 s). The functions get the factor as
``TICKET_ENHANCER_TIME_SCALE``: a worker's deferral (a vendor's Retry-After) sets the message's
visibility to the wait divided by it, so Retry-After: 3600 holds a job 60 s locally, not an hour (and
the job record's ``deferred_until`` says so). Receive counts, retention, a job's maximum age
and function timeouts are kept as declared.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

from ticket_enhancer_dev.local import references
from ticket_enhancer_dev.local.emulator import (
    REGION,
    Emulator,
    Resources,
    create_resources,
    local_name,
    scaled,
)
from ticket_enhancer_dev.local.functions import FunctionSpec
from ticket_enhancer_dev.local.guard import new_token, write_private
from ticket_enhancer_dev.local.poller import LAMBDA_LONG_POLL, Poller
from ticket_enhancer_dev.local.pool import DEFAULT_POOL_SIZE, FunctionPool, pool_size_from
from ticket_enhancer_dev.local.server import Handler, LocalApp, LocalServer, Route
from ticket_enhancer_dev.local.template import Function, Template, TemplateError, load, resolve
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

DEFAULT_PORT = 3000
DEFAULT_TIME_SCALE = 60.0
LOCAL_JSON = Path(".ticket-enhancer") / "local.json"
HOST = "127.0.0.1"


class UsageError(Exception):
    """Bad input or a conflict: one line on stderr, exit code 2, nothing started."""


class LocalStack:
    def __init__(
        self,
        template: Template,
        root: Path,
        server: LocalServer,
        time_scale: float,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.template = template
        self.pool_size = pool_size
        self.root = root
        self.server = server
        self.time_scale = time_scale
        self.port = int(server.server_address[1])
        self.api_url = f"http://{HOST}:{self.port}"
        self.token = new_token()  # for the control routes; only local.json (0600) holds it
        self.emulator = Emulator()
        self.resources = Resources({}, {})
        self.processes: dict[str, FunctionPool] = {}
        self.pollers: dict[str, Poller] = {}
        self._serving: threading.Thread | None = None
        self._status_sqs: Any = None

    # -- template references, resolved to local resources (``references``) ---------------------
    def lookup(self, logical_id: str, attribute: str | None) -> str:
        return references.lookup(self.template, self.resources, logical_id, attribute)

    def function_env(self, function: Function) -> dict[str, str]:
        return references.function_env(
            function,
            self.lookup,
            endpoint_url=self.emulator.endpoint_url,
            time_scale=self.time_scale,
            root=self.root,
        )

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self.emulator.start()
        self.resources = create_resources(self.emulator, self.template, self.time_scale)
        for logical_id, function in self.template.functions.items():
            spec = FunctionSpec(
                logical_id=logical_id,
                name=local_name(logical_id),
                handler=function.handler,
                code_dir=function.code_dir,
                env=self.function_env(function),
                timeout=float(function.timeout),
            )
            self.processes[logical_id] = FunctionPool(spec, self.pool_size)
        # The ops functions (invoked by `tenants sync` / `preview`) start cold on their first
        # invocation, as on Lambda; the others start warm.
        cold = {f.logical_id for tool in self.tools() if (f := self.template.ops_function(tool))}
        warm = [pool for key, pool in self.processes.items() if key not in cold]
        with ThreadPoolExecutor(max_workers=len(warm) or 1) as pool:
            list(pool.map(FunctionPool.start, warm))
        wait_seconds = max(1, min(LAMBDA_LONG_POLL, round(LAMBDA_LONG_POLL / self.time_scale)))
        for tool in self.tools():
            worker = self.template.worker_function(tool)
            if worker is None or worker.sqs is None:
                continue
            self.pollers[tool] = Poller(
                tool=tool,
                function=self.processes[worker.logical_id],
                sqs=self.emulator.client("sqs"),
                queue=self.resources.queues[worker.sqs.queue],
                batch_size=worker.sqs.batch_size,
                report_failures=worker.sqs.report_failures,
                region=REGION,
                wait_seconds=wait_seconds,
                paused=not worker.sqs.enabled,
                concurrency=self.poller_concurrency(worker),
            )
            self.pollers[tool].start()
        routes = [
            Route(f.route.method, f.route.path, self.processes[f.logical_id])
            for f in self.template.functions.values()
            if f.route is not None
        ]
        self.server.app = LocalApp(
            routes, VendorSandbox(), self.pollers, self.status, self.token, warm=self.warm
        )
        self.server.app.functions = {process.spec.name: process for process in self.processes.values()}
        self._serving = threading.Thread(target=self.server.serve_forever, name="http", daemon=True)
        self._serving.start()

    def stop(self) -> None:
        if self._serving is not None:
            self.server.shutdown()
        self.server.server_close()
        for poller in self.pollers.values():
            poller.pause()  # received batches are handed back, nothing new starts
        with ThreadPoolExecutor(max_workers=len(self.processes) or 1) as pool:
            list(pool.map(FunctionPool.stop, self.processes.values()))
        for poller in self.pollers.values():
            poller.stop()
        self.emulator.stop()

    def warm(self) -> dict[str, Any]:
        """Every function's whole pool started (two functions at a time); environments per function."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            counts = list(pool.map(FunctionPool.warm, self.processes.values()))
        return {"environments": dict(zip(self.processes, counts, strict=True))}

    def poller_concurrency(self, worker: Function) -> int:
        """Concurrent batches of a worker: its mapping's MaximumConcurrency, at most its pool's size."""
        declared = worker.sqs.max_concurrency if worker.sqs else None
        pool = self.processes[worker.logical_id].size
        if declared is None:
            return pool
        try:
            return max(1, min(pool, int(resolve(declared, self.lookup))))
        except (TemplateError, ValueError):
            return pool

    # -- what users and the CLI see ----------------------------------------------------------------
    def tools(self) -> list[str]:
        found = {f.tool for f in self.template.functions.values() if f.tool}
        return [t for t in self.template.tools if t in found] + sorted(found - set(self.template.tools))

    def tool_info(self, tool: str) -> dict[str, Any]:
        webhook, worker = self.template.webhook_function(tool), self.template.worker_function(tool)
        ops = self.template.ops_function(tool)
        queue = self.template.queues.get(worker.sqs.queue) if worker and worker.sqs else None
        queues = self.resources.queues
        return {
            "webhook_url": self.api_url + webhook.route.path if webhook and webhook.route else None,
            "queue_url": queues[queue.logical_id].url if queue else None,
            "dlq_url": queues[queue.dlq].url if queue and queue.dlq else None,
            "webhook_function": local_name(webhook.logical_id) if webhook else None,
            "worker_function": local_name(worker.logical_id) if worker else None,
            "ops_function": local_name(ops.logical_id) if ops else None,
        }

    def local_json(self) -> dict[str, Any]:
        return {
            "endpoint_url": self.emulator.endpoint_url,
            "region": REGION,
            "api_url": self.api_url,
            "port": self.port,
            "pid": os.getpid(),
            "time_scale": self.time_scale,
            "tables": dict(self.resources.tables),
            "buckets": dict(self.resources.buckets),
            "tools": {tool: self.tool_info(tool) for tool in self.tools()},
            "sandbox_url": f"{self.api_url}/_sandbox",
            "control_url": f"{self.api_url}/_local",
            "control_token": self.token,
        }

    def status(self) -> dict[str, Any]:
        sqs = self._status_sqs = self._status_sqs or self.emulator.client("sqs")

        def depth(url: str | None) -> dict[str, int] | None:
            if not url:
                return None
            try:
                names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
                attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
            except Exception:  # the emulator is stopping
                return None
            return {"visible": int(attrs[names[0]]), "in_flight": int(attrs[names[1]])}

        infos = {tool: self.tool_info(tool) for tool in self.tools()}
        return {
            "paused": sorted(tool for tool, poller in self.pollers.items() if poller.paused),
            "queues": {
                tool: {"queue": depth(info["queue_url"]), "dlq": depth(info["dlq_url"])}
                for tool, info in infos.items()
            },
            "functions": {logical_id: pool.status() for logical_id, pool in self.processes.items()},
        }

    def announce(self) -> None:
        print(f"emulator: {self.emulator.endpoint_url} (region {REGION})")
        for tool in self.tools():
            print(f"webhook {tool}: {self.tool_info(tool)['webhook_url']}")
        print(f"sandbox: {self.api_url}/_sandbox   control: {self.api_url}/_local")
        declared = {
            q.attributes["VisibilityTimeout"]
            for q in self.template.queues.values()
            if "VisibilityTimeout" in q.attributes
        }
        timings = ", ".join(
            f"visibility timeout {v} s -> {scaled(v, self.time_scale)} s" for v in sorted(declared)
        )
        print(f"time scale: {self.time_scale:g} ({timings or 'no queue timings'})")


# -- run_up ----------------------------------------------------------------------------------------
def _bind(port: int) -> LocalServer:
    try:
        return LocalServer((HOST, port), Handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"port {port} is already in use (is `ticket-enhancer local up` already running?)"
            ) from None
        raise UsageError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None


def _running(state_file: Path) -> dict[str, Any] | None:
    """The local.json of another live ``local up``, if there is one."""
    try:
        data = json.loads(state_file.read_text(encoding="utf-8"))
        pid = int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return dict(data)


def _write_state(state_file: Path, data: dict[str, Any]) -> None:
    write_private(state_file, json.dumps(data, indent=2) + "\n")  # mode 0600: it holds the token


def _remove_state(state_file: Path) -> None:
    if _running(state_file) is None:  # ours (or stale): never remove another stack's file
        with contextlib.suppress(FileNotFoundError):
            state_file.unlink()
        with contextlib.suppress(OSError):
            state_file.parent.rmdir()  # only when empty


def _on_signals(stop: threading.Event) -> dict[int, Any]:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, handler)
    return previous


def _prepare(port: int, time_scale: float, root: Path) -> tuple[LocalServer, Template]:
    try:
        pool_size_from(os.environ)  # bad input: nothing starts
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not time_scale > 0:
        raise UsageError(f"--time-scale must be a positive number, not {time_scale:g}")
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {port}")
    server = _bind(port)  # first: nothing else starts when the port is taken
    try:
        other = _running(root / LOCAL_JSON)
        if other is not None:
            raise UsageError(f"a local stack is already running (pid {other['pid']}, {other.get('api_url')})")
        template = load(root)
    except (UsageError, TemplateError) as exc:
        server.server_close()
        raise UsageError(str(exc)) from None
    return server, template


def run_up(port: int = DEFAULT_PORT, time_scale: float = DEFAULT_TIME_SCALE, root: Path | None = None) -> int:
    """Run the local stack until SIGINT or SIGTERM; the process exit code."""
    root = (root or Path.cwd()).resolve()
    try:
        server, template = _prepare(port, time_scale, root)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state_file = root / LOCAL_JSON
    stop = threading.Event()
    previous = _on_signals(stop)
    stack = LocalStack(template, root, server, time_scale, pool_size_from(os.environ))
    try:
        stack.start()
        _write_state(state_file, stack.local_json())
        stack.announce()
        print(f"wrote {state_file}")
        print(f"ready: {stack.api_url}", flush=True)
        while not stop.wait(0.5):
            pass
        print("stopping", flush=True)
        return 0
    except KeyboardInterrupt:
        return 0
    except Exception as exc:
        print(f"error: the local stack failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
        _remove_state(state_file)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
