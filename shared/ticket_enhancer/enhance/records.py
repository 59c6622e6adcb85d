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
    group: str = ""  # assignment group / team
    priority: str = ""  # the tool's own priority name
    scope: str = ""  # the scope key: Jira project, Zendesk organisation, ServiceNow company, ...

    @property
    def label(self) -> str:
        return self.display_key or self.ticket_id


@dataclass(frozen=True, slots=True)
class AssetMatch:
    """An address or host name found in the ticket text that an inventory entry covers."""

    indicator: str
    asset: Asset


@dataclass(frozen=True, slots=True)
class GatheredContext:
    """Everything the steps found for one ticket: what synthesis writes the note from."""

    ticket: Ticket
    similar: tuple[IndexedTicket, ...] = field(default=())
    articles: tuple[Article, ...] = field(default=())
    assets: tuple[AssetMatch, ...] = field(default=())
