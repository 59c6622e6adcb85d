"""Freshservice agent groups by name: a ticket carries only ``group_id``, its name is read here.

Freshservice API v2, "Agent Groups" (api.freshservice.com/#view_a_group):
``GET /api/v2/groups/{id}`` answers ``{"group": {"id", "name", ...}}``; ``GET /api/v2/groups``
answers ``{"groups": [...]}``, ``per_page`` up to 100 (default 30) and ``page``, the next page
announced in the ``link`` header as for every v2 listing (api.freshservice.com/v2/: "page sizes up
to 100"; a full page without a ``link`` header is taken to have a next one). Reading groups takes
an agent whose role may view agent groups (an admin scope): without it the answer is 403.
The team's vendor notes (``vendor-facts.md``, outside this repository) name no groups endpoint
(nor ``group_id`` among the ticket's fields, which the API does answer): where they are silent or
differ, the vendor's documentation is what this follows (its group section was checked through
public clients of the API that cite it).

The worker names the fetched ticket's group (``name``, one call per tenant and group an hour in
this container); the history sync lists the groups once (``listing``, an hour in this container: a
run's later pages, in the same container, reuse it) and names its tickets' groups from that. Both
go through the plugin's own ``_call``: deadlines, SSRF pinning, retries and Retry-After as for every
vendor call. A rate limit is raised as it is (the job is deferred, the sync waits and resumes);
any other failure (404, 403, a network error, an answer that is not a group) never fails the job
or the sync: the group keeps the id as its name, as before, and one warning is logged (the
tenant, the group id, the error's type and HTTP status: no secret, no URL). A final refusal (4xx)
is remembered for ``REFUSED_SECONDS``, so a tenant whose key cannot read groups pays neither a call
nor a warning per ticket.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ticket_enhancer.cache import TtlCache
from ticket_enhancer.plugins.errors import VendorError, VendorRateLimitedError
from ticket_enhancer.plugins.fields import obj, text_field
from ticket_enhancer.plugins.requests import VendorRequest

if TYPE_CHECKING:
    from ticket_enhancer.plugins.base import TicketingToolPlugin
    from ticket_enhancer.plugins.context import TenantContext

logger = logging.getLogger(__name__)

GROUPS = "/api/v2/groups"
NAME_SECONDS = 3600  # a group's name, per tenant and group, in this container
REFUSED_SECONDS = 600  # a final refusal (403 without the admin scope, 404), before asking again
FAULT_SECONDS = 60  # a passing fault (5xx, a network error), before asking again
PAGE_SIZE = 100  # Freshservice's maximum per page
MAX_PAGES = 50  # 5,000 groups: past that the listing stops (names for those found)
NAME_LIMIT = 255


def _group_id(value: str) -> bool:
    """Freshservice ids are numbers: anything else is never put in a path."""
    return value.isascii() and value.isdigit() and len(value) <= 20


class GroupNames:
    """The per-container caches of one plugin instance (shared by every tenant of the process)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._names: TtlCache[tuple[str, str, str], str] = TtlCache(max_entries=4096, clock=clock)
        self._listings: TtlCache[tuple[str, str], Mapping[str, str]] = TtlCache(max_entries=32, clock=clock)

    async def name(self, plugin: TicketingToolPlugin, tenant: TenantContext, group_id: str) -> str:
        """The group's name; "" when it cannot be read (the caller keeps what it had)."""
        if not _group_id(group_id):
            return ""
        key = (tenant.tenant_id, tenant.config.base_url, group_id)
        found = self._names.get(key)
        if found is not None:
            return found
        request = VendorRequest("GET", f"{GROUPS}/{group_id}", idempotent=True)
        try:
            response = await plugin._call(tenant, request, "get_group")
            name = text_field(obj(obj(response.json()).get("group")).get("name"), NAME_LIMIT).strip()
        except VendorRateLimitedError:
            raise
        except (VendorError, ValueError) as exc:
            _warn("group name unavailable: the group is shown by its id", tenant, exc, group_id)
            self._remember(self._names, key, "", exc)
            return ""
        if not name:
            _warn("group name unavailable: the group is shown by its id", tenant, None, group_id)
            self._names.put(key, "", REFUSED_SECONDS)
            return ""
        self._names.put(key, name, NAME_SECONDS)
        return name

    async def listing(self, plugin: TicketingToolPlugin, tenant: TenantContext) -> Mapping[str, str]:
        """Every group's name by id; empty when the groups cannot be listed."""
        key = (tenant.tenant_id, tenant.config.base_url)
        found = self._listings.get(key)
        if found is not None:
            return found
        names: dict[str, str] = {}
        try:
            for page in range(1, MAX_PAGES + 1):
                params = {"per_page": str(PAGE_SIZE), "page": str(page)}
                request = VendorRequest("GET", GROUPS, params=params, idempotent=True)
                response = await plugin._call(tenant, request, "list_groups")
                items = obj(response.json()).get("groups")
                rows = [obj(item) for item in (items if isinstance(items, list) else [])]
                for row in rows:
                    group_id = text_field(row.get("id"))
                    name = text_field(row.get("name"), NAME_LIMIT).strip()
                    if _group_id(group_id) and name:
                        names[group_id] = name
                link = response.headers.get("link")
                more = 'rel="next"' in link if link else len(rows) >= PAGE_SIZE
                if not more or not rows:
                    break
        except VendorRateLimitedError:
            raise
        except (VendorError, ValueError) as exc:
            _warn("groups not listed: history groups are shown by their ids", tenant, exc)
            self._remember(self._listings, key, {}, exc)
            return {}
        self._listings.put(key, names, NAME_SECONDS)
        for group_id, name in names.items():
            self._names.put((tenant.tenant_id, tenant.config.base_url, group_id), name, NAME_SECONDS)
        return names

    @staticmethod
    def _remember(cache: TtlCache[Any, Any], key: Any, empty: Any, exc: Exception) -> None:
        """A final refusal is remembered for ``REFUSED_SECONDS``; a passing fault (5xx, network) for
        ``FAULT_SECONDS``, so while the groups endpoint is down each job does not pay the retries."""
        final = isinstance(exc, VendorError) and not exc.retryable
        cache.put(key, empty, REFUSED_SECONDS if final else FAULT_SECONDS)


def _warn(message: str, tenant: TenantContext, exc: Exception | None, group_id: str = "") -> None:
    extra: dict[str, object] = {"tool": "freshservice", "tenant_id": tenant.tenant_id}
    if group_id:
        extra["group_id"] = group_id
    if exc is not None:
        extra["error"] = type(exc).__name__
        if isinstance(exc, VendorError) and exc.status is not None:
            extra["status"] = exc.status
    logger.warning(message, extra=extra)
