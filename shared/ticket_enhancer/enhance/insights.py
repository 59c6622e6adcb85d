"""The note's offline insight parts: duplicate/burst lead line, summary, triage, language.

Markdown lines for ``enhance/note.py`` to compose. Ticket and inventory text is passed through
:func:`~ticket_enhancer.render.untrusted` and collapsed to one line (it never starts a block or
makes a link); the only links are other tickets' stored URLs, made with
:func:`~ticket_enhancer.render.link`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ticket_enhancer.enhance.summary import summarize
from ticket_enhancer.render import link, untrusted

if TYPE_CHECKING:
    from ticket_enhancer.enhance.records import (
        DetectedLanguage,
        DuplicateSignal,
        FieldSuggestion,
        GatheredContext,
        IndexedTicket,
        TriageSuggestion,
    )

__all__ = ["duplicate_line", "language_line", "summary_lines", "triage_lines"]

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _inline(text: str, limit: int = 160) -> str:
    text = _SPACE.sub(" ", _CONTROL.sub(" ", untrusted(text))).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _code(text: str) -> str:
    return "`" + _inline(text, 80).replace("`", "'") + "`"


def _ticket_ref(ticket: IndexedTicket) -> str:
    label = _inline(ticket.label, 60) or "ticket"
    return link(label, ticket.url.strip()) if ticket.url.strip() else label


def duplicate_line(signal: DuplicateSignal | None) -> str:
    """The note's first line for a near-duplicate or a burst ("" when there is neither)."""
    if signal is None or not signal.tickets:
        return ""
    if signal.kind == "burst":
        refs = ", ".join(_ticket_ref(t) for t in signal.tickets)
        return (
            f"**{signal.count} similar tickets in the last {signal.window_minutes} minutes: "
            f"possible major incident** ({refs})"
        )
    top = signal.tickets[0]
    subject = _inline(top.subject, 120)
    return f"**Possible duplicate of {_ticket_ref(top)}**" + (f": {subject}" if subject else "")


def language_line(language: DetectedLanguage | None) -> str:
    if language is None:
        return "**Language:** not detected"
    return f"**Language:** {language.name} (`{language.code}`)"


def summary_lines(context: GatheredContext) -> list[str]:
    """The summary: key sentences, then codes, users, addresses and inventory notes when found."""
    summary = context.summary if context.summary is not None else summarize(context.ticket, context.assets)
    lines = ["**Summary:**", ""]
    if summary.sentences:
        lines += [f"- {_inline(sentence, 300)}" for sentence in summary.sentences]
    else:
        lines.append("- The description adds nothing to the subject; ask the requester for details.")
    facts: list[str] = []
    if summary.codes:
        facts.append("**Errors and codes:** " + ", ".join(_code(c) for c in summary.codes))
    if summary.users:
        facts.append("**Affected users:** " + ", ".join(_inline(u, 80) for u in summary.users))
    if summary.addresses:
        facts.append("**Hosts and addresses:** " + ", ".join(_code(a) for a in summary.addresses))
    if summary.inventory:
        facts.append("**Inventory notes:** " + "; ".join(_inline(n, 200) for n in summary.inventory))
    for fact in facts:
        lines += ["", fact]
    return lines


def _field(label: str, suggestion: FieldSuggestion | None, voters: int) -> str:
    if suggestion is None:
        return f"- {label}: no suggestion"
    return (
        f"- {label}: **{_inline(suggestion.value, 80)}** (confidence {suggestion.confidence:.2f}; "
        f"{suggestion.votes} of {voters} similar resolved tickets)"
    )


def triage_lines(triage: TriageSuggestion | None) -> list[str]:
    """The triage section ("" lines when there is no suggestion or triage is off)."""
    if not triage:
        return []
    return [
        "### Triage suggestion",
        "",
        _field("Category", triage.category, triage.voters),
        _field("Priority", triage.priority, triage.voters),
        _field("Assignment group", triage.group, triage.voters),
    ]
