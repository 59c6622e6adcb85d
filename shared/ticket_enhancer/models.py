"""pydantic v2 models shared by the webhook and worker functions.

Models that only the worker needs use ``defer_build`` so the webhook path never pays for
building their validators.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ticket_enhancer.webhooks.schemes import MIN_SECRET_BYTES, strong_secret

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_job_id(now_ms: int | None = None) -> str:
    """A ULID: 48-bit millisecond time + 80 random bits, Crockford base32 (sortable by time)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class TicketFields(BaseModel):
    """What every view of a ticket carries, normalised across tools (dates in UTC)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool_type: str
    tenant_id: str
    ticket_id: str = Field(min_length=1, max_length=256)
    display_key: str = ""
    subject: str = ""
    description: str = ""
    priority: Priority = Priority.MEDIUM
    priority_raw: str | None = None
    requester: str | None = None
    created_at: datetime | None = None
    status: str | None = None

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _as_utc(value)


class EventKeys:
    """The keys of a ticket event, for models with tool, tenant, ticket, event and delivery ids."""

    tool_type: str
    tenant_id: str
    ticket_id: str
    event_type: str
    delivery_id: str

    @property
    def dedupe_key(self) -> str:
        """The identity of one delivery: repeated deliveries share it, other tenants never do."""
        return f"{self.tool_type}#{self.tenant_id}#{self.delivery_id}"

    @property
    def event_key(self) -> str:
        """The identity of one ticket event: the worker posts one note per event key."""
        return f"{self.tool_type}#{self.tenant_id}#{self.ticket_id}#{self.event_type}"


class TicketMetadata(EventKeys, TicketFields):
    """What a webhook delivery tells us about a ticket."""

    event_type: str = "created"
    delivery_id: str = Field(min_length=1, max_length=512)


class JobTicket(EventKeys, BaseModel):
    """Which ticket event a queued job is for: ids only, never ticket text.

    Queues and dead-letter queues keep messages for up to 14 days, and the worker re-fetches the
    ticket anyway, so subject, description and requester never travel on the queue. ``extra`` is
    ignored so that messages queued in the older format (the whole ``TicketMetadata``) are still
    processed after a deploy.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    tool_type: str
    tenant_id: str
    ticket_id: str = Field(min_length=1, max_length=256)
    event_type: str = "created"
    delivery_id: str = Field(min_length=1, max_length=512)

    @classmethod
    def of(cls, metadata: TicketMetadata) -> JobTicket:
        return cls(
            tool_type=metadata.tool_type,
            tenant_id=metadata.tenant_id,
            ticket_id=metadata.ticket_id,
            event_type=metadata.event_type,
            delivery_id=metadata.delivery_id,
        )


class EnhancementJob(BaseModel):
    """The message on a tool's queue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str
    metadata: JobTicket
    queued_at: datetime

    @property
    def tool_type(self) -> str:
        return self.metadata.tool_type

    @property
    def tenant_id(self) -> str:
        return self.metadata.tenant_id


class TenantConfig(BaseModel):
    """A tenant's row in the tenant table (no secrets here: those live in Secrets Manager)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    tenant_id: str
    tool_type: str
    base_url: str
    enabled: bool = True
    webhook_auth: str | None = None
    secret_id: str
    options: dict[str, str] = Field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class TenantSecret(BaseModel):
    """A tenant's secret document; every value is a ``SecretStr`` so it never prints."""

    model_config = ConfigDict(frozen=True, extra="allow", hide_input_in_errors=True)

    webhook_secrets: list[SecretStr] = Field(default_factory=list)
    api_user: str | None = None
    api_token: SecretStr | None = None
    llm_api_key: SecretStr | None = None
    oauth_client_id: str | None = None  # ServiceNow OAuth client credentials
    oauth_client_secret: SecretStr | None = None
    zoho_client_id: str | None = None
    zoho_client_secret: SecretStr | None = None
    zoho_refresh_token: SecretStr | None = None

    @field_validator("webhook_secrets")
    @classmethod
    def _strong(cls, value: list[SecretStr]) -> list[SecretStr]:
        if any(not strong_secret(secret.get_secret_value()) for secret in value):
            raise ValueError(f"a webhook secret is shorter than {MIN_SECRET_BYTES} bytes")
        return value

    def webhook_secret_values(self) -> list[str]:
        return [s.get_secret_value() for s in self.webhook_secrets]


class Ticket(TicketFields):
    """The full ticket as fetched from the tool's REST API by the worker."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    url: str | None = None
    # The scope key similar tickets are drawn from (Jira project, Zendesk organisation, ServiceNow
    # company, Freshservice department, SDP site, Zammad organisation); "" when the ticket has none.
    scope: str = ""
    category: str = ""  # category / type as the tool names it ("" when unknown)
    group: str = ""  # assignment group / team, its name ("" when unassigned)
    group_id: str = ""  # its stable id where the tool has one: what triage votes match on
    extra: dict[str, Any] = Field(default_factory=dict)


NOTE_FOOTER_PREFIX = "Ticket Enhancer · job "


class Note(BaseModel):
    """An internal note to post: markdown body plus the job footer that makes posting idempotent."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    markdown: str
    job_id: str

    @property
    def footer(self) -> str:
        return f"{NOTE_FOOTER_PREFIX}{self.job_id}"
