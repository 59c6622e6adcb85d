"""The model's structured answer: its JSON schema, and the checks every answer must pass.

The model is asked for one JSON object (:func:`answer_schema`): a short summary, the likely cause
when the data supports one, open questions for the requester and a triage suggestion (category,
priority, group, each with a confidence). Providers request it natively where they can (Bedrock
Converse tool use, OpenAI-compatible ``response_format``), but whatever comes back is untrusted and
:func:`parse_answer` checks it all again:

* at most :data:`MAX_ANSWER_CHARS` characters, valid JSON, the schema's fields and lengths
  (pydantic), a non-empty summary;
* each triage value one of the tenant's values (those its similar tickets and this ticket carry,
  from the tool's own history); no known value for a field means no suggestion for it;
* no URL other than those of the gathered data (similar tickets', articles') or on the tenant's
  own site: a model that writes another URL was most likely steered by text in a ticket or an
  article (prompt injection).

A failed check raises :class:`ModelOutputError` with its reason; the caller uses the offline note.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ticket_enhancer.enhance.errors import SynthesisError
from ticket_enhancer.enhance.records import ModelReply  # a provider's raw answer (records: cheap at init)

if TYPE_CHECKING:
    from ticket_enhancer.enhance.records import GatheredContext

__all__ = [
    "MAX_ANSWER_CHARS",
    "TRIAGE_FIELDS",
    "AllowedUrls",
    "AnswerRules",
    "ModelAnswer",
    "ModelOutputError",
    "ModelReply",
    "TriageGuess",
    "TriageValues",
    "answer_schema",
    "find_urls",
    "parse_answer",
]

MAX_ANSWER_CHARS = 8_000
MAX_SUMMARY_CHARS = 1_200
MAX_CAUSE_CHARS = 800
MAX_QUESTION_CHARS = 300
MAX_QUESTIONS = 5
MAX_VALUE_CHARS = 200
TRIAGE_FIELDS = ("category", "priority", "group")

# http(s) and protocol-relative URLs, "www." names, and host/path forms ("evil.example/login").
_URL = re.compile(
    r"(?i)(?:\b[a-z][a-z0-9+.-]{1,15}://|//|\bwww\.)[^\s<>\"'`)\]]+"
    r"|\b(?:[a-z0-9-]{1,63}\.)+[a-z]{2,24}/[^\s<>\"'`)\]]*"
)
_TRAILING = ".,;:!?'\"»)]}"
_MARKERS = re.compile("[\ufdd0-\ufdd2]")


class ModelOutputError(SynthesisError):
    """The model's answer failed a check; ``reason`` is what the note and the metrics show."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class TriageGuess(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    value: str = Field(default="", max_length=MAX_VALUE_CHARS)  # "" = no suggestion
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)


# Defaults are factories, not instances: an instance made here would build the validators at
# import, which ``defer_build`` leaves to the first answer checked (workers with a model only).
class Triage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    category: TriageGuess = Field(default_factory=TriageGuess)
    priority: TriageGuess = Field(default_factory=TriageGuess)
    group: TriageGuess = Field(default_factory=TriageGuess)


class ModelAnswer(BaseModel):
    """What the model must return (``extra`` forbidden: an unexpected key fails the answer)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)

    summary: str = Field(max_length=MAX_SUMMARY_CHARS)
    likely_cause: str = Field(default="", max_length=MAX_CAUSE_CHARS)
    open_questions: list[str] = Field(default_factory=list, max_length=MAX_QUESTIONS)
    triage: Triage = Field(default_factory=Triage)

    def texts(self) -> list[str]:
        """Every free-text value, for the URL check."""
        guesses = (self.triage.category, self.triage.priority, self.triage.group)
        return [self.summary, self.likely_cause, *self.open_questions, *(g.value for g in guesses)]


@dataclass(frozen=True, slots=True)
class TriageValues:
    """The values the tool has for each triage field (as it spells them), from the gathered data."""

    category: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    group: tuple[str, ...] = ()

    @classmethod
    def from_context(cls, context: GatheredContext) -> TriageValues:
        found: dict[str, dict[str, str]] = {name: {} for name in TRIAGE_FIELDS}
        ticket = context.ticket
        rows = [(ticket.category, ticket.priority_raw or "", ticket.group)]
        rows += [(s.category, s.priority, s.group) for s in context.similar]
        votes = getattr(context, "triage", None)  # the offline triage: values from the synced history
        rows.append((_voted(votes, "category"), _voted(votes, "priority"), _voted(votes, "group")))
        for row in rows:
            for name, raw in zip(TRIAGE_FIELDS, row, strict=True):
                value = " ".join(raw.split())[:MAX_VALUE_CHARS]
                if value:
                    found[name].setdefault(value.casefold(), value)
        return cls(*(tuple(sorted(found[name].values())) for name in TRIAGE_FIELDS))

    def of(self, name: str) -> tuple[str, ...]:
        values: tuple[str, ...] = getattr(self, name)
        return values

    def canonical(self, name: str, value: str) -> str | None:
        """The tool's spelling of ``value`` for field ``name``, or None when the tool has no such value."""
        wanted = " ".join(value.split()).casefold()
        return next((v for v in self.of(name) if v.casefold() == wanted), None)


@dataclass(frozen=True, slots=True)
class AllowedUrls:
    """The URLs an answer may carry: the gathered data's, and any on the tenant's own site."""

    urls: frozenset[str] = frozenset()
    hosts: frozenset[str] = frozenset()  # the tenant's site

    @classmethod
    def from_context(cls, context: GatheredContext, site: str = "") -> AllowedUrls:
        duplicates = getattr(getattr(context, "duplicates", None), "tickets", ())
        gathered = [*(s.url for s in (*context.similar, *duplicates)), *(a.url for a in context.articles)]
        urls = {_normal(u) for u in gathered if u}
        host = _host(site) if site else ""
        return cls(frozenset(urls), frozenset({host} if host else set()))

    def allows(self, url: str) -> bool:
        return _normal(url) in self.urls or (_host(url) in self.hosts)


@dataclass(frozen=True, slots=True)
class AnswerRules:
    """What :func:`parse_answer` checks an answer against."""

    values: TriageValues = field(default_factory=TriageValues)
    urls: AllowedUrls = field(default_factory=AllowedUrls)


def _voted(votes: object, name: str) -> str:
    value = getattr(getattr(votes, name, None), "value", "")
    return value if isinstance(value, str) else ""


def _normal(url: str) -> str:
    return url.strip().rstrip("/").casefold()


def _host(url: str) -> str:
    text = url.strip()
    if "://" not in text:
        text = "//" + text.lstrip("/")
    try:
        return (urlsplit(text).hostname or "").casefold().rstrip(".")
    except ValueError:
        return ""


def find_urls(text: str) -> list[str]:
    """The URL-like strings in ``text`` (trailing punctuation dropped)."""
    text = _MARKERS.sub(" ", text)  # render's link markers: a word boundary, never part of a URL
    return [m[0].rstrip(_TRAILING) for m in _URL.finditer(text)]


def _guess_schema(values: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "value": {"type": "string", "enum": [*values, ""]},
            "confidence": {"type": "number", "description": "0 to 1"},
        },
        "required": ["value", "confidence"],
        "additionalProperties": False,
    }


def answer_schema(values: TriageValues) -> dict[str, Any]:
    """The JSON schema of the answer, triage values limited to ``values`` ("" = no suggestion).

    The schema stays in the subset every provider's strict mode takes: every property required,
    no other allowed, no length or numeric constraints (OpenAI's strict structured outputs refuse
    some of those); the limits are stated in descriptions and enforced by :func:`parse_answer`.
    Bedrock's tool ``inputSchema`` takes the same schema.
    """
    return {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "description": f"at most {MAX_SUMMARY_CHARS} characters"},
            "likely_cause": {"type": "string", "description": f'at most {MAX_CAUSE_CHARS} characters, or ""'},
            "open_questions": {
                "type": "array",
                "items": {"type": "string", "description": f"at most {MAX_QUESTION_CHARS} characters"},
                "description": f"at most {MAX_QUESTIONS} questions",
            },
            "triage": {
                "type": "object",
                "properties": {name: _guess_schema(values.of(name)) for name in TRIAGE_FIELDS},
                "required": list(TRIAGE_FIELDS),
                "additionalProperties": False,
            },
        },
        "required": ["summary", "likely_cause", "open_questions", "triage"],
        "additionalProperties": False,
    }


def _json_object(text: str) -> Any:
    """The JSON object in ``text``; a model without native JSON mode may wrap it in a code fence."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`").removeprefix("json").strip()
    try:
        return json.loads(stripped)
    except ValueError:
        raise ModelOutputError("invalid output", "not JSON") from None


def parse_answer(text: str, rules: AnswerRules) -> ModelAnswer:
    """The checked answer, its triage values in the tool's spelling; raises :class:`ModelOutputError`."""
    if not text.strip():
        raise ModelOutputError("empty output")
    if len(text) > MAX_ANSWER_CHARS:
        raise ModelOutputError("too long", f"{len(text)} characters")
    data = _json_object(text)
    if not isinstance(data, dict):
        raise ModelOutputError("invalid output", "not a JSON object")
    try:
        answer = ModelAnswer.model_validate(data)
    except ValidationError as exc:
        raise ModelOutputError("invalid output", f"{exc.error_count()} schema errors") from None
    if not answer.summary:
        raise ModelOutputError("empty output", "no summary")
    if any(len(q) > MAX_QUESTION_CHARS for q in answer.open_questions):
        raise ModelOutputError("too long", "an open question")
    for text_value in answer.texts():
        for url in find_urls(text_value):
            if not rules.urls.allows(url):
                raise ModelOutputError("injection suspected", "a URL outside the gathered data")
    guesses: dict[str, TriageGuess] = {}
    for name in TRIAGE_FIELDS:
        guess: TriageGuess = getattr(answer.triage, name)
        if not guess.value:
            guesses[name] = guess
            continue
        spelled = rules.values.canonical(name, guess.value)
        if spelled is None:
            raise ModelOutputError("unknown value", f"{name} is not one of the tool's values")
        guesses[name] = TriageGuess(value=spelled, confidence=guess.confidence)
    return answer.model_copy(update={"triage": Triage(**guesses)})
