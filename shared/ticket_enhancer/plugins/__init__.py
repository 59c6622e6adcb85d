"""The plugin system: base class, models, registry and errors (the contract's public surface)."""

from ticket_enhancer.models import Note, Ticket, TicketMetadata
from ticket_enhancer.plugins.base import TicketingToolPlugin, WebhookEvent
from ticket_enhancer.plugins.context import Headers, TenantContext, WebhookRequest
from ticket_enhancer.plugins.dependencies import resolve_order
from ticket_enhancer.plugins.errors import (
    PluginDependencyError,
    PluginError,
    PluginNotFoundError,
    PluginUnavailableError,
    PluginValidationError,
)
from ticket_enhancer.plugins.registry import (
    ENTRY_POINT_GROUP,
    PLUGIN_API_VERSION,
    PluginManager,
    PluginState,
    PluginStatus,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "PLUGIN_API_VERSION",
    "Headers",
    "Note",
    "PluginDependencyError",
    "PluginError",
    "PluginManager",
    "PluginNotFoundError",
    "PluginState",
    "PluginStatus",
    "PluginUnavailableError",
    "PluginValidationError",
    "TenantContext",
    "Ticket",
    "TicketMetadata",
    "TicketingToolPlugin",
    "WebhookEvent",
    "WebhookRequest",
    "resolve_order",
]
