"""``VendorSandbox``: fetch a ticket, list its notes, add an internal note, per tool.

Served under ``/_sandbox/{tool}`` by the local stack, or used in-process as an httpx transport.
Faults can be scheduled (``fail_next``) to show retries and the DLQ.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx

from ticket_enhancer_dev.sandbox import tools
from ticket_enhancer_dev.sandbox.model import Answer, Call, SandboxTool
from ticket_enhancer_dev.sandbox.zoho import ZohoAccounts

__all__ = ["Answer", "Call", "SandboxState", "VendorSandbox"]

PREFIX = re.compile(r"^/_sandbox/(?P<tool>[a-z_]+)(?P<path>/.*)$")
CURSOR = re.compile(r"(?P<epoch>[0-9]{1,9})\.(?P<position>[0-9]{1,12})")


@dataclass
class SandboxState:
    tickets: dict[str, dict[str, dict[str, Any]]]
    notes: dict[str, dict[str, list[dict[str, Any]]]]
    faults: dict[str, list[Answer]]
    requests: list[dict[str, Any]]
    changes: dict[str, list[str]]  # per tool: the tickets whose notes changed, in order
    epoch: int  # a new one at each reset: a cursor from before it reads from the start


class VendorSandbox:
    """Every registered tool that has a sandbox module (``sandbox/tools/<tool>.py``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tools: dict[str, SandboxTool] = tools.available()
        self.zoho = ZohoAccounts()  # ServiceDesk Plus Cloud's OAuth (each data centre's accounts host)
        # A random first epoch: a cursor from another sandbox (a restarted stack) reads from the start.
        self._epochs = itertools.count(int.from_bytes(os.urandom(3), "big") + 1)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.state = SandboxState(
                tickets={name: {tool.seed_id(): tool.seed_copy()} for name, tool in self.tools.items()},
                notes={name: {} for name in self.tools},
                faults={name: [] for name in self.tools},
                requests=[],
                changes={name: [] for name in self.tools},
                epoch=next(self._epochs),
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

    def note_counts(self, tool: str, since: str = "") -> tuple[dict[str, int], str]:
        """How many notes each ticket of ``tool`` has (tickets that never had one are left out), and a
        cursor. With ``since`` (a cursor this sandbox gave since its last reset), only the tickets
        whose notes changed after it: a watcher polling many times a second reads what is new, not
        every ticket's count again. Any other ``since`` reads every ticket."""
        with self._lock:
            notes = self.state.notes.get(tool, {})
            changes = self.state.changes.get(tool, [])
            ours = CURSOR.fullmatch(since)
            if ours and int(ours["epoch"]) == self.state.epoch and int(ours["position"]) <= len(changes):
                counts = {t: len(notes.get(t, [])) for t in dict.fromkeys(changes[int(ours["position"]) :])}
            else:
                counts = {ticket_id: len(n) for ticket_id, n in notes.items()}
            return counts, f"{self.state.epoch}.{len(changes)}"

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
        if not match or match["tool"] not in self.tools:
            return Answer(404, {"error": "unknown sandbox path"})
        tool, rest = match["tool"], match["path"]
        with self._lock:
            self.state.requests.append({"tool": tool, "method": method, "path": rest, "query": query})
            if method == "GET" and rest == "/":
                return Answer(200, {"tickets": self.state.tickets[tool], "notes": self.state.notes[tool]})
            if self.state.faults[tool]:
                return self.state.faults[tool].pop(0)
            lowered = {k.lower(): v for k, v in headers.items()}
            zoho = lowered.get("authorization", "")
            if (
                tool == "servicedesk_plus"
                and zoho.startswith("Zoho-oauthtoken ")
                and not self.zoho.active(zoho[16:])
            ):
                failed = {
                    "status_code": 4000,
                    "status": "failed",
                    "messages": [{"status_code": 4001, "message": "UNAUTHORISED"}],
                }
                return Answer(401, {"response_status": failed})
            data = self.tools[tool].data(
                self.state.tickets[tool], self.state.notes[tool], self.state.changes[tool]
            )
            return self.tools[tool].route(data, Call(method, rest, parse_qs(query), body, lowered))

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

    def add_ticket(self, tool: str, ticket_id: str, fields: dict[str, Any] | None = None) -> None:
        """A copy of the tool's seed ticket under another id (top-level ``fields`` replaced)."""
        ticket = self.tools[tool].copy_as(ticket_id) | (fields or {})
        with self._lock:
            self.state.tickets[tool][ticket_id] = ticket
