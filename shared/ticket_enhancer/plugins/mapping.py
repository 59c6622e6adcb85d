"""A tool's field mapping: where its ticket object keeps each field we read, declared once.

The webhook body carries the ticket object (Zendesk's ``detail``, Jira's ``issue``, ServiceDesk
Plus's ``request``, ...) and the REST API answers it: a plugin locates that object in each and
the base class (``TicketingToolPlugin.webhook_event`` / ``mapped_ticket``) reads it through the
tool's one :class:`FieldMap`. Where a tool's webhook bodies name a field differently from its API
(Freshservice's ``ticket_subject``) or never carry it, the field says so (``webhook=``)::

    fields = FieldMap(
        ticket_id=text("id", webhook=("ticket_id", "id")),
        subject=text("subject", webhook=("ticket_subject", "subject")),
        priority=maybe("priority"),
        requester=name(("fields", "reporter")),   # a path into nested objects
        created_at=date("created_at", webhook=()),  # not in webhook bodies
        ...
    )

A field reads its keys in order and keeps the first value that reads as non-empty; with none, the
reader's own empty value ("" or None).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from ticket_enhancer.plugins.fields import adf_text, named, obj, parse_datetime, text_field

__all__ = ["NOTHING", "Field", "FieldMap", "Key", "adf", "date", "field", "label", "maybe", "name", "text"]

T = TypeVar("T")
# A key of the ticket object, or a path of keys into nested objects (("fields", "summary")).
Key = str | tuple[str, ...]


def _at(source: Mapping[str, Any], key: Key) -> Any:
    if isinstance(key, str):
        return source.get(key)
    value: Any = source
    for part in key:
        value = obj(value).get(part)
    return value


@dataclass(frozen=True, slots=True)
class Field(Generic[T]):
    """One field: the keys holding it (first non-empty wins) and how its value is read."""

    keys: tuple[Key, ...]
    read: Callable[[Any], T]
    # The keys in webhook bodies when they differ from the API's (``()``: bodies never carry it).
    webhook: tuple[Key, ...] | None = None
    # The first key holding a value (not false, 0 or empty) is the field, even when that value
    # reads as empty; by default the first value that reads as non-empty is.
    first_present: bool = False

    def __call__(self, *sources: Mapping[str, Any], webhook: bool = False) -> T:
        """The field from the first source (then the first key) where it reads as non-empty."""
        keys = self.webhook if webhook and self.webhook is not None else self.keys
        for source in sources:
            for key in keys:
                raw = _at(source, key)
                if self.first_present and raw:
                    return self.read(raw)
                value = self.read(raw)
                if value and not self.first_present:
                    return value
        return self.read(None)


def _maybe_text(value: Any) -> str | None:
    return text_field(value) or None


def _label(value: Any) -> str:
    return named(value) or ""


def field(
    *keys: Key,
    read: Callable[[Any], T],
    webhook: tuple[Key, ...] | None = None,
    first_present: bool = False,
) -> Field[T]:
    """A field read by ``read`` (a tool's own shape: Zammad's people, Jira's components)."""
    return Field(keys, read, webhook, first_present)


def text(*keys: Key, webhook: tuple[Key, ...] | None = None) -> Field[str]:
    """A scalar as text ("" when absent)."""
    return Field(keys, text_field, webhook)


def maybe(*keys: Key, webhook: tuple[Key, ...] | None = None) -> Field[str | None]:
    """A scalar as text, None when absent."""
    return Field(keys, _maybe_text, webhook)


def name(*keys: Key, webhook: tuple[Key, ...] | None = None) -> Field[str | None]:
    """``{"name": x}``, ``{"displayName": x}``, ... or a scalar (``fields.named``), None when absent."""
    return Field(keys, named, webhook)


def label(*keys: Key, webhook: tuple[Key, ...] | None = None) -> Field[str]:
    """A name as ``name`` reads it, "" when absent (scope, category, group)."""
    return Field(keys, _label, webhook)


def date(*keys: Key, webhook: tuple[Key, ...] | None = None) -> Field[datetime | None]:
    """A time (``fields.parse_datetime``: ISO 8601, ``YYYY-MM-DD HH:MM:SS`` UTC, epoch ms)."""
    return Field(keys, parse_datetime, webhook)


def adf(*keys: Key, webhook: tuple[Key, ...] | None = None) -> Field[str]:
    """Atlassian Document Format (or a plain string) as text."""
    return Field(keys, adf_text, webhook)


NOTHING: Field[str] = text()  # a field the tool's ticket object does not have


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Where a tool's ticket object keeps each field (``TicketingToolPlugin.fields``)."""

    ticket_id: Field[str]
    subject: Field[str]
    description: Field[str]
    priority: Field[str | None]  # the raw priority; the base normalises it (``priority_map``)
    requester: Field[str | None]
    created_at: Field[datetime | None]
    status: Field[str | None]
    display_key: Field[str] = NOTHING  # the key people know ("IT-42", "#123"); default: the id
    # Fetched tickets only (the context's scope, category and group: ``models.Ticket``).
    scope: Field[str] = NOTHING
    category: Field[str] = NOTHING
    group: Field[str] = NOTHING  # its name, shown
    group_id: Field[str] = NOTHING  # its stable id, what triage votes match on
