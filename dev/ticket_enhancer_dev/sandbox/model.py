"""The sandbox's plain parts, shared by ``VendorSandbox`` and the per-tool modules in ``tools/``."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """One request to a tool's imitated REST API (``path`` relative to its base URL)."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    headers: dict[str, str]  # names lower-cased

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ToolData:
    """One tool's tickets and notes (views into ``SandboxState``; routes run under its lock)."""

    tickets: dict[str, dict[str, Any]]
    notes: dict[str, list[dict[str, Any]]]
    id_field: str = "id"
    keys: tuple[str, ...] = ()  # other fields a ticket is addressed by (Jira's key, a number)
    # The keys of tickets whose notes changed, in order (``VendorSandbox.note_counts`` reads it since a
    # cursor, so a watcher's poll carries what changed, not every ticket's count).
    changes: list[str] = field(default_factory=list)

    def key_of(self, ticket: Mapping[str, Any]) -> str:
        return str(ticket[self.id_field])

    def find(self, ticket_id: str) -> dict[str, Any] | None:
        if ticket_id in self.tickets:
            return self.tickets[ticket_id]
        return next(
            (t for t in self.tickets.values() if any(str(t.get(k)) == ticket_id for k in self.keys)), None
        )

    def notes_of(self, ticket: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self.notes.get(self.key_of(ticket), [])

    def add_note(self, ticket: Mapping[str, Any], note: dict[str, Any]) -> int:
        """Store ``note`` on ``ticket`` with the next id (1, 2, ...); the id."""
        notes = self.notes.setdefault(self.key_of(ticket), [])
        note["id"] = len(notes) + 1
        notes.append(note)
        self.changes.append(self.key_of(ticket))
        return int(note["id"])

    def remove_notes(self, ticket: Mapping[str, Any], keep: Callable[[dict[str, Any]], bool]) -> int:
        """Drop ``ticket``'s notes for which ``keep`` is false; how many were dropped."""
        notes = self.notes_of(ticket)
        kept = [n for n in notes if keep(n)]
        dropped = len(notes) - len(kept)
        if dropped:
            notes[:] = kept
            self.changes.append(self.key_of(ticket))
        return dropped


Route = Callable[[ToolData, Call], Answer]


@dataclass(frozen=True)
class SandboxTool:
    """What the sandbox knows of one tool, read from its module ``sandbox/tools/<tool>.py``."""

    name: str
    seed_ticket: Mapping[str, Any]
    route: Route
    webhook_body: Callable[[dict[str, Any], str], dict[str, Any]]
    id_field: str = "id"
    keys: tuple[str, ...] = ()
    renamed: Callable[[dict[str, Any], str], None] | None = None

    def seed_id(self) -> str:
        return str(self.seed_ticket[self.id_field])

    def seed_copy(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.seed_ticket))

    def copy_as(self, ticket_id: str) -> dict[str, Any]:
        """The seed ticket under another id (and whatever else the tool derives from it)."""
        ticket = self.seed_copy()
        ticket[self.id_field] = ticket_id
        if self.renamed is not None:
            self.renamed(ticket, ticket_id)
        return ticket

    def data(
        self,
        tickets: dict[str, dict[str, Any]],
        notes: dict[str, list[dict[str, Any]]],
        changes: list[str],
    ) -> ToolData:
        return ToolData(tickets, notes, self.id_field, self.keys, changes)
