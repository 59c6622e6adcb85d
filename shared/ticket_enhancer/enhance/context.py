"""What the pipeline steps share for one ticket: inputs, results, what was unavailable, timings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ticket_enhancer.enhance.records import (
    Article,
    AssetMatch,
    DetectedLanguage,
    DuplicateSignal,
    GatheredContext,
    IndexedTicket,
    Summary,
    TriageSuggestion,
)

if TYPE_CHECKING:
    from ticket_enhancer.models import Ticket
    from ticket_enhancer.plugins.context import TenantContext

__all__ = ["MAX_QUERY_CHARS", "EnhancementContext", "TicketText"]

MAX_QUERY_CHARS = 16_000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TicketText:
    """The ticket's searchable text (subject weighted twice), bounded."""

    text: str

    @classmethod
    def from_ticket(cls, ticket: Ticket) -> TicketText:
        return cls(f"{ticket.subject}\n{ticket.subject}\n{ticket.description}"[:MAX_QUERY_CHARS])


@dataclass
class EnhancementContext:
    """One ticket's run: each step reads earlier results and writes ``results[step.name]``."""

    tenant: TenantContext
    ticket: Ticket
    job_id: str
    results: dict[str, object] = field(default_factory=dict)
    unavailable: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # step name -> "timeout", "error", ...
    stage_ms: dict[str, float] = field(default_factory=dict)
    _once: dict[str, Any] = field(default_factory=dict, repr=False)
    _once_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def once(self, key: str, load: Callable[[], T]) -> T:
        """``load()`` the first time a step asks for ``key`` in this job, the same value after that
        (thread-safe: steps run their reads in threads), so two steps share one read."""
        with self._once_lock:
            if key not in self._once:
                self._once[key] = load()
            value: T = self._once[key]
            return value

    def mark_unavailable(self, step: str, reason: str) -> None:
        if step not in self.reasons:
            self.unavailable.append(step)
        self.reasons[step] = reason

    def items(self, name: str, kind: type[T]) -> tuple[T, ...]:
        """The ``kind`` items a step stored as a tuple (``()`` when it did not run or failed)."""
        value = self.results.get(name)
        return tuple(v for v in value if isinstance(v, kind)) if isinstance(value, tuple) else ()

    @property
    def ticket_text(self) -> str:
        value = self.results.get("ticket_context")
        return value.text if isinstance(value, TicketText) else TicketText.from_ticket(self.ticket).text

    def result(self, name: str, kind: type[T]) -> T | None:
        """The ``kind`` object a step stored (None when it did not run, failed or found nothing)."""
        value = self.results.get(name)
        return value if isinstance(value, kind) else None

    @property
    def language(self) -> DetectedLanguage | None:
        """The detected language (the ``language`` step), for the model side's ``note_language``."""
        return self.result("language", DetectedLanguage)

    def gathered(self) -> GatheredContext:
        return GatheredContext(
            ticket=self.ticket,
            similar=self.items("similar_tickets", IndexedTicket),
            articles=self.items("knowledge", Article),
            assets=self.items("network_assets", AssetMatch),
            language=self.language,
            triage=self.result("triage", TriageSuggestion),
            duplicates=self.result("duplicates", DuplicateSignal),
            summary=self.result("summary", Summary),
        )
