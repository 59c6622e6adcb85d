"""Optional plugin capabilities the sync queries: a tool's resolved-ticket history and its knowledge base.

A plugin that can list its tool's history implements :class:`HistorySource`; one whose tool has a
knowledge API implements :class:`KnowledgeSource`. Both are paged by an opaque cursor the plugin
chooses (a page number, an offset, a vendor cursor), so the sync can checkpoint after every page and
resume where it stopped. :func:`history_source` / :func:`knowledge_source` tell whether a plugin
has the capability.

Records are the enhancement records (:class:`~ticket_enhancer.enhance.records.IndexedTicket` with
``status="resolved"`` and its resolution, :class:`~ticket_enhancer.enhance.records.Article`), already
reduced to plain text. A record the plugin cannot read is skipped and counted in ``skipped``, never
fatal. Our own notes are never a resolution: a comment carrying the job footer
(``models.NOTE_FOOTER_PREFIX``) is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # annotations only: the webhook path imports the plugins, never ``enhance``
    from ticket_enhancer.enhance.records import Article, IndexedTicket
    from ticket_enhancer.plugins.context import TenantContext

__all__ = [
    "HistoryPage",
    "HistorySource",
    "KnowledgePage",
    "KnowledgeSource",
    "SourcePermissionError",
    "history_source",
    "knowledge_source",
]


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of resolved tickets; ``next_cursor`` None when the history is exhausted."""

    tickets: tuple[IndexedTicket, ...] = field(default=())
    next_cursor: str | None = None
    skipped: int = 0  # records that could not be read (malformed), counted, not fatal


@dataclass(frozen=True, slots=True)
class KnowledgePage:
    """One page of published knowledge articles; ``next_cursor`` None at the end."""

    articles: tuple[Article, ...] = field(default=())
    next_cursor: str | None = None
    skipped: int = 0


class SourcePermissionError(Exception):
    """The tool refused a sync endpoint (401/403): which permission is missing, for which endpoint.

    The sync stops that source (history or knowledge) and goes on with the other.
    """

    def __init__(self, *, tool_type: str, endpoint: str, permission: str, status: int) -> None:
        self.tool_type, self.endpoint, self.permission, self.status = tool_type, endpoint, permission, status
        super().__init__(f"{tool_type} refused {endpoint} ({status}): the API user needs {permission}")


@runtime_checkable
class HistorySource(Protocol):
    async def history_page(
        self, tenant: TenantContext, *, since: datetime, cursor: str | None
    ) -> HistoryPage: ...


@runtime_checkable
class KnowledgeSource(Protocol):
    async def knowledge_page(self, tenant: TenantContext, *, cursor: str | None) -> KnowledgePage: ...


def history_source(plugin: object) -> HistorySource | None:
    """The plugin as a :class:`HistorySource`, or None when its tool offers no history listing."""
    return plugin if isinstance(plugin, HistorySource) else None


def knowledge_source(plugin: object) -> KnowledgeSource | None:
    """The plugin as a :class:`KnowledgeSource`, or None when its tool has no knowledge API."""
    return plugin if isinstance(plugin, KnowledgeSource) else None
