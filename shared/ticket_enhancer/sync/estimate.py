"""How long a first history import takes, from the vendors' documented page sizes and rate limits.

The README's table ("Importing history and knowledge") is :func:`table` at the default share; a
test keeps the two equal. Each plugin declares what its history listing costs
(``history_page_size``, ``history_calls_per_100``: requests per 100 resolved tickets, the list pages
and the per-ticket resolution calls together; ``documented_rate_limit_per_minute``); the figures in
:data:`COSTS` stand in for a plugin that does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ticket_enhancer.sync.ratelimit import DEFAULT_SHARE, DOCUMENTED_LIMITS


@dataclass(frozen=True)
class HistoryCost:
    page_size: int  # resolved tickets per history page
    calls_per_100: int  # requests per 100 tickets: pages and resolution calls
    limit: float  # documented requests a minute (lowest plan, or a conservative stand-in)
    list_limit: float | None = None  # the history endpoint's own cap, requests a minute


COSTS: dict[str, HistoryCost] = {
    "jira": HistoryCost(100, 1, DOCUMENTED_LIMITS["jira"]),  # comments inline
    "zendesk": HistoryCost(1000, 100 + 1, DOCUMENTED_LIMITS["zendesk"], 10.0),  # export; comments
    "servicenow": HistoryCost(100, 1, DOCUMENTED_LIMITS["servicenow"]),  # close_notes inline
    "freshservice": HistoryCost(100, 101, DOCUMENTED_LIMITS["freshservice"], 40.0),  # conversations
    "servicedesk_plus": HistoryCost(100, 101, DOCUMENTED_LIMITS["servicedesk_plus"]),  # resolutions
    "zammad": HistoryCost(100, 101, DOCUMENTED_LIMITS["zammad"]),  # articles per ticket
}


def _declared(plugin: object, name: str) -> float | None:
    value = getattr(plugin, name, None)
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else None
    )


def cost_of(tool: str, plugin: object = None) -> HistoryCost:
    """The plugin's declared costs, else the stand-ins."""
    base = COSTS[tool]
    return HistoryCost(
        page_size=int(_declared(plugin, "history_page_size") or base.page_size),
        calls_per_100=int(_declared(plugin, "history_calls_per_100") or base.calls_per_100),
        limit=_declared(plugin, "documented_rate_limit_per_minute") or base.limit,
        list_limit=base.list_limit,
    )


def first_import_minutes(
    tool: str, tickets: int, share: float = DEFAULT_SHARE, plugin: object = None
) -> float:
    """Minutes to list ``tickets`` resolved tickets and their resolutions at ``share`` of the limit."""
    cost = cost_of(tool, plugin)
    rate = share * cost.limit
    requests = math.ceil(tickets * cost.calls_per_100 / 100)
    pages = math.ceil(tickets / cost.page_size)
    listing = pages / min(rate, cost.list_limit) if cost.list_limit else 0.0
    return max(requests / rate, listing)


def duration(minutes: float) -> str:
    whole = math.ceil(minutes)
    hours, rest = divmod(whole, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def table(share: float = DEFAULT_SHARE) -> str:
    """The README's table: a Markdown row per built-in tool, from its plugin's declared costs."""
    from ticket_enhancer.plugins.registry import PluginManager

    rows = [
        "| tool | requests/min (share x limit) | tickets a page | requests per 100 tickets "
        "| 10,000 tickets | 100,000 tickets |",
        "|---|---|---|---|---|---|",
    ]
    for tool in COSTS:
        plugin = PluginManager().get_plugin(tool)
        cost = cost_of(tool, plugin)
        rows.append(
            f"| {tool} | {share * cost.limit:g} ({share:g} x {cost.limit:g}) | {cost.page_size:,} "
            f"| {cost.calls_per_100} | {duration(first_import_minutes(tool, 10_000, share, plugin))} "
            f"| {duration(first_import_minutes(tool, 100_000, share, plugin))} |"
        )
    return "\n".join(rows)
