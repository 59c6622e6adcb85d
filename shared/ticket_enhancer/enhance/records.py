"""The plain records the enhancement steps pass around (no I/O, cheap to import)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ticket_enhancer.models import Ticket


@dataclass(frozen=True, slots=True)
class Article:
    """A knowledge article of one tenant."""

    article_id: str
    title: str
    body: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class Asset:
    """One entry of a tenant's network/asset inventory: a CIDR, an IP or a host name (``*.x`` ok)."""

    cidr_or_host: str
    name: str
    notes: str = ""


@dataclass(frozen=True, slots=True)
class IndexedTicket:
    """A ticket the worker has already processed, as kept for similarity search."""

    ticket_id: str
    display_key: str = ""
    subject: str = ""
    text: str = ""
    url: str = ""
    created: str = ""  # ISO 8601, UTC
    # Filled for tickets imported from the tool's history (the sync); empty for processed tickets.
    resolution: str = ""  # how it was resolved: close notes, the SDP resolution, the last agent reply
    resolved: str = ""  # ISO 8601, UTC
    status: str = ""  # "resolved" (history) or "open"
    category: str = ""  # category / type as the tool names it
    group: str = ""  # assignment group / team, its name (shown)
    priority: str = ""  # the tool's own priority name
    scope: str = ""  # the scope key: Jira project, Zendesk organisation, ServiceNow company, ...
    # The group's stable id where the tool has one, as the fetched ticket's ``Ticket.group_id``:
    # triage's group vote matches on it (a renamed group stays one group); "" matches by name.
    group_id: str = ""

    @property
    def label(self) -> str:
        return self.display_key or self.ticket_id


@dataclass(frozen=True, slots=True)
class AssetMatch:
    """An address or host name found in the ticket text that an inventory entry covers."""

    indicator: str
    asset: Asset


@dataclass(frozen=True, slots=True)
class Summary:
    """The offline summary of a ticket (``enhance/summary.py``); all untrusted text."""

    sentences: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()  # IP addresses and host names
    inventory: tuple[str, ...] = ()  # "name: notes" of matched assets

    def __bool__(self) -> bool:
        return any((self.sentences, self.codes, self.users, self.addresses, self.inventory))


@dataclass(frozen=True, slots=True)
class DetectedLanguage:
    """The ticket's language as detected offline (``enhance/language.py``)."""

    code: str  # ISO 639-1 ("de"), or "zh-cn" / "zh-tw" as the detector names Chinese
    name: str  # English name ("German")
    probability: float


@dataclass(frozen=True, slots=True)
class FieldSuggestion:
    """One triage value suggested by the weighted votes of resolved similar tickets."""

    value: str  # as the tool names it (a value seen in the tenant's synced history)
    confidence: float  # the winning value's share of the vote weight, 0..1
    votes: int  # how many similar resolved tickets voted for it
    id: str = ""  # the value's stable id where the tool has one (the assignment group's)


@dataclass(frozen=True, slots=True)
class TriageSuggestion:
    """Category/type, priority and assignment group suggestions (each None when unknown)."""

    category: FieldSuggestion | None = None
    priority: FieldSuggestion | None = None
    group: FieldSuggestion | None = None
    voters: int = 0  # resolved similar tickets that voted

    def __bool__(self) -> bool:
        return any((self.category, self.priority, self.group))


@dataclass(frozen=True, slots=True)
class DuplicateSignal:
    """Recent open tickets of the same scope that look like this one (``enhance/duplicates.py``)."""

    kind: str  # "duplicate" (one near-duplicate) or "burst" (several similar in the burst window)
    tickets: tuple[IndexedTicket, ...]  # the other tickets, most similar first
    window_minutes: int
    count: int  # similar tickets in the window, this one included


@dataclass(frozen=True, slots=True)
class GatheredContext:
    """Everything the steps found for one ticket: what synthesis writes the note from."""

    ticket: Ticket
    similar: tuple[IndexedTicket, ...] = field(default=())
    articles: tuple[Article, ...] = field(default=())
    assets: tuple[AssetMatch, ...] = field(default=())
    language: DetectedLanguage | None = None
    triage: TriageSuggestion | None = None
    duplicates: DuplicateSignal | None = None
    summary: Summary | None = None  # None: not computed (the note computes it)


@dataclass(frozen=True, slots=True)
class ModelReply:
    """A provider's raw answer (text, or the JSON of a tool call) and the tokens the call used
    (also ``model_output.ModelReply``; here so the providers load without the answer checks)."""

    text: str
    tokens: int = 0
