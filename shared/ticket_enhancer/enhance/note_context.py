"""How similar tickets and knowledge articles appear in the note and in the model's prompt.

* A similar ticket: its key and subject, linked to its stored URL (:func:`~ticket_enhancer.render.link`),
  when it was resolved (else opened), and a short excerpt of how it was resolved.
* An article: its title, linked to its stored URL, and the passage that matched the ticket
  (the steps put the best-matching passage in ``Article.body``).

Text from other tickets is someone else's: every excerpt of one (subject, text, resolution) goes
through :func:`_excerpt`, which masks personal data
(:func:`~ticket_enhancer.enhance.pii.mask_personal_data`: e-mail addresses, phone numbers, card and
account numbers, national ids), then collapses it to one line of plain text
(:func:`~ticket_enhancer.render.untrusted`: it can never make a link) and cuts it. Article text is
published knowledge and only collapsed and cut (:func:`_passage`).
"""

from __future__ import annotations

import re

from ticket_enhancer.enhance.pii import mask_personal_data
from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.render import link, untrusted

__all__ = [
    "EXCERPT_CHARS",
    "article_line",
    "article_prompt_fields",
    "similar_prompt_fields",
    "similar_ticket_line",
    "when",
]

EXCERPT_CHARS = 220  # of a resolution or a passage in the note
PROMPT_ITEM_CHARS = 900

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def _one_line(text: str, limit: int) -> str:
    text = _SPACE.sub(" ", _CONTROL.sub(" ", untrusted(text))).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Another ticket's or an article's text, personal data masked, as one plain line of ``limit``."""
    # Mask before cutting (a cut must not leave half an address unmasked), on a bounded input.
    return _one_line(mask_personal_data(text[: limit * 4]), limit)


def when(ticket: IndexedTicket) -> str:
    """``resolved 2026-01-05`` (or ``opened ...``) from the ticket's ISO times; ``""`` without one."""
    if ticket.resolved[:10]:
        return f"resolved {_one_line(ticket.resolved[:10], 10)}"
    return f"opened {_one_line(ticket.created[:10], 10)}" if ticket.created[:10] else ""


def similar_ticket_line(ticket: IndexedTicket) -> str:
    """``[KEY: subject](url) (resolved 2026-01-05): how it was resolved`` as note markdown."""
    label = f"{ticket.label}: {ticket.subject}" if ticket.subject else ticket.label
    line = link(_excerpt(label, 160), ticket.url.strip())
    stamp = when(ticket)
    if stamp:
        line += f" ({stamp})"
    resolution = _excerpt(ticket.resolution)
    return f"{line}. Resolution: “{resolution}”" if resolution else line


def _passage(text: str, limit: int = EXCERPT_CHARS) -> str:
    """An article's text as one plain line: published knowledge, not masked (a help desk's phone
    number in an article is the point of it)."""
    return _one_line(text[: limit * 4], limit)


def article_line(article: Article) -> str:
    """``[title](url): “the passage that matched”`` as note markdown."""
    line = link(_passage(article.title or article.url, 160), article.url.strip())
    passage = _passage(article.body)
    return f"{line}: “{passage}”" if passage else line


def similar_prompt_fields(ticket: IndexedTicket) -> list[tuple[str, str, int]]:
    """The ``<similar_ticket>`` block's fields (label, masked value, limit) for the prompt."""
    return [
        ("Key", ticket.label, 200),
        ("URL", ticket.url, 500),
        ("Subject", _excerpt(ticket.subject, 300), 300),
        ("When", when(ticket), 40),
        ("Text", _excerpt(ticket.text, PROMPT_ITEM_CHARS), PROMPT_ITEM_CHARS),
        ("Resolution", _excerpt(ticket.resolution, PROMPT_ITEM_CHARS), PROMPT_ITEM_CHARS),
    ]


def article_prompt_fields(article: Article) -> list[tuple[str, str, int]]:
    """The ``<knowledge_article>`` block's fields: title, URL and the matching passage."""
    return [
        ("Title", article.title, 300),
        ("URL", article.url, 500),
        ("Passage", _passage(article.body, PROMPT_ITEM_CHARS), PROMPT_ITEM_CHARS),
    ]
