"""Errors of the plugin system and of the vendor calls plugins make."""

from __future__ import annotations


class PluginError(Exception):
    """Base of every plugin-system error."""


class PluginValidationError(PluginError, TypeError):
    """A plugin failed validation at registration (the message says which rule)."""


class PluginNotFoundError(PluginError, LookupError):
    """No plugin is registered under the requested tool type."""

    def __init__(self, tool_type: str, registered: list[str]) -> None:
        self.tool_type = tool_type
        self.registered = registered
        listed = ", ".join(registered) if registered else "none"
        super().__init__(f"No plugin registered for tool_type {tool_type!r}; registered: {listed}")


class PluginUnavailableError(PluginError):
    """The plugin is registered but failed to load or set up, or is disabled."""


class PluginDependencyError(PluginError):
    """Pipeline steps cannot be ordered: a required step is missing or the requirements form a cycle."""


class WebhookEventIgnoredError(PluginError):
    """An authentic delivery of an event we do not act on (answered 200 ``ignored``; nothing queued)."""

    def __init__(self, event_type: str) -> None:
        self.event_type = event_type[:64]
        super().__init__(f"event {self.event_type!r} is not one this tool acts on")


class WebhookPayloadError(ValueError):
    """An authenticated delivery whose body is not usable (HTTP 400); the message is safe to return."""


class VendorError(Exception):
    """A call to a ticketing tool's REST API failed.

    ``retryable`` tells the worker whether a later attempt can succeed; ``status`` is the HTTP
    status when there was a response.
    """

    retryable = False
    # The metric an operator's alarm watches (the template's alarms), or None: failures that need a
    # person (refused credentials, a note that came out public), not the vendor being busy.
    alarm: str | None = None

    def __init__(self, message: str, *, tool_type: str, operation: str, status: int | None = None) -> None:
        self.tool_type = tool_type
        self.operation = operation
        self.status = status
        super().__init__(f"{tool_type} {operation}: {message}")


class VendorAuthError(VendorError):
    """401/403: the tenant's API credentials are wrong, expired or lack permission (final, alarmed)."""

    alarm = "VendorCredentialsRefused"


class VendorNotFoundError(VendorError):
    """404: the ticket does not exist or is not visible to the API user (final)."""


class VendorRequestError(VendorError):
    """Another 4xx: the request was refused as invalid (final, not retried through the DLQ)."""


class VendorNotePublicError(VendorRequestError):
    """The tool made our internal note visible to the customer (Jira: ``jsdPublic: true``); the note
    was deleted (or the message says why not). Final: posting again would do the same. Alarmed."""

    alarm = "NotesMadePublic"


class VendorRateLimitedError(VendorError):
    """429 (or 503 with Retry-After) after the waits one call allows; ``retry_after`` seconds if the
    tool said. The worker defers the record by that long (its visibility), not counted as a failure."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        tool_type: str,
        operation: str,
        retry_after: float | None,
        status: int = 429,
    ) -> None:
        super().__init__(message, tool_type=tool_type, operation=operation, status=status)
        self.retry_after = retry_after


class VendorUnavailableError(VendorError):
    """5xx or a transport failure where the request surely had no effect (retryable)."""

    retryable = True


class VendorOutcomeUnknownError(VendorError):
    """A non-idempotent request may or may not have taken effect (lost answer, timeout, 5xx).

    Before trying again the caller must look for the effect (the note's job footer).
    """

    retryable = True
