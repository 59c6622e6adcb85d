"""``Settings``: everything a function reads from its environment, parsed and checked once at init.

The template sets these variables (``scripts/template/``: ``Globals`` and each function's own); the
local stack sets the same ones plus ``TICKET_ENHANCER_LOCAL=1``. A missing resource name or a
malformed value fails the function's init with a ``SettingsError`` naming the variable: nothing
falls back to a made-up table name or silently ignores a bad number. Code below the handlers gets
values, never the environment: the "local" switch is ``Settings.local``, injected where it matters
(loopback base URLs allowed, no host pinning).

``TICKET_ENHANCER_TOOL`` and ``TICKET_ENHANCER_ENTRY_POINTS`` are the plugin registry's
(``plugins.registry``), read where a function loads its plugin.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ticket_enhancer.retention import HISTORY, INDEX, MAX_DAYS, Setting, parse_days
from ticket_enhancer.urls import ALLOWED_PRIVATE_CIDRS_ENV, IPNetwork, parse_private_cidrs

TENANTS_TABLE = "TENANTS_TABLE"
DELIVERIES_TABLE = "DELIVERIES_TABLE"
JOBS_TABLE = "JOBS_TABLE"
CONTEXT_TABLE = "CONTEXT_TABLE"
CONTEXT_INDEX_BUCKET = "CONTEXT_INDEX_BUCKET"
QUEUE_URL = "QUEUE_URL"
TENANT_CACHE_SECONDS = "TENANT_CACHE_SECONDS"
CONTEXT_CACHE_SECONDS = "CONTEXT_CACHE_SECONDS"
SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
LOCAL = "TICKET_ENHANCER_LOCAL"

DEFAULT_SERVICE = "ticket-enhancer"
DEFAULT_NAMESPACE = "TicketEnhancer"
DEFAULT_TENANT_CACHE_SECONDS = 300.0
DEFAULT_CONTEXT_CACHE_SECONDS = 60.0
MAX_CACHE_SECONDS = 86_400.0


class SettingsError(ValueError):
    """A variable is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """A function's configuration. ``for_webhook``/``for_worker`` parse the environment."""

    tenants_table: str
    deliveries_table: str
    queue_url: str | None  # the worker's own queue (visibility on rate limits); the webhook's target
    jobs_table: str | None = None  # worker only
    context_table: str | None = None  # worker only
    context_index_bucket: str | None = None  # worker: the tenants' search indexes (unset: none)
    tenant_cache_seconds: float = DEFAULT_TENANT_CACHE_SECONDS
    context_cache_seconds: float = DEFAULT_CONTEXT_CACHE_SECONDS
    index_retention_days: int = INDEX.default
    history_retention_days: int = HISTORY.default
    service_name: str = DEFAULT_SERVICE
    metrics_namespace: str = DEFAULT_NAMESPACE
    local: bool = False  # `local up`: loopback base URLs allowed, hosts not pinned
    # worker: the operator's AllowedPrivateCidrs (workers in a VPC; urls.parse_private_cidrs)
    private_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def for_webhook(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            tenants_table=_required(env, TENANTS_TABLE),
            deliveries_table=_required(env, DELIVERIES_TABLE),
            queue_url=_required(env, QUEUE_URL),
            tenant_cache_seconds=_seconds(env, TENANT_CACHE_SECONDS, DEFAULT_TENANT_CACHE_SECONDS),
            service_name=env.get(SERVICE_NAME) or DEFAULT_SERVICE,
            metrics_namespace=env.get(METRICS_NAMESPACE) or DEFAULT_NAMESPACE,
            local=_flag(env, LOCAL),
        )

    @classmethod
    def for_worker(cls, env: Mapping[str, str]) -> Settings:
        """The worker's; without ``QUEUE_URL`` (a harness with no queue) a rate-limited job keeps
        the queue's own visibility timeout instead of the vendor's Retry-After."""
        return cls(
            tenants_table=_required(env, TENANTS_TABLE),
            deliveries_table=_required(env, DELIVERIES_TABLE),
            queue_url=env.get(QUEUE_URL) or None,
            jobs_table=_required(env, JOBS_TABLE),
            context_table=_required(env, CONTEXT_TABLE),
            context_index_bucket=env.get(CONTEXT_INDEX_BUCKET, "").strip() or None,
            tenant_cache_seconds=_seconds(env, TENANT_CACHE_SECONDS, DEFAULT_TENANT_CACHE_SECONDS),
            context_cache_seconds=_seconds(env, CONTEXT_CACHE_SECONDS, DEFAULT_CONTEXT_CACHE_SECONDS),
            index_retention_days=_days(env, INDEX),
            history_retention_days=_days(env, HISTORY),
            service_name=env.get(SERVICE_NAME) or DEFAULT_SERVICE,
            metrics_namespace=env.get(METRICS_NAMESPACE) or DEFAULT_NAMESPACE,
            local=_flag(env, LOCAL),
            private_networks=_private_networks(env),
        )


def _private_networks(env: Mapping[str, str]) -> tuple[IPNetwork, ...]:
    try:
        return parse_private_cidrs(env.get(ALLOWED_PRIVATE_CIDRS_ENV, ""))
    except ValueError as exc:
        raise SettingsError(f"{ALLOWED_PRIVATE_CIDRS_ENV}: {exc}") from None


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set: the template sets it on every function that needs it")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_CACHE_SECONDS:  # NaN fails too
        raise SettingsError(
            f"{name} must be a number of seconds from 0 to {MAX_CACHE_SECONDS:g}, not {raw!r}"
        )
    return value


def _days(env: Mapping[str, str], setting: Setting) -> int:
    raw = env.get(setting.env, "").strip()
    if not raw:
        return setting.default
    days = parse_days(raw, setting.minimum)
    if days is None:
        raise SettingsError(
            f"{setting.env} must be a whole number of days from {setting.minimum} to {MAX_DAYS}, not {raw!r}"
        )
    return days


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip()
    if raw not in ("", "0", "1"):
        raise SettingsError(f"{name} must be 1 or 0 (or unset), not {raw!r}")
    return raw == "1"
