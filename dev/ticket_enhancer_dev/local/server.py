"""The local stack's HTTP server on 127.0.0.1:P (a ``ThreadingHTTPServer``).

- the template's HTTP API routes, each invoking its function's process with a payload 2.0 event;
- ``/_sandbox/{tool}/...``: the vendor sandbox (``GET /_sandbox/{tool}/`` shows tickets and notes),
  ``POST /_sandbox/{tool}/_fail`` ``{"status": 500, "count": 3, "retry_after": null}``,
  ``POST /_sandbox/{tool}/_tickets`` ``{"ticket_ids": ["500001", ...], "fields": {...}}`` (copies of
  the seed ticket under new ids, for load tests; optional top-level string ``fields`` replaced),
  ``POST /_sandbox/{tool}/_delay`` ``{"seconds": 0.2}`` (every vendor API call of that tool answers
  that much later: a slow vendor; 0 ends it),
  ``GET /_sandbox/{tool}/_notes[?since=<cursor>]`` (the number of notes per ticket, and a
  ``cursor``: given back, only the tickets whose notes changed since), ``POST /_sandbox/_reset``,
  ``POST /_sandbox/_llm/v1/chat/completions`` (the sandbox model, ``sandbox/llm.py``);
- ``/_local``: ``POST /_local/pause/{tool}``, ``POST /_local/resume/{tool}``, ``GET /_local/status``,
  ``POST /_local/invoke/{function name}`` (Lambda's Invoke: the JSON body is the event;
  ``X-Invocation-Type: Event`` answers 202 at once and runs it in the background, otherwise the
  answer is the function's result, or 502 with its error). The CLI's ``tenants sync`` and
  ``preview`` invoke the ops functions this way; ``POST /_local/warm`` (starts every function's
  whole pool of environments, like provisioned concurrency, before a measurement; answers once they
  are up).

Every request needs a loopback ``Host`` (421 otherwise); the control routes, which steer the stack
(all of ``/_local`` and the sandbox's ``_reset``, ``_fail``, ``_tickets`` and ``_delay``), also need
the token of ``local.json`` in ``X-Local-Token`` (401 otherwise). The sandbox's views
(``GET /_sandbox/{tool}/``, ``_notes``) and its vendor APIs do not: the functions call those as a
vendor. See ``guard``.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ticket_enhancer_dev.local.guard import (
    MISDIRECTED,
    NO_TOKEN,
    TOKEN_HEADER,
    WRONG_HOST,
    host_allowed,
    loopback_hosts,
    read_chunked,
    token_matches,
)
from ticket_enhancer_dev.local.http_api import (
    Reply,
    http_api_event,
    http_api_reply,
    json_reply,
    route_pattern,
)
from ticket_enhancer_dev.local.poller import Invocable, Poller
from ticket_enhancer_dev.sandbox import llm
from ticket_enhancer_dev.sandbox.vendor import VendorSandbox

FAIL_PATH = re.compile(r"/_sandbox/(?P<tool>[a-z_]+)/_fail")
TICKETS_PATH = re.compile(r"/_sandbox/(?P<tool>[a-z_]+)/_tickets")
NOTES_PATH = re.compile(r"/_sandbox/(?P<tool>[a-z_]+)/_notes")
DELAY_PATH = re.compile(r"/_sandbox/(?P<tool>[a-z_]+)/_delay")
MAX_DELAY_SECONDS = 30.0
# The ticket ids the plugins accept (plugins.base.TICKET_ID_RE).
SANDBOX_TICKET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
MAX_NEW_TICKETS = 10_000  # per request
CONTROL_PATH = re.compile(r"/_local/(?P<action>pause|resume)/(?P<tool>[a-z_]+)")
INVOKE_PATH = re.compile(r"/_local/invoke/(?P<name>[A-Za-z0-9_.-]{1,140})")
QUIET_PATH = re.compile(r"/_local/status|/_sandbox/[a-z_]+/(_notes)?")
# Routes that steer the stack: they need the control token (every method, so none falls through).
CONTROL_ROUTE = re.compile(r"/_local/.*|/_sandbox/_reset|/_sandbox/[a-z_]+/_(fail|tickets|delay)")
NOT_FOUND = {"message": "Not Found"}
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: Invocable  # the route's function pool

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        found = route_pattern(self.path).fullmatch(path)
        if found is None or self.method not in (method, "ANY"):
            return None
        return found.groupdict()


@dataclass
class LocalApp:
    routes: list[Route]
    sandbox: VendorSandbox
    pollers: dict[str, Poller]
    status: Callable[[], dict[str, Any]]
    token: str  # local.json's control token
    delays: dict[str, float] = field(default_factory=dict)  # tool -> seconds before each vendor answer
    warm: Callable[[], dict[str, Any]] | None = None  # POST /_local/warm
    functions: dict[str, Invocable] = field(default_factory=dict)  # local name -> its pool

    def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, client_ip: str
    ) -> Reply:
        parts = urlsplit(target)
        token = TOKEN_HEADER.lower()
        if CONTROL_ROUTE.fullmatch(parts.path):
            presented = [value for name, value in headers if name.lower() == token]
            if len(presented) != 1 or not token_matches(presented[0], self.token):
                return json_reply(401, NO_TOKEN)
        headers = [(name, value) for name, value in headers if name.lower() != token]  # it goes no further
        if parts.path.startswith("/_sandbox/"):
            return self.sandbox_request(method, parts.path, parts.query, headers, body)
        if parts.path.startswith("/_local/"):
            invoked = INVOKE_PATH.fullmatch(parts.path)
            if invoked and method == "POST":
                return self.invoke(invoked["name"], headers, body)
            return self.control(method, parts.path)
        for route in self.routes:
            params = route.match(method, parts.path)
            if params is not None:
                event = http_api_event(
                    route_key=route.key,
                    method=method,
                    raw_path=parts.path,
                    raw_query=parts.query,
                    headers=headers,
                    body=body,
                    path_parameters=params,
                    source_ip=client_ip,
                )
                outcome = route.function.invoke(event)
                return http_api_reply(outcome, event["requestContext"]["requestId"])
        return json_reply(404, NOT_FOUND)

    def sandbox_request(
        self, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes
    ) -> Reply:
        if path == "/_sandbox/_reset" and method == "POST":
            self.sandbox.reset()
            self.delays.clear()
            return json_reply(200, {"status": "reset"})
        steering = (
            (FAIL_PATH, self._schedule_fault),
            (TICKETS_PATH, self._add_tickets),
            (DELAY_PATH, self._set_delay),
        )
        for pattern, steer in steering:
            found = pattern.fullmatch(path)
            if found and method == "POST":
                return steer(found["tool"], body)
        notes = NOTES_PATH.fullmatch(path)
        if notes and method == "GET":
            if notes["tool"] not in self.sandbox.state.faults:
                return json_reply(404, {"error": f"unknown tool {notes['tool']!r}"})
            since = parse_qs(query).get("since", [""])[0]
            counts, cursor = self.sandbox.note_counts(notes["tool"], since)
            return json_reply(200, {"tool": notes["tool"], "notes": counts, "cursor": cursor})
        if path == llm.PATH and method == "POST":  # the sandbox model (no key, like a local server)
            try:
                status, answer_body = llm.complete(json.loads(body or b"{}"))
            except (ValueError, AttributeError):
                status, answer_body = 400, {"error": {"message": "a JSON chat completion request"}}
            return json_reply(status, answer_body)
        tool = path.split("/")[2]
        if self.delays.get(tool):  # a slow vendor: this request's server thread waits, no other
            time.sleep(self.delays[tool])
        answer = self.sandbox.handle(method, path, query, dict(headers), body)
        return json_reply(answer.status, answer.body, answer.headers)

    def _set_delay(self, tool: str, body: bytes) -> Reply:
        if tool not in self.sandbox.state.faults:
            return json_reply(404, {"error": f"unknown tool {tool!r}"})
        try:
            seconds = json.loads(body or b"{}").get("seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise ValueError
            if not 0 <= seconds <= MAX_DELAY_SECONDS:
                raise ValueError
        except (ValueError, AttributeError):
            return json_reply(400, {"error": f'expected {{"seconds": 0 to {MAX_DELAY_SECONDS:g}}}'})
        self.delays[tool] = float(seconds)
        return json_reply(200, {"tool": tool, "delay_seconds": float(seconds)})

    def _schedule_fault(self, tool: str, body: bytes) -> Reply:
        if tool not in self.sandbox.state.faults:
            return json_reply(404, {"error": f"unknown tool {tool!r}"})
        try:
            spec = json.loads(body or b"{}")
            status, count, retry_after = (
                spec.get("status", 500),
                spec.get("count", 1),
                spec.get("retry_after"),
            )
            valid = all(isinstance(v, int) for v in (status, count)) and 100 <= status <= 599 and count >= 1
            if not valid or not (retry_after is None or isinstance(retry_after, int)):
                raise ValueError
        except (ValueError, AttributeError):
            return json_reply(
                400, {"error": 'expected {"status": 100-599, "count": >=1, "retry_after": int|null}'}
            )
        self.sandbox.fail_next(tool, status, count, retry_after)
        return json_reply(200, {"tool": tool, "status": status, "count": count, "retry_after": retry_after})

    def _add_tickets(self, tool: str, body: bytes) -> Reply:
        """Copies of the tool's seed ticket under new ids (``VendorSandbox.add_ticket``)."""
        if tool not in self.sandbox.state.faults:
            return json_reply(404, {"error": f"unknown tool {tool!r}"})
        try:
            request = json.loads(body or b"{}")
            ids, fields = request.get("ticket_ids"), request.get("fields", {})
            valid = (
                isinstance(ids, list)
                and 0 < len(ids) <= MAX_NEW_TICKETS
                and all(isinstance(i, str) and SANDBOX_TICKET_ID.fullmatch(i) for i in ids)
                and isinstance(fields, dict)
                and all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
            )
            if not valid:
                raise ValueError
        except (ValueError, AttributeError):
            return json_reply(
                400, {"error": f'expected {{"ticket_ids": [1 to {MAX_NEW_TICKETS} ticket ids]}}'}
            )
        for ticket_id in ids:
            self.sandbox.add_ticket(tool, ticket_id, fields)
        return json_reply(200, {"tool": tool, "added": len(ids)})

    def invoke(self, name: str, headers: list[tuple[str, str]], body: bytes) -> Reply:
        """Lambda's Invoke on a local function: ``RequestResponse`` (default) or ``Event``."""
        process = self.functions.get(name)
        if process is None:
            return json_reply(404, {"error": f"unknown function {name!r}"})
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            return json_reply(400, {"error": "the event must be JSON"})
        kind = next((v for k, v in headers if k.lower() == "x-invocation-type"), "RequestResponse")
        if kind == "Event":
            threading.Thread(target=process.invoke, args=(event,), name=f"invoke-{name}", daemon=True).start()
            return json_reply(202, {"status": "queued"})
        outcome = process.invoke(event)
        if not outcome.ok:
            return json_reply(502, {"error": f"{outcome.status}: {outcome.error}"[:500]})
        return json_reply(200, outcome.result)

    def control(self, method: str, path: str) -> Reply:
        if path == "/_local/status" and method == "GET":
            return json_reply(200, self.status())
        if path == "/_local/warm" and method == "POST" and self.warm is not None:
            return json_reply(200, self.warm())
        action = CONTROL_PATH.fullmatch(path)
        if action is None or method != "POST":
            return json_reply(404, NOT_FOUND)
        poller = self.pollers.get(action["tool"])
        if poller is None:
            known = ", ".join(sorted(self.pollers))
            return json_reply(404, {"error": f"unknown tool {action['tool']!r}; known: {known}"})
        if action["action"] == "pause":
            poller.pause()
        else:
            poller.resume()
        return json_reply(200, {"tool": poller.tool, "paused": poller.paused})


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    app: LocalApp | None = None

    @cached_property
    def allowed_hosts(self) -> frozenset[str]:
        return loopback_hosts(int(self.server_address[1]))


class Handler(BaseHTTPRequestHandler):
    server: LocalServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm holds the body
    # until the client's delayed ACK (~40 ms) on a keep-alive connection.
    disable_nagle_algorithm = True

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return read_chunked(self.rfile, MAX_BODY_BYTES)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise OverflowError
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        if not host_allowed(self.headers.get_all("Host", []), self.server.allowed_hosts):
            self.close_connection = True  # the body is left unread
            self._send(json_reply(MISDIRECTED, WRONG_HOST))
            return
        try:
            body = self._body()
        except (ValueError, OverflowError) as exc:
            self.close_connection = True  # the rest of the body is still unread
            too_large = isinstance(exc, OverflowError)
            message = "Request Entity Too Large" if too_large else "Bad Request"
            self._send(json_reply(413 if too_large else 400, {"message": message}))
            return
        app = self.server.app
        if app is None:
            reply = json_reply(503, {"message": "Service Unavailable"})
        else:
            reply = app.handle(
                self.command, self.path, list(self.headers.items()), body, self.client_address[0]
            )
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers:
            if name.lower() not in ("content-length", "connection", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:  # say so: a client reusing the connection would meet a closed socket
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.command == "GET" and QUIET_PATH.fullmatch(self.path):
            return  # inspection polls would drown the log
        sys.stderr.write(f"[http] {self.command} {self.path} -> {code}\n")

    def log_error(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"[http] {format % args}\n")
