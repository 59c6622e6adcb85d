"""ServiceNow records as the Table API answers them, and the tables a tenant may enable.

``sysparm_display_value=all`` answers every field as ``{"display_value": ..., "value": ...}``: the
names people read (the caller's name, "New", "1 - Critical") beside the stored values (a sys_id,
"1"). Dates are read from ``value`` (UTC, ``YYYY-MM-DD HH:MM:SS``): their display value is in the
API user's time zone and date format.

Tables: ``incident`` always; ``sc_req_item`` (requested items) when the tenant's
``servicenow_tables`` option names it. A job's ticket id is the bare sys_id for an incident and
``<table>:<sys_id>`` for another table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from ticket_enhancer.plugins.base import text_field
from ticket_enhancer.plugins.fields import obj
from ticket_enhancer.urls import BaseUrlError

TABLES_OPTION = "servicenow_tables"
DEFAULT_TABLE = "incident"
# The tables this plugin knows (the fields it reads exist on each); a tenant enables a subset.
KNOWN_TABLES = frozenset({"incident", "sc_req_item"})
# Read as the stored value, not the display value (dates: UTC; ids: what the API is called with).
VALUE_FIELDS = frozenset(
    {"sys_id", "opened_at", "sys_created_on", "sys_updated_on", "resolved_at", "closed_at"}
)
# Who raised it: the incident's caller, the requested item's "requested for".
REQUESTER_FIELDS = ("caller_id", "requested_for", "opened_by")


def flatten(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` with each ``{"display_value", "value"}`` pair replaced by the one we read."""
    flat: dict[str, Any] = {}
    for key, field in record.items():
        if isinstance(field, dict) and ("display_value" in field or "value" in field):
            wanted = "value" if key in VALUE_FIELDS else "display_value"
            flat[key] = field.get(wanted) if field.get(wanted) not in (None, "") else field.get("value")
        else:
            flat[key] = field
    return flat


def enabled_tables(options: Mapping[str, str]) -> frozenset[str]:
    """The tenant's tables (``incident`` when the option is not set)."""
    raw = options.get(TABLES_OPTION, DEFAULT_TABLE)
    return frozenset(t.strip() for t in raw.split(",") if t.strip())


def check_tables_option(options: Mapping[str, str]) -> None:
    """``BaseUrlError`` (a refused onboarding) for an unknown or empty ``servicenow_tables``."""
    if TABLES_OPTION not in options:
        return
    tables = enabled_tables(options)
    unknown = sorted(tables - KNOWN_TABLES)
    if not tables or unknown:
        raise BaseUrlError(
            f"option {TABLES_OPTION} takes a comma-separated list of {', '.join(sorted(KNOWN_TABLES))}; "
            f"got {options[TABLES_OPTION][:80]!r}"
        )


def job_ticket_id(table: str, sys_id: str) -> str:
    """The ticket id a job carries: the sys_id for an incident, ``<table>:<sys_id>`` otherwise."""
    return sys_id if table in ("", DEFAULT_TABLE) else f"{table}:{sys_id}"


def split(ticket_id: str) -> tuple[str, str]:
    """``(table, sys_id)`` of a job's ticket id (raw or as a quoted path segment)."""
    table, sep, sys_id = unquote(ticket_id).partition(":")
    return (table, sys_id) if sep else (DEFAULT_TABLE, table)


def field_part(record: dict[str, Any], key: str, which: str) -> str:
    """``value`` or ``display_value`` of a field answered with ``sysparm_display_value=all``."""
    field = record.get(key)
    return text_field(obj(field).get(which)) if isinstance(field, dict) else text_field(field)
