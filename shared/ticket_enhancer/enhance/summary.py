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
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ticket_enhancer.enhance.bm25 import tokenize
from ticket_enhancer.enhance.network import extract_indicators

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ticket_enhancer.enhance.records import AssetMatch
    from ticket_enhancer.models import Ticket

__all__ = ["MAX_SENTENCES", "Summary", "error_codes", "key_sentences", "summarize"]

MAX_SENTENCES = 3
MAX_SENTENCE_CHARS = 280
MAX_SCAN_CHARS = 20_000
MAX_ITEMS = 8  # of each list

# Sentence ends: . ! ? and their CJK forms followed by space, or a line break (lists, logs).
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+|(?<=[\u3002\uff01\uff1f])|\n+")
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
_SYMPTOM = re.compile(
    r"(?i)\b(?:error|fail\w*|exception|denied|cannot|can't|unable|not working|down|timeout|timed out|"
    r"crash\w*|refused|broken|outage|slow|fehler|erreur|fallo|errore|storing|kaputt|panne)\b"
)
_PLEASANTRY = re.compile(
    r"(?i)^\W*(?:hi|hello|hey|dear|good (?:morning|afternoon)|thanks?|thank you|many thanks|regards|"
    r"best|cheers|kind regards|br|hallo|danke|bonjour|merci|hola|gracias|sent from)\b"
)


@dataclass(frozen=True, slots=True)
class Summary:
    """What the offline note's summary shows (all untrusted text)."""

    sentences: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()  # IP addresses and host names
    inventory: tuple[str, ...] = ()  # "name: notes" of matched assets

    def __bool__(self) -> bool:
        return any((self.sentences, self.codes, self.users, self.addresses, self.inventory))


def _distinct(values: Sequence[str], limit: int = MAX_ITEMS) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for raw in values:
        value = raw.strip()
        if value and value.lower() not in seen:
            seen[value.lower()] = value
        if len(seen) >= limit:
            break
    return tuple(seen.values())


def _split(text: str) -> list[str]:
    return [" ".join(part.split()) for part in _SENTENCE_END.split(text) if part and part.strip()]


def key_sentences(subject: str, description: str, limit: int = MAX_SENTENCES) -> tuple[str, ...]:
    """The ``limit`` most central sentences of ``description``, in their original order."""
    sentences = _split(description[:MAX_SCAN_CHARS])
    if not sentences:
        return ()
    frequency = Counter(tokenize(f"{subject}\n{description[:MAX_SCAN_CHARS]}"))
    subject_terms = set(tokenize(subject))
    scored: list[tuple[float, int]] = []
    for index, sentence in enumerate(sentences):
        terms = tokenize(sentence)
        if not terms:
            continue
        centrality = sum(frequency[t] for t in terms) / len(terms)
        score = centrality * min(1.0, len(terms) / 5)  # very short lines say little
        score *= 1.0 + 0.5 / (1 + index)  # the opening states the problem
        if _SYMPTOM.search(sentence) or _CODES.search(sentence):
            score *= 1.5
        if _PLEASANTRY.match(sentence) and len(terms) < 8:
            score *= 0.2
        if subject_terms and set(terms) <= subject_terms:
            score *= 0.3  # says nothing the subject does not
        scored.append((score, index))
    best = sorted(scored, key=lambda pair: (-pair[0], pair[1]))[:limit]
    chosen = sorted(index for _, index in best)
    return tuple(
        s if len(s) <= MAX_SENTENCE_CHARS else s[: MAX_SENTENCE_CHARS - 1].rstrip() + "…"
        for s in (sentences[i] for i in chosen)
    )


def error_codes(text: str) -> tuple[str, ...]:
    """Distinct error messages and codes in ``text`` (at most :data:`MAX_ITEMS`)."""
    return _distinct(_CODES.findall(text[:MAX_SCAN_CHARS]))


def _users(ticket: Ticket, text: str) -> tuple[str, ...]:
    found: list[str] = []
    if ticket.requester:
        found.append(f"{ticket.requester} (requester)")
    found += _EMAIL.findall(text)
    found += _LOGIN.findall(text)
    found += _HANDLE.findall(text)
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
    return Summary(
        sentences=key_sentences(ticket.subject, description),
        codes=error_codes(text),
        users=_users(ticket, text),
        addresses=_distinct([*indicators.addresses, *indicators.hosts]),
        inventory=_distinct(inventory, 4),
    )
