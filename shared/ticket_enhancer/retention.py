"""How long the data we keep lives: a deployment default (a template parameter, passed to the worker
as an environment variable) and a per-tenant override (a tenant option).

- The processed-ticket index (ContextTable ``<tenant>#ticket`` items: subject and up to 4 KB of
  text): ``IndexRetentionDays`` -> ``INDEX_RETENTION_DAYS`` (365), option ``index_retention_days``;
  ``0`` means processed tickets are not indexed at all (no similar-ticket suggestions from them).
- Job history (JobsTable: ids, states, timings, never ticket text): ``HistoryRetentionDays`` ->
  ``HISTORY_RETENTION_DAYS`` (90), option ``history_retention_days``. At least 30 days: a job can
  wait 14 days in its queue and 14 more in the dead-letter queue, and its record is what keeps a
  redelivered job from posting a second note.

Both are DynamoDB TTLs (``expires_at``) written when the item is written: a change applies to items
written from then on. The README's "Data we keep" lists every other place and its retention.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DAY_SECONDS = 86_400
MAX_DAYS = 3650


@dataclass(frozen=True, slots=True)
class Setting:
    option: str  # the tenant option that overrides the default
    env: str  # the environment variable the template sets from its parameter
    parameter: str  # the template parameter
    default: int
    minimum: int

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not a valid setting, or None."""
        if parse_days(value, self.minimum) is None:
            return f"{self.option} must be a whole number of days from {self.minimum} to {MAX_DAYS}"
        return None

    def for_tenant(self, options: Mapping[str, str] | None) -> int | None:
        """The tenant's override, or None (then the deployment default applies)."""
        return parse_days((options or {}).get(self.option, ""), self.minimum)


INDEX = Setting("index_retention_days", "INDEX_RETENTION_DAYS", "IndexRetentionDays", 365, 0)
HISTORY = Setting("history_retention_days", "HISTORY_RETENTION_DAYS", "HistoryRetentionDays", 90, 30)
SETTINGS = (INDEX, HISTORY)


def parse_days(text: str, minimum: int) -> int | None:
    """``text`` as a number of days in ``[minimum, MAX_DAYS]``, or None."""
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        return None
    days = int(text)
    return days if minimum <= days <= MAX_DAYS else None


def option_problems(options: Mapping[str, str]) -> list[str]:
    """What is wrong with the retention options among ``options`` (the CLI refuses them)."""
    return [
        problem
        for setting in SETTINGS
        if setting.option in options and (problem := setting.problem(options[setting.option]))
    ]
