"""How long a first history import takes, from the vendors' documented page sizes and rate limits.

The README's table ("Importing history and knowledge") is :func:`table` at the default share; a
test keeps the two equal. A plugin may declare ``history_page_size`` and
``api_rate_limit_per_minute`` (the sources know their endpoints best); the figures below stand in
until it does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ticket_enhancer.sync.ratelimit import DEFAULT_SHARE, DOCUMENTED_LIMITS


@dataclass(frozen=True)
class HistoryCost:
    page_size: int  # resolved tickets per history page
    calls_per_ticket: int  # further requests per ticket for its resolution text
    list_limit: float | None = None  # the history endpoint's own cap, requests a minute
    source: str = ""  # where the numbers come from


COSTS: dict[str, HistoryCost] = {
    "jira": HistoryCost(100, 0, None, "search/jql, comments inline; no fixed published limit"),
    "zendesk": HistoryCost(1000, 1, 10.0, "incremental export: 1,000 a page, 10 requests/min; comments"),
    "servicenow": HistoryCost(100, 0, None, "Table API, close_notes inline; admin-defined limits"),
    "freshservice": HistoryCost(100, 1, 40.0, "per_page 100, list 40/min (Starter); conversations"),
    "servicedesk_plus": HistoryCost(100, 1, None, "row_count 100; resolutions per request"),
    "zammad": HistoryCost(100, 1, None, "per_page 100; articles per ticket; no default limit"),
}


def first_import_minutes(
    tool: str, tickets: int, share: float = DEFAULT_SHARE, plugin: object = None
) -> float:
    """Minutes to list ``tickets`` resolved tickets and their resolutions at ``share`` of the limit."""
    cost = COSTS[tool]
    page_size = getattr(plugin, "history_page_size", None) or cost.page_size
    limit = getattr(plugin, "api_rate_limit_per_minute", None) or DOCUMENTED_LIMITS[tool]
    rate = share * float(limit)
    pages = math.ceil(tickets / int(page_size))
    requests = pages + tickets * cost.calls_per_ticket
    listing = pages / min(rate, cost.list_limit) if cost.list_limit else 0.0
    return max(requests / rate, listing)


def duration(minutes: float) -> str:
    whole = math.ceil(minutes)
    hours, rest = divmod(whole, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def table(share: float = DEFAULT_SHARE) -> str:
    """The README's table: a Markdown row per tool."""
    rows = [
        "| tool | requests/min (share x limit) | tickets a page | calls per ticket "
        "| 10,000 tickets | 100,000 tickets |",
        "|---|---|---|---|---|---|",
    ]
    for tool, cost in COSTS.items():
        rate = share * DOCUMENTED_LIMITS[tool]
        rows.append(
            f"| {tool} | {rate:g} ({share:g} x {DOCUMENTED_LIMITS[tool]:g}) | {cost.page_size:,} "
            f"| {cost.calls_per_ticket} | {duration(first_import_minutes(tool, 10_000, share))} "
            f"| {duration(first_import_minutes(tool, 100_000, share))} |"
        )
    return "\n".join(rows)
