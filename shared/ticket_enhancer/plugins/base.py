"""``TicketingToolPlugin``: the base every ticketing tool implements.

Template methods (the contract's four operations) own what all tools share: choosing and running
the webhook auth scheme, JSON decoding, priority normalisation, retries, error mapping, latency
metrics and the exactly-once footer check. A tool implements only the small primitives that
differ: how to read its webhook body, its REST paths, its auth header and its field mapping.

This module holds the tool's facts and the webhook side; the REST side (vendor calls, footer
check, latency) is :class:`~ticket_enhancer.plugins.vendor_calls.VendorCalls`, which
:class:`TicketingToolPlugin` extends. ``api_token``, ``MAX_NOTE_PAGES``, ``MetricsSink`` and
``NoteFormat`` are re-exported from there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from ticket_enhancer.models import Priority, Ticket, TicketMetadata
from ticket_enhancer.plugins.context import TenantContext, WebhookRequest
from ticket_enhancer.plugins.errors import (
    WebhookEventIgnoredError,
    WebhookPayloadError,
)
from ticket_enhancer.plugins.fields import text_field
from ticket_enhancer.plugins.mapping import FieldMap
from ticket_enhancer.plugins.payload import decode_json
from ticket_enhancer.plugins.vendor_calls import (
    MAX_NOTE_PAGES,
    MetricsSink,
    NoteFormat,
    VendorCalls,
    api_token,
)
from ticket_enhancer.urls import BaseUrlError, HostPolicy, check_base_url, is_vendor_host
from ticket_enhancer.webhooks import schemes

if TYPE_CHECKING:
    from ticket_enhancer.plugins.http import Sleep
    from ticket_enhancer.plugins.requests import RetryPolicy

__all__ = [
    "CREATED_ALIASES",
    "MAX_NOTE_PAGES",
    "TICKET_ID_RE",
    "FieldMap",
    "MetricsSink",
    "NoteFormat",
    "TicketingToolPlugin",
    "WebhookEvent",
    "api_token",
    "text_field",
]

# Spellings of "a ticket was created" found in admin-written bodies; the canonical name is "created".
CREATED_ALIASES = frozenset({"created", "create", "new", "ticket_created", "ticket.created", "issue_created"})
# Ticket ids become REST path segments: letters, digits and - _ . : only, never a path of their own.
TICKET_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """What a tool's webhook body says, before normalisation by the base."""

    ticket_id: str
    display_key: str = ""
    subject: str = ""
    description: str = ""
    priority_raw: str | None = None
    requester: str | None = None
    created_at: datetime | None = None
    status: str | None = None
    event_type: str = "created"
    delivery_id: str | None = None


class TicketingToolPlugin(VendorCalls):
    """Base class of a ticketing tool's plugin. Stateless; shared by every tenant of a process."""

    __tool_type__: ClassVar[str]
    __version__: ClassVar[str]
    __plugin_api__: ClassVar[str] = ">=1,<2"

    # -- what the rest of the system knows about the tool: declared here and nowhere else -------
    display_name: ClassVar[str] = ""  # "Jira Service Management"; default: the tool type
    resource_name: ClassVar[str] = ""  # CamelCase for the template's logical ids ("ServiceDeskPlus")
    # Base URLs a tenant may use. The default suits a plugin shipped as its own package: no fixed
    # host, so every tenant needs --allow-custom-host and its host is DNS-checked and pinned.
    host_policy: ClassVar[HostPolicy] = HostPolicy(custom_host=True)
    setup_where: ClassVar[str] = ""  # where the admin creates the webhook in the tool
    setup_body_template: ClassVar[str | None] = None  # the body to paste, for admin-written bodies
    # A realistic ticket-created webhook body (``events/``, the local demo) and its sender.
    sample_webhook: ClassVar[Mapping[str, Any]] = {}
    sample_user_agent: ClassVar[str] = "Webhook"
    # Tenant options only this tool understands (``--option KEY=VALUE``; refused for other tools).
    tool_options: ClassVar[frozenset[str]] = frozenset()
    # Secret extras only this tool reads (``--credential KEY=VALUE``; refused for other tools).
    credential_keys: ClassVar[frozenset[str]] = frozenset()

    default_auth_mode: ClassVar[str] = schemes.SHARED_TOKEN
    # The tool's own webhook auth schemes (``webhooks.schemes.WebhookScheme``, e.g. from
    # ``hmac_hex_scheme``); Standard Webhooks and the shared token are available to every tool.
    webhook_schemes: ClassVar[tuple[schemes.WebhookScheme, ...]] = ()
    # The modes a tenant may pick: derived from the schemes (set explicitly only to narrow them).
    auth_modes: ClassVar[frozenset[str]] = frozenset(s.name for s in schemes.COMMON_SCHEMES)
    note_format: ClassVar[NoteFormat] = "html"
    # Lower-cased raw priority -> normalised priority. Unknown values map to medium.
    priority_map: ClassVar[Mapping[str, Priority]] = {}
    # Events a delivery may announce (after ``canonical_event``); any other is answered 200 "ignored"
    # and queues nothing, so free text in an admin-written body cannot multiply notes.
    accepted_events: ClassVar[frozenset[str]] = frozenset({"created"})
    # Tools whose delivery id is unsigned and whose deliveries carry no signed timestamp: the
    # delivery is identified by a hash of the (authenticated) body, so a replay with a new id header
    # is the same delivery.
    dedupe_on_body: ClassVar[bool] = False
    # Where the tool's ticket object keeps each field (``plugins.mapping``): read the same way
    # from the webhook body (``webhook_event``) and from the fetched ticket (``mapped_ticket``).
    # Optional: a plugin may build ``WebhookEvent`` and ``Ticket`` in its own ``parse_webhook``
    # and ``parse_ticket``.
    fields: ClassVar[FieldMap | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "webhook_schemes" in cls.__dict__ and "auth_modes" not in cls.__dict__:
            cls.auth_modes = frozenset(s.name for s in cls._schemes())

    @classmethod
    def _schemes(cls) -> tuple[schemes.WebhookScheme, ...]:
        return (*cls.webhook_schemes, *schemes.COMMON_SCHEMES)  # the tool's own first

    @classmethod
    def webhook_scheme(cls, mode: str) -> schemes.WebhookScheme | None:
        """The scheme of ``mode`` if this tool supports it."""
        if mode not in cls.auth_modes:
            return None
        return next((s for s in cls._schemes() if s.name == mode), None)

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy | None = None,
        metrics: MetricsSink | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self._clock = clock
        self._retry = retry
        self._metrics = metrics
        self._sleep = sleep

    # -- lifecycle hooks (optional) ---------------------------------------------------------
    def setup(self) -> None:
        """Called once, when the registry first hands the plugin out."""

    def teardown(self) -> None:
        """Called when the plugin is unregistered or replaced."""

    # -- tool facts ------------------------------------------------------------------------
    @classmethod
    def tool_name(cls) -> str:
        return cls.display_name or cls.__tool_type__

    @classmethod
    def logical_name(cls) -> str:
        """CamelCase name for template resources and stack outputs (``ServiceDeskPlus``)."""
        return cls.resource_name or "".join(part.capitalize() for part in cls.__tool_type__.split("_"))

    def check_base_url(
        self,
        url: str,
        *,
        allow_custom_host: bool = False,
        local: bool = False,
        options: Mapping[str, str] | None = None,
    ) -> str:
        """The normalised base URL for a tenant of this tool, or ``BaseUrlError`` saying why."""
        if allow_custom_host and not self.host_policy.custom_host:
            raise BaseUrlError(f"--allow-custom-host is not available for {self.__tool_type__}")
        return check_base_url(
            self.host_policy, url, allow_custom_host=allow_custom_host, local=local, tool=self.__tool_type__
        )

    def pins_host(self, url: str, options: Mapping[str, str]) -> bool:
        """Whether the tenant's host is its own to resolve (off the vendor's domains): the worker
        then checks it resolves to public addresses and pins the job's calls to that address."""
        return options.get("allow_custom_host") == "true" or not is_vendor_host(self.host_policy, url)

    # -- webhook side ----------------------------------------------------------------------
    def auth_mode_for(self, tenant: TenantContext) -> str:
        return tenant.config.webhook_auth or self.default_auth_mode

    async def validate_webhook(self, request: WebhookRequest, tenant: TenantContext) -> bool:
        """True only when the delivery is authentic under the tenant's auth mode."""
        scheme = self.webhook_scheme(self.auth_mode_for(tenant))
        if scheme is None:
            return False
        secrets = tenant.secret.webhook_secret_values()
        if not secrets:
            return False
        now = request.received_at if request.received_at is not None else self._clock()
        return scheme.verify(request, secrets, now)

    def extract_metadata(self, request: WebhookRequest, tenant: TenantContext) -> TicketMetadata:
        """Normalised metadata from an authenticated delivery; ``WebhookPayloadError`` if unusable."""
        payload = decode_json(request.body)
        event = self.parse_webhook(payload, request)
        ticket_id = event.ticket_id.strip()
        if not ticket_id:
            raise WebhookPayloadError("no ticket id in the body")
        if len(ticket_id) > 128:
            raise WebhookPayloadError("ticket id is too long")
        if not TICKET_ID_RE.fullmatch(ticket_id):
            raise WebhookPayloadError("ticket id has unexpected characters")
        event_type = self.canonical_event(event.event_type)
        if event_type not in self.accepted_events:
            raise WebhookEventIgnoredError(event_type)
        event = dataclasses.replace(event, event_type=event_type)
        delivery_id = self._delivery_id(request, tenant, event, ticket_id)
        priority_raw = event.priority_raw
        return TicketMetadata(
            tool_type=self.__tool_type__,
            tenant_id=tenant.tenant_id,
            ticket_id=ticket_id,
            display_key=event.display_key or ticket_id,
            subject=event.subject,
            description=event.description,
            priority=self.normalise_priority(priority_raw),
            priority_raw=priority_raw,
            requester=event.requester,
            created_at=event.created_at,
            status=event.status,
            event_type=event_type,
            delivery_id=delivery_id,
        )

    def _delivery_id(
        self, request: WebhookRequest, tenant: TenantContext, event: WebhookEvent, ticket_id: str
    ) -> str:
        scheme = self.webhook_scheme(self.auth_mode_for(tenant))
        header = scheme.delivery_id_header if scheme is not None else None
        if header and scheme is not None and scheme.delivery_id_signed:  # Standard Webhooks' webhook-id
            msg_id = request.headers.get(header)
            if msg_id:
                return msg_id[:512]
        if self.dedupe_on_body:
            return "body:" + hashlib.sha256(request.body).hexdigest()
        if event.delivery_id:
            return event.delivery_id[:512]
        unsigned = request.headers.get(header) if header else None
        if unsigned:
            return unsigned[:512]
        return f"{ticket_id}:{event.event_type or 'created'}"

    @staticmethod
    def canonical_event(raw: str) -> str:
        """The event's canonical name: lower case, "created" for its common spellings."""
        name = raw.strip().lower() or "created"
        return "created" if name in CREATED_ALIASES else name[:64]

    @classmethod
    def normalise_priority(cls, raw: str | None) -> Priority:
        if raw is None:
            return Priority.MEDIUM
        return cls.priority_map.get(str(raw).strip().lower(), Priority.MEDIUM)

    @abstractmethod
    def parse_webhook(self, payload: dict[str, Any], request: WebhookRequest) -> WebhookEvent:
        """Read the tool's webhook body (already decoded JSON). Raise ``WebhookPayloadError``."""

    # -- the field mapping: one per tool, for webhook bodies and fetched tickets ----------------
    def _field_map(self) -> FieldMap:
        if self.fields is None:
            raise TypeError(f"{type(self).__name__} declares no field mapping (`fields`)")
        return self.fields

    def webhook_event(
        self,
        *sources: Mapping[str, Any],
        event_type: str = "created",
        delivery_id: str | None = None,
        ticket_id: str | None = None,
        display_key: str | None = None,
        description: str | None = None,
    ) -> WebhookEvent:
        """A ``WebhookEvent`` from the ticket object(s) located in a webhook body, read through
        ``fields`` (the webhook keys); each field from the first source that has it. Keyword
        values the tool works out itself replace the mapped ones."""
        f = self._field_map()
        return WebhookEvent(
            ticket_id=f.ticket_id(*sources, webhook=True) if ticket_id is None else ticket_id,
            display_key=f.display_key(*sources, webhook=True) if display_key is None else display_key,
            subject=f.subject(*sources, webhook=True),
            description=f.description(*sources, webhook=True) if description is None else description,
            priority_raw=f.priority(*sources, webhook=True),
            requester=f.requester(*sources, webhook=True),
            created_at=f.created_at(*sources, webhook=True),
            status=f.status(*sources, webhook=True),
            event_type=event_type,
            delivery_id=delivery_id,
        )

    def mapped_ticket(
        self,
        ticket: Mapping[str, Any],
        tenant: TenantContext,
        ticket_id: str,
        *,
        url: Callable[[str], str | None] | None = None,
        found_id: str | None = None,
        display_key: str | Callable[[str], str] | None = None,
        scope: str | None = None,
        category: str | None = None,
        group: str | None = None,
        group_id: str | None = None,
    ) -> Ticket:
        """A ``Ticket`` from the fetched ticket object, read through ``fields``: its id (else the
        one asked for), its display key (else that id), ``url(id)`` for its link. Keyword values
        the tool works out itself replace the mapped ones (``display_key`` may be made from the id)."""
        f = self._field_map()
        found = found_id if found_id is not None else f.ticket_id(ticket) or ticket_id
        if display_key is None:
            display_key = f.display_key(ticket) or found
        elif callable(display_key):
            display_key = display_key(found)
        priority = f.priority(ticket)
        return Ticket(
            tool_type=self.__tool_type__,
            tenant_id=tenant.tenant_id,
            ticket_id=found,
            display_key=display_key,
            subject=f.subject(ticket),
            description=f.description(ticket),
            priority=self.normalise_priority(priority),
            priority_raw=priority,
            requester=f.requester(ticket),
            created_at=f.created_at(ticket),
            status=f.status(ticket),
            url=url(found) if url is not None else None,
            scope=f.scope(ticket) if scope is None else scope,
            category=f.category(ticket) if category is None else category,
            group=f.group(ticket) if group is None else group,
            group_id=f.group_id(ticket) if group_id is None else group_id,
        )
