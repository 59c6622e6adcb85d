"""Secret values from the operator, and the tenant's two secret documents in Secrets Manager.

Secrets never need the command line (where shell history and ``ps`` keep them): a value of ``-``
is read from standard input, and ``TICKET_ENHANCER_WEBHOOK_SECRET`` / ``TICKET_ENHANCER_API_TOKEN``
are read when ``tenants add`` is not given the option. No function here prints a value.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from ticket_enhancer.tenants import webhook_secret_name

from ticket_enhancer_dev.cli.errors import CliError

ENV_WEBHOOK_SECRET = "TICKET_ENHANCER_WEBHOOK_SECRET"  # noqa: S105 # nosec B105 # a variable name
ENV_API_TOKEN = "TICKET_ENHANCER_API_TOKEN"  # noqa: S105 # nosec B105 # a variable name
STDIN = "-"

# Keys of the API secret that `tenants update --credential KEY=VALUE` may set (contract).
SECRET_KEYS = ("api_token", "llm_api_key", "oauth_client_secret", "zoho_client_secret", "zoho_refresh_token")
PLAIN_KEYS = ("api_user", "oauth_client_id", "zoho_client_id")
CREDENTIAL_KEYS = PLAIN_KEYS + SECRET_KEYS


class ValueReader:
    """Resolves option values: ``-`` reads standard input, once per command."""

    def __init__(self, stdin: Callable[[], str] | None = None) -> None:
        self._stdin = stdin or sys.stdin.read
        self._used_by: str | None = None

    def value(self, given: str | None, what: str, env: str | None = None) -> str | None:
        """The value for option ``what``: given, from stdin (``-``), from ``env``, or None."""
        if given is None and env is not None:
            given = os.environ.get(env) or None
        if given != STDIN:
            return given
        if self._used_by is not None:
            raise CliError(f"{what} and {self._used_by} both ask for standard input: give one another way")
        self._used_by = what
        text = self._stdin().rstrip("\r\n")
        if not text.strip():
            raise CliError(f"{what} -: nothing was read from standard input")
        if "\n" in text:
            raise CliError(f"{what} -: standard input holds more than one line")
        return text


def parse_credentials(pairs: list[str], reader: ValueReader) -> dict[str, str]:
    """``--credential KEY=VALUE`` (or ``KEY=-``) pairs, keys checked against the contract's list."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CliError(f"--credential takes KEY=VALUE or KEY=-, got {key!r} without '='")
        if key not in CREDENTIAL_KEYS:
            raise CliError(f"--credential {key!r} is not a credential; known: {', '.join(CREDENTIAL_KEYS)}")
        value = reader.value(raw, f"--credential {key}")
        if value is None or not value.strip():
            raise CliError(f"--credential {key} needs a value")
        values[key] = value
    return values


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def read_document(sm: Any, secret_id: str) -> dict[str, Any] | None:
    """A secret's JSON document; None when the secret does not exist."""
    try:
        text = sm.get_secret_value(SecretId=secret_id)["SecretString"]
    except Exception as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    document = json.loads(text or "{}")
    return document if isinstance(document, dict) else {}


def write_document(sm: Any, secret_id: str, document: Mapping[str, Any]) -> None:
    """Store ``document`` as the secret's current value, creating the secret if needed."""
    text = json.dumps(dict(document))
    try:
        sm.put_secret_value(SecretId=secret_id, SecretString=text)
    except Exception as exc:
        if _error_code(exc) != "ResourceNotFoundException":
            raise
        sm.create_secret(Name=secret_id, SecretString=text)


def webhook_secrets(sm: Any, api_secret_id: str) -> list[str]:
    """The tenant's current webhook secrets (newest first), in either layout."""
    document = read_document(sm, api_secret_id + "/webhook")
    if document is None:  # a tenant from before the split
        document = read_document(sm, api_secret_id) or {}
    found = document.get("webhook_secrets") or []
    return [str(s) for s in found] if isinstance(found, list) else []


def store_webhook_secrets(sm: Any, tool: str, tenant_id: str, secrets: list[str]) -> None:
    """Write the webhook secret, and drop any pre-split copy from the API secret."""
    api_secret_id = webhook_secret_name(tool, tenant_id).removesuffix("/webhook")
    write_document(sm, webhook_secret_name(tool, tenant_id), {"webhook_secrets": secrets})
    legacy = read_document(sm, api_secret_id)
    if legacy is not None and "webhook_secrets" in legacy:
        legacy.pop("webhook_secrets")
        write_document(sm, api_secret_id, legacy)


def delete_secret(sm: Any, secret_id: str) -> bool:
    """Delete a secret now (no recovery window); False when it did not exist."""
    try:
        sm.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
    except Exception as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return False
        raise
    return True
