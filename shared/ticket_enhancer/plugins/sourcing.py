"""What every tool's history and knowledge listing shares (``plugins/<tool>/history.py`` use it).

The calls go through the plugin's own ``_call`` (retries, Retry-After, the deadline): a 429 or 5xx
the call cannot wait out is raised as the retryable ``VendorError`` it is, so the sync pauses and
resumes from its checkpoint; a 401/403 becomes :class:`SourcePermissionError`, naming the
permission the endpoint needs. Records are reduced here: HTML to text (``htmltext``), times to ISO
8601 UTC, texts bounded. Our own notes (they carry ``models.NOTE_FOOTER_PREFIX``) are never a
resolution.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

from ticket_enhancer.htmltext import html_to_text
from ticket_enhancer.models import NOTE_FOOTER_PREFIX
from ticket_enhancer.plugins.base import text_field
from ticket_enhancer.plugins.capabilities import SourcePermissionError
from ticket_enhancer.plugins.errors import VendorAuthError, VendorNotFoundError
from ticket_enhancer.plugins.fields import parse_datetime

if TYPE_CHECKING:
    import httpx

    from ticket_enhancer.plugins.base import TicketingToolPlugin
    from ticket_enhancer.plugins.context import TenantContext
    from ticket_enhancer.plugins.requests import VendorRequest

__all__ = [
    "ARTICLE_LIMIT",
    "RESOLUTION_LIMIT",
    "TEXT_LIMIT",
    "Comment",
    "MalformedRecordError",
    "decode_cursor",
    "encode_cursor",
    "fetch",
    "fetch_detail",
    "is_our_note",
    "iso_utc",
    "last_resolution",
    "numeric_id",
    "own_url",
    "reduce_html",
    "safe_url",
    "segment",
]

TEXT_LIMIT = 8_000  # a ticket's description
RESOLUTION_LIMIT = 4_000
ARTICLE_LIMIT = 20_000
# A cursor is a checkpoint (a DynamoDB item holds 400 KB). Zammad's carries the knowledge base's
# remaining answer ids, about 7 characters each: at 16 KiB a base of ~2,500 answers could not resume.
CURSOR_LIMIT = 262_144


class MalformedRecordError(ValueError):
    """A listed record lacks what makes it usable (an id, a subject): skipped and counted."""


T = TypeVar("T")


def parse_each(
    items: Any, parse: Callable[[Any], T], keep: Callable[[Any], bool] | None = None
) -> tuple[tuple[T, ...], int]:
    """Each record of a vendor's list (anything but a list: none) that ``keep`` accepts, parsed;
    a malformed one is skipped and counted, never fatal. Returns the records and the count."""
    parsed: list[T] = []
    skipped = 0
    for item in items if isinstance(items, list) else []:
        if keep is not None and not keep(item):
            continue
        try:
            parsed.append(parse(item))
        except MalformedRecordError:
            skipped += 1
    return tuple(parsed), skipped


async def fetch(
    plugin: TicketingToolPlugin,
    tenant: TenantContext,
    request: VendorRequest,
    *,
    endpoint: str,
    permission: str,
) -> httpx.Response:
    """``plugin._call`` for a sync endpoint; 401/403 raise :class:`SourcePermissionError`."""
    try:
        return await plugin._call(tenant, request, "sync")
    except VendorAuthError as exc:
        if exc.operation == "oauth":  # the token refresh itself was refused (ServiceDesk Plus Cloud)
            permission = f"working OAuth credentials (the token refresh was refused), then {permission}"
        elif exc.status == 401:  # not a missing permission but refused credentials
            permission = f"valid credentials (the API token was refused), then {permission}"
        raise SourcePermissionError(
            tool_type=plugin.__tool_type__, endpoint=endpoint, permission=permission, status=exc.status or 403
        ) from exc


async def fetch_detail(
    plugin: TicketingToolPlugin,
    tenant: TenantContext,
    request: VendorRequest,
    *,
    endpoint: str,
    permission: str,
) -> Any | None:
    """The JSON of one record's detail call (comments, resolution, answer); None when the record is
    gone (404) or the answer is not JSON: the caller skips and counts that record."""
    try:
        response = await fetch(plugin, tenant, request, endpoint=endpoint, permission=permission)
    except VendorNotFoundError:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def iso_utc(value: Any) -> str:
    """A vendor time (ISO 8601, ``YYYY-MM-DD HH:MM:SS`` UTC, epoch ms) as ``YYYY-MM-DDTHH:MM:SSZ``.

    "" when there is none."""
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    if parsed is None:
        return ""
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_URL_UNSAFE = re.compile(r"[\x00-\x20\x7f\"'<>\\`]")


def safe_url(value: Any, limit: int = 2_048) -> str:
    """A vendor-given link (an article's ``html_url``) if it is a plain http(s) URL with a host, else "".

    The note links only records' URLs (``render.link``); a ``javascript:`` or malformed one never
    becomes one."""
    url = text_field(value)
    if not url or len(url) > limit or _URL_UNSAFE.search(url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme in ("https", "http") and parts.hostname else ""


def numeric_id(value: Any) -> str:
    """``value`` as an id of ASCII digits (what goes into a request path or a link), or ""."""
    text = text_field(value)
    return text if text.isascii() and text.isdigit() else ""


def segment(value: str) -> str:
    """A vendor id as one percent-encoded URL path segment or query value: an id holding ``/``,
    ``?``, ``#`` or ``&`` cannot move a record's link elsewhere on the tenant's site (nor can
    ``.``/``..``, a dot segment browsers resolve, encoded or not)."""
    if not value.strip("."):
        return "_" * len(value)
    return quote(value, safe="")


def own_url(value: Any, base_url: str) -> str:
    """A vendor-given link if :func:`safe_url` keeps it and it is on the tenant's own site (the
    host and port of ``base_url``), else "".

    Record URLs become live links in the note (``render.link`` accepts any http(s) host), so a
    URL taken from vendor JSON must not point anywhere else: a tampered or look-alike host is
    dropped and the caller builds the link from ``base_url`` instead."""
    url = safe_url(value)
    if not url:
        return ""
    try:
        given, own = urlsplit(url), urlsplit(base_url)
        same = (given.hostname, given.port, given.username) == (own.hostname, own.port, None)
    except ValueError:
        return ""
    return url if same and given.scheme == own.scheme else ""


def reduce_html(value: Any, limit: int = TEXT_LIMIT) -> str:
    """Vendor HTML (or plain text) as bounded plain text."""
    return html_to_text(value, limit) if isinstance(value, str) else ""


def is_our_note(text: str) -> bool:
    """Whether a comment is one of our own notes (its job footer), raw HTML or reduced text."""
    return NOTE_FOOTER_PREFIX in text or NOTE_FOOTER_PREFIX in html.unescape(text)


@dataclass(frozen=True, slots=True)
class Comment:
    """One comment of a resolved ticket, as the resolution rule sees it."""

    text: str  # plain text already
    author: str  # the author's id, "" when unknown
    public: bool = True


def last_resolution(comments: Iterable[Comment], requester: str, limit: int = RESOLUTION_LIMIT) -> str:
    """The last public comment by someone other than the requester that is not one of our notes."""
    found = ""
    for comment in comments:
        if not comment.public or not comment.text.strip() or is_our_note(comment.text):
            continue
        if requester and comment.author == requester:
            continue
        found = comment.text
    return found[:limit]


def encode_cursor(state: Mapping[str, Any]) -> str:
    """An opaque cursor (compact JSON): what the next page call needs."""
    return json.dumps(dict(state), separators=(",", ":"), sort_keys=True)


def decode_cursor(cursor: str | None) -> dict[str, Any]:
    """The state in a cursor of :func:`encode_cursor`; {} for None. ValueError when it is not one."""
    if cursor is None:
        return {}
    if len(cursor) > CURSOR_LIMIT:
        raise ValueError("cursor too long")
    try:
        state = json.loads(cursor)
    except (json.JSONDecodeError, RecursionError) as exc:  # deep nesting: RecursionError
        raise ValueError("not a cursor of this source") from exc
    if not isinstance(state, dict):
        raise ValueError("not a cursor of this source")
    return state
