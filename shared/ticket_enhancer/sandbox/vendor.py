"""``VendorSandbox``: fetch a ticket, list its notes, add an internal note, per tool.

Served under ``/_sandbox/{tool}`` by the local stack, or used in-process as an httpx transport.
Faults can be scheduled (``fail_next``) to show retries and the DLQ.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from ticket_enhancer.sandbox.tickets import SEED_TICKETS

PREFIX = re.compile(r"^/_sandbox/(?P<tool>[a-z_]+)(?P<path>/.*)$")


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    headers: dict[str, str]


@dataclass
class SandboxState:
    tickets: dict[str, dict[str, dict[str, Any]]]
    notes: dict[str, dict[str, list[dict[str, Any]]]]
    faults: dict[str, list[Answer]]
    requests: list[dict[str, Any]]


class VendorSandbox:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.state = SandboxState(
                tickets={
                    tool: {str(t.get("sys_id") or t["id"]): copy.deepcopy(t)}
                    for tool, t in SEED_TICKETS.items()
                },
                notes={tool: {} for tool in SEED_TICKETS},
                faults={tool: [] for tool in SEED_TICKETS},
                requests=[],
            )

    def fail_next(self, tool: str, status: int, count: int = 1, retry_after: int | None = None) -> None:
        """The next ``count`` calls to ``tool`` answer ``status``."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self.state.faults[tool].extend(
                Answer(status, {"error": "sandbox fault"}, headers) for _ in range(count)
            )

    def notes(self, tool: str, ticket_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            by_ticket = self.state.notes.get(tool, {})
            if ticket_id is not None:
                return list(by_ticket.get(ticket_id, []))
            return [n for notes in by_ticket.values() for n in notes]

    def note_counts(self, tool: str) -> dict[str, int]:
        """How many notes each ticket of ``tool`` has (tickets without notes are left out)."""
        with self._lock:
            return {ticket_id: len(notes) for ticket_id, notes in self.state.notes.get(tool, {}).items()}

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "tickets": self.state.tickets,
                "notes": self.state.notes,
                "requests": self.state.requests[-200:],
            }

    # -- HTTP ----------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Answer:
        match = PREFIX.match(path)
        if not match or match["tool"] not in SEED_TICKETS:
            return Answer(404, {"error": "unknown sandbox path"})
        tool, rest = match["tool"], match["path"]
        with self._lock:
            self.state.requests.append({"tool": tool, "method": method, "path": rest, "query": query})
            if method == "GET" and rest == "/":
                return Answer(200, {"tickets": self.state.tickets[tool], "notes": self.state.notes[tool]})
            if self.state.faults[tool]:
                return self.state.faults[tool].pop(0)
            lowered = {k.lower(): v for k, v in headers.items()}
            return _ROUTES[tool](self.state, Call(method, rest, parse_qs(query), body, lowered))

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            answer = self.handle(
                request.method,
                request.url.path,
                request.url.query.decode(),
                dict(request.headers),
                request.content,
            )
            return httpx.Response(answer.status, json=answer.body, headers=answer.headers)

        return httpx.MockTransport(handler)

    def async_transport(self, delay: float = 0.0) -> httpx.MockTransport:
        """For ``httpx.AsyncClient``: every answer comes after ``delay`` seconds (a slow vendor)."""

        async def handler(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(delay)
            body = await request.aread()
            answer = self.handle(
                request.method, request.url.path, request.url.query.decode(), dict(request.headers), body
            )
            return httpx.Response(answer.status, json=answer.body, headers=answer.headers)

        return httpx.MockTransport(handler)

    def add_ticket(self, tool: str, ticket_id: str) -> None:
        """A copy of the tool's seed ticket under another id."""
        seed = copy.deepcopy(SEED_TICKETS[tool])
        seed["sys_id" if tool == "servicenow" else "id"] = ticket_id
        if tool == "jira":
            seed["key"] = f"IT-{ticket_id}"
        with self._lock:
            self.state.tickets[tool][ticket_id] = seed


def _add_note(state: SandboxState, tool: str, ticket_id: str, note: dict[str, Any]) -> int:
    notes = state.notes[tool].setdefault(ticket_id, [])
    note["id"] = len(notes) + 1
    notes.append(note)
    return int(note["id"])


def _jira(state: SandboxState, call: Call) -> Answer:
    method, path, body = call.method, call.path, call.body
    m = re.fullmatch(r"/rest/api/3/issue/([^/]+)(/comment)?", path)
    ticket = _find(state, "jira", m[1]) if m else None
    if not m or ticket is None:
        return Answer(404, {"errorMessages": ["Issue does not exist"]})
    key = str(ticket["id"])
    if m[2] and method == "POST":
        data = json.loads(body)
        note = {"body": data["body"], "properties": data.get("properties", [])}
        return Answer(201, {"id": str(_add_note(state, "jira", key, note))})
    if m[2] and method == "GET":
        return Answer(200, {"comments": state.notes["jira"].get(key, []), "startAt": 0})
    return Answer(200, ticket) if method == "GET" else Answer(405)


def _zendesk(state: SandboxState, call: Call) -> Answer:
    method, path, body = call.method, call.path, call.body
    m = re.fullmatch(r"/api/v2/tickets/([^/]+)(/comments)?", path)
    ticket = _find(state, "zendesk", m[1]) if m else None
    if not m or ticket is None:
        return Answer(404, {"error": "RecordNotFound"})
    key = str(ticket["id"])
    if m[2]:
        return Answer(200, {"comments": state.notes["zendesk"].get(key, [])})
    if method == "PUT":
        comment = json.loads(body)["ticket"]["comment"]
        _add_note(state, "zendesk", key, {"html_body": comment["html_body"], "public": comment["public"]})
        return Answer(200, {"ticket": ticket})
    return Answer(200, {"ticket": ticket}) if method == "GET" else Answer(405)


def _servicenow(state: SandboxState, call: Call) -> Answer:
    method, path, query, body = call.method, call.path, call.query, call.body
    if path == "/api/now/table/sys_journal_field":
        sys_id = re.search(r"element_id=([^^]+)", query.get("sysparm_query", [""])[0])
        notes = state.notes["servicenow"].get(sys_id[1], []) if sys_id else []
        return Answer(200, {"result": [{"value": n["value"]} for n in notes]})
    m = re.fullmatch(r"/api/now/table/incident/([^/]+)", path)
    ticket = _find(state, "servicenow", m[1]) if m else None
    if not m or ticket is None:
        return Answer(404, {"error": {"message": "No Record found"}})
    if method == "PATCH":
        _add_note(state, "servicenow", str(ticket["sys_id"]), {"value": json.loads(body)["work_notes"]})
        return Answer(200, {"result": ticket})
    return Answer(200, {"result": ticket}) if method == "GET" else Answer(405)


def _freshservice(state: SandboxState, call: Call) -> Answer:
    method, path, body = call.method, call.path, call.body
    m = re.fullmatch(r"/api/v2/tickets/([^/]+)(/notes|/conversations)?", path)
    ticket = _find(state, "freshservice", m[1]) if m else None
    if not m or ticket is None:
        return Answer(404, {"message": "ticket not found"})
    key = str(ticket["id"])
    if m[2] == "/notes" and method == "POST":
        data = json.loads(body)
        return Answer(201, {"conversation": {"id": _add_note(state, "freshservice", key, dict(data))}})
    if m[2] == "/conversations":
        return Answer(200, {"conversations": state.notes["freshservice"].get(key, [])})
    return Answer(200, {"ticket": ticket}) if method == "GET" else Answer(405)


def _servicedesk_plus(state: SandboxState, call: Call) -> Answer:
    method, path, body = call.method, call.path, call.body
    ok = {"status_code": 2000, "status": "success"}
    m = re.fullmatch(r"/api/v3/requests/([^/]+)(/notes)?", path)
    ticket = _find(state, "servicedesk_plus", m[1]) if m else None
    if not m or ticket is None:
        return Answer(404, {"response_status": {"status_code": 4000, "status": "failed"}})
    key = str(ticket["id"])
    if m[2] and method == "POST":
        # Cloud (Zoho OAuth) wraps the note in "request_note", on-prem (authtoken) in "note".
        wrapper = "note" if "authtoken" in call.headers else "request_note"
        data = json.loads(parse_qs(body.decode())["input_data"][0])
        if set(data) != {wrapper}:
            failed = {
                "status_code": 4000,
                "status": "failed",
                "messages": [{"message": f"expected {wrapper}"}],
            }
            return Answer(400, {"response_status": failed})
        return Answer(
            201,
            {
                wrapper: {"id": _add_note(state, "servicedesk_plus", key, data[wrapper])},
                "response_status": ok,
            },
        )
    if m[2]:
        return Answer(200, {"notes": state.notes["servicedesk_plus"].get(key, []), "response_status": [ok]})
    return Answer(200, {"request": ticket, "response_status": ok}) if method == "GET" else Answer(405)


def _find(state: SandboxState, tool: str, ticket_id: str) -> dict[str, Any] | None:
    tickets = state.tickets[tool]
    if ticket_id in tickets:
        return tickets[ticket_id]
    return next((t for t in tickets.values() if str(t.get("key") or t.get("number")) == ticket_id), None)


_ROUTES = {
    "jira": _jira,
    "zendesk": _zendesk,
    "servicenow": _servicenow,
    "freshservice": _freshservice,
    "servicedesk_plus": _servicedesk_plus,
}
