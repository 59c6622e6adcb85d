"""The offline note: structured markdown written from the gathered context, without a model.

It is the note when a tenant uses no model and the fallback when the model fails. Text from tickets,
articles and the inventory goes through :func:`_inline`: collapsed to one line and cut, so it cannot
start blocks of its own, and passed through :func:`~ticket_enhancer.render.untrusted`, so brackets
and URLs in it stay plain text. The only live links are the similar tickets' and articles' stored
URLs, made with :func:`~ticket_enhancer.render.link`. The renderer still treats the whole note as
hostile.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ticket_enhancer.enhance.insights import duplicate_line, language_line, summary_lines, triage_lines
from ticket_enhancer.enhance.note_context import article_line, similar_ticket_line
from ticket_enhancer.enhance.records import AssetMatch, GatheredContext
from ticket_enhancer.models import Priority
from ticket_enhancer.render import link, untrusted

__all__ = ["STEP_LABELS", "compose_offline_note", "unavailable_line"]

STEP_LABELS: dict[str, str] = {
    "ticket_context": "ticket context",
    "similar_tickets": "similar tickets",
    "knowledge": "knowledge articles",
    "network_assets": "network/asset matches",
    "language": "language detection",
    "summary": "summary",
    "indexed_tickets": "ticket history",
    "triage": "triage suggestion",
    "duplicates": "duplicate check",
    "synthesis": "AI summary",
}
MAX_NEXT_STEPS = 6

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _inline(text: str, limit: int = 160) -> str:
    """Untrusted text as one line of plain text (never a link), at most ``limit`` characters."""
    text = _SPACE.sub(" ", _CONTROL.sub(" ", untrusted(text))).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _code(text: str) -> str:
    return "`" + _inline(text, 80).replace("`", "'") + "`"


def _link(label: str, url: str) -> str:
    """A live link to a URL from our own records, its untrusted label cut to one line."""
    return link(_inline(label), url.strip())


def _asset_line(match: AssetMatch) -> str:
    asset = match.asset
    name = _inline(asset.name, 80) or "unnamed asset"
    line = f"{_code(match.indicator)} is **{name}** ({_code(asset.cidr_or_host)})"
    notes = _inline(asset.notes, 200)
    return f"{line}: {notes}" if notes else line


def _next_steps(context: GatheredContext) -> list[str]:
    ticket = context.ticket
    steps: list[str] = []
    if ticket.priority in (Priority.CRITICAL, Priority.HIGH):
        steps.append(
            f"Priority is {ticket.priority.value}: confirm the business impact and follow the "
            f"escalation path for {ticket.priority.value} tickets."
        )
    if context.similar:
        top = context.similar[0]
        steps.append(f"Compare with {_inline(top.label, 60)}; reuse its resolution if the symptoms match.")
    if context.articles:
        steps.append(f"Work through the knowledge article “{_inline(context.articles[0].title, 100)}”.")
    seen: set[str] = set()
    for match in context.assets:
        key = match.asset.cidr_or_host
        if key in seen:
            continue
        seen.add(key)
        name = _inline(match.asset.name, 80) or _inline(key, 80)
        steps.append(f"Check the health and recent changes of **{name}** ({_code(match.indicator)}).")
    if not (context.similar or context.articles or context.assets):
        steps.append(
            "Ask the requester for the affected system or address, the exact error message "
            "and when it started."
        )
    return steps[:MAX_NEXT_STEPS]


def compose_offline_note(context: GatheredContext) -> str:
    """A deterministic markdown note: a duplicate/burst line first when there is one, then the
    summary, language, priority, triage suggestion, similar tickets, articles, assets, next steps."""
    ticket = context.ticket
    priority = ticket.priority.value.capitalize()
    if ticket.priority_raw and ticket.priority_raw.strip().lower() != ticket.priority.value:
        priority += f" (tool: {_inline(ticket.priority_raw, 40)})"
    lead = duplicate_line(context.duplicates)
    lines = [lead, ""] if lead else []
    key = _inline(ticket.display_key or ticket.ticket_id, 60)
    subject = _inline(ticket.subject, 200) or "(no subject)"
    lines += ["### Ticket Enhancer summary", "", f"**Ticket:** {key}: {subject}", ""]
    lines += [*summary_lines(context), ""]
    lines += [language_line(context.language), "", f"**Priority:** {priority}", ""]
    triage = triage_lines(context.triage)
    lines += [*triage, ""] if triage else []
    lines += ["### Similar tickets", ""]
    lines += [f"- {similar_ticket_line(s)}" for s in context.similar] or ["- No similar tickets found."]
    lines += ["", "### Knowledge articles", ""]
    lines += [f"- {article_line(a)}" for a in context.articles] or ["- No matching knowledge articles."]
    lines += ["", "### Network and asset matches", ""]
    lines += [f"- {_asset_line(m)}" for m in context.assets] or [
        "- No address or host in the ticket is in the inventory."
    ]
    lines += ["", "### Suggested next steps", ""]
    lines += [f"{n}. {step}" for n, step in enumerate(_next_steps(context), 1)]
    return "\n".join(lines)


def unavailable_line(reasons: Mapping[str, str], order: Sequence[str] = ()) -> str:
    """``Unavailable for this note: similar tickets (timeout), ...`` or ``""`` when nothing was."""
    names = [n for n in order if n in reasons] + sorted(n for n in reasons if n not in order)
    if not names:
        return ""
    parts = [f"{STEP_LABELS.get(n, n.replace('_', ' '))} ({reasons[n]})" for n in names]
    return "Unavailable for this note: " + ", ".join(parts)
