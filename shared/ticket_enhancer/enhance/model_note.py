"""The note with a model: the model's checked parts first, then the offline note's parts.

The model's text is untrusted even after :func:`~ticket_enhancer.enhance.model_output.parse_answer`:
each value is collapsed to one line of plain text (no headings, lists or links of its own: brackets
and URLs stay text) and cut, then placed under our own headings. The offline note that follows keeps
the live links to the gathered data (similar tickets, articles), made by ``render.link`` only.
"""

from __future__ import annotations

import re

from ticket_enhancer.enhance.model_output import TRIAGE_FIELDS, ModelAnswer, TriageGuess
from ticket_enhancer.render import untrusted

__all__ = ["AI_HEADING", "compose_model_note", "plain_line"]

AI_HEADING = "### AI summary"
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LABELS = {"category": "category", "priority": "priority", "group": "group"}


def plain_line(text: str, limit: int) -> str:
    """Untrusted text as one line: no control characters, no link markers, at most ``limit`` long.

    A leading ``#``, ``-`` or digit-dot cannot start a block since the text never starts a line of
    the note on its own (it always follows our label or list marker)."""
    text = _SPACE.sub(" ", _CONTROL.sub(" ", untrusted(text))).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _guess(name: str, guess: TriageGuess) -> str:
    return f"{_LABELS[name]} **{plain_line(guess.value, 120)}** ({round(guess.confidence * 100)} %)"


def compose_model_note(answer: ModelAnswer, offline_markdown: str) -> str:
    """The model's summary, likely cause, questions and triage, then the offline note."""
    lines = [AI_HEADING, "", f"**Summary:** {plain_line(answer.summary, 1_200)}"]
    if answer.likely_cause:
        lines += ["", f"**Likely cause:** {plain_line(answer.likely_cause, 800)}"]
    questions = [q for q in (plain_line(q, 300) for q in answer.open_questions) if q]
    if questions:
        lines += ["", "**Questions for the requester:**", ""]
        lines += [f"- {q}" for q in questions]
    guesses = [_guess(n, getattr(answer.triage, n)) for n in TRIAGE_FIELDS if getattr(answer.triage, n).value]
    if guesses:
        lines += ["", "**Suggested triage (AI):** " + ", ".join(guesses)]
    return "\n".join(lines) + "\n\n" + offline_markdown
