"""The offline summary: what the description says, not its subject line again.

``summarize(ticket, assets)`` picks, without a model:

- **key sentences**: an extractive summary. Each sentence of the description is scored by term
  centrality (the mean, over its content words, of how often the word occurs in the whole
  description and subject: sentences about what the ticket keeps returning to score high), plus a
  bonus for the opening sentences, for sentences that carry an error, a code, an address or a
  symptom word, and a penalty for greetings and sign-offs and for repeating the subject. The best
  :data:`MAX_SENTENCES` are kept in their original order;
- **error messages and codes**: hex codes (``0x80070005``), HTTP statuses, vendor codes (``ORA-00942``,
  ``AADSTS50076``), ``SCREAMING_SNAKE`` error names and "error 1603"-style numbers;
- **affected users**: the requester, e-mail addresses, ``DOMAIN\\user`` logins, ``@handles`` and
  counts such as "30 users" or "the whole team";
- **hosts and addresses** (``enhance/network.py``) and the inventory's notes on a matched asset.

Everything returned is untrusted ticket or inventory text; the note renders it as plain text.
Input is capped (:data:`MAX_SCAN_CHARS`) and every pattern is linear, so hostile text costs little.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ticket_enhancer.enhance.bm25 import tokenize
from ticket_enhancer.enhance.network import extract_indicators
from ticket_enhancer.enhance.records import AssetMatch, Summary

if TYPE_CHECKING:
    from ticket_enhancer.enhance.context import EnhancementContext
    from ticket_enhancer.models import Ticket

__all__ = ["MAX_SENTENCES", "Summary", "SummaryStep", "error_codes", "key_sentences", "summarize"]

MAX_SENTENCES = 3
MAX_SENTENCE_CHARS = 280
MAX_SCAN_CHARS = 20_000
MAX_ITEMS = 8  # of each list

# Sentence ends: . ! ? followed by a space (so 10.0.0.1 and v1.2 are not ends), their CJK forms, and
# line breaks (lists, logs). Found with one character-class scan, decided in Python.
_ENDS = re.compile(r"[.!?\n\u3002\uff01\uff1f]")
_CJK_ENDS = frozenset("\u3002\uff01\uff1f\n")
_CODES = re.compile(
    r"\b0x[0-9A-Fa-f]{4,16}\b"
    r"|\b(?:ORA|TNS|AADSTS|SQLSTATE|CVE|KB|ERR|ERROR|E|EC|WSAE|NTE|DNS|SMTP|STATUS)[-_ ]?\d{3,9}\b"
    r"|\b(?:HTTP|http)[ /]?(?:1\.[01] |2 )?[1-5]\d\d\b"
    r"|\b[A-Z][A-Z0-9]{1,20}(?:_[A-Z0-9]{2,20}){1,6}\b"
    r"|(?i:\b(?:error|exit|event id|fehler|erreur|code)[ :#]{1,3}(?:code[ :#]{1,3})?-?\d{2,10}\b)"
)
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
_LOGIN = re.compile(r"\b[A-Za-z][\w-]{1,30}\\[A-Za-z][\w.-]{1,40}\b")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z][\w.-]{1,40}\b")
_USER_COUNT = re.compile(
    r"(?i)\b(?:\d{1,6}|all|several|many|multiple|some|the whole|entire|everyone in|all of)\s+"
    r"(?:of (?:our |the )?)?(?:users|people|employees|staff|colleagues|agents|customers|"
    r"team|department|office|site|branch|floor)\b"
)
# Words that say something is wrong (compared with a sentence's tokens: no extra scan).
_SYMPTOMS = frozenset(
    [
        "error",
        "errors",
        "fail",
        "fails",
        "failed",
        "failing",
        "failure",
        "exception",
        "denied",
        "cannot",
        "unable",
        "down",
        "timeout",
        "crash",
        "crashes",
        "crashed",
        "refused",
        "broken",
        "outage",
        "slow",
        "hangs",
        "stuck",
        "bounce",
        "bounces",
        "rejected",
        "fehler",
        "erreur",
        "fallo",
        "errore",
        "storing",
        "kaputt",
        "panne",
    ]
)
_PLEASANTRY = re.compile(
    r"(?i)^\W*(?:hi|hello|hey|dear|good (?:morning|afternoon)|thanks?|thank you|many thanks|regards|"
    r"best|cheers|kind regards|br|hallo|danke|bonjour|merci|hola|gracias|sent from)\b"
)


def _distinct(values: Sequence[str], limit: int = MAX_ITEMS) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for raw in values:
        value = raw.strip()
        if value and value.lower() not in seen:
            seen[value.lower()] = value
        if len(seen) >= limit:
            break
    return tuple(seen.values())


def _sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text``."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _ENDS.finditer(text):
        end = match.end()
        char = match.group(0)
        if char not in _CJK_ENDS and end < len(text) and not text[end].isspace():
            continue  # a dot inside an address, a version, a host name
        if text[start:end].strip():
            spans.append((start, end))
        start = end
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def _clip(sentence: str) -> str:
    sentence = " ".join(sentence.split())
    return (
        sentence if len(sentence) <= MAX_SENTENCE_CHARS else sentence[: MAX_SENTENCE_CHARS - 1].rstrip() + "…"
    )


def _rank_sentences(
    subject: str, description: str, code_starts: Sequence[int], limit: int
) -> tuple[str, ...]:
    spans = _sentences(description)
    if not spans:
        return ()
    tokens = [tokenize(description[a:b]) for a, b in spans]
    frequency: Counter[str] = Counter(tokenize(subject))
    for terms in tokens:
        frequency.update(terms)
    subject_terms = set(tokenize(subject))
    codes = sorted(code_starts)
    scored: list[tuple[float, int]] = []
    seen: set[tuple[str, ...]] = set()
    for index, ((start, end), terms) in enumerate(zip(spans, tokens, strict=True)):
        if not terms or tuple(terms) in seen:
            continue  # nothing to say, or said before (quoted replies, pasted twice)
        seen.add(tuple(terms))
        centrality = sum(frequency[t] for t in terms) / len(terms)
        score = centrality * min(1.0, len(terms) / 5)  # very short lines say little
        score *= 1.0 + 0.5 / (1 + index)  # the opening states the problem
        position = bisect_left(codes, start)
        if (position < len(codes) and codes[position] < end) or not _SYMPTOMS.isdisjoint(terms):
            score *= 1.5
        if len(terms) < 8 and _PLEASANTRY.match(description, start, end):
            score *= 0.2
        if subject_terms and set(terms) <= subject_terms:
            score *= 0.3  # says nothing the subject does not
        scored.append((score, index))
    best = sorted(scored, key=lambda pair: (-pair[0], pair[1]))[:limit]
    return tuple(_clip(description[spans[i][0] : spans[i][1]]) for i in sorted(i for _, i in best))


def key_sentences(subject: str, description: str, limit: int = MAX_SENTENCES) -> tuple[str, ...]:
    """The ``limit`` most central sentences of ``description``, in their original order."""
    description = description[:MAX_SCAN_CHARS]
    return _rank_sentences(subject, description, [m.start() for m in _CODES.finditer(description)], limit)


def error_codes(text: str) -> tuple[str, ...]:
    """Distinct error messages and codes in ``text`` (at most :data:`MAX_ITEMS`)."""
    return _distinct(_CODES.findall(text[:MAX_SCAN_CHARS]))


def _users(ticket: Ticket, text: str) -> tuple[str, ...]:
    found: list[str] = []
    if ticket.requester:
        found.append(f"{ticket.requester} (requester)")
    if "@" in text:
        found += _EMAIL.findall(text)
        found += _HANDLE.findall(text)
    if "\\" in text:
        found += _LOGIN.findall(text)
    found += [" ".join(m.split()) for m in _USER_COUNT.findall(text)]
    return _distinct(found)


def summarize(ticket: Ticket, assets: Sequence[AssetMatch] = ()) -> Summary:
    """Key sentences, codes, affected users, addresses and inventory notes of ``ticket``."""
    description = ticket.description[:MAX_SCAN_CHARS]
    text = f"{ticket.subject}\n{description}"
    indicators = extract_indicators(text)
    inventory: list[str] = []
    for match in assets:
        name = match.asset.name or match.asset.cidr_or_host
        inventory.append(f"{name}: {match.asset.notes}" if match.asset.notes else name)
    codes = list(_CODES.finditer(text))
    offset = len(ticket.subject) + 1  # code positions in the description
    return Summary(
        sentences=_rank_sentences(
            ticket.subject, description, [m.start() - offset for m in codes], MAX_SENTENCES
        ),
        codes=_distinct([m.group(0) for m in codes]),
        users=_users(ticket, text),
        addresses=_distinct([*indicators.addresses, *indicators.hosts]),
        inventory=_distinct(inventory, 4),
    )


class SummaryStep:
    """The summary of the ticket and its matched assets (CPU only: runs in a thread).

    It runs even when the asset lookup failed (``always_run``): the summary is then the ticket's.
    """

    name = "summary"
    requires: tuple[str, ...] = ("network_assets",)
    always_run = True

    async def run(self, ctx: EnhancementContext) -> None:
        import asyncio

        assets = ctx.items("network_assets", AssetMatch)
        ctx.results[self.name] = await asyncio.to_thread(summarize, ctx.ticket, assets)
