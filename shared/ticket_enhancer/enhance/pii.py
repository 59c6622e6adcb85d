"""Personal data masked before ticket text leaves for a model: ``mask_personal_data(text)``.

What is masked, each replaced by a placeholder without digits (so masking twice changes nothing):

- ``[email]``: e-mail addresses;
- ``[iban]``: IBANs whose country, length and ISO 7064 check digits are valid (python-stdnum);
- ``[card]``: payment card numbers, 13 to 19 digits written together or in groups of four (Amex
  4-6-5), that pass the Luhn check (python-stdnum);
- ``[id]``: national identity numbers with a checksum or fixed shape (US SSN, Spanish DNI/NIE,
  Italian codice fiscale, French NIR, UK National Insurance number), and any number written right
  after a label such as "SSN", "passport", "national id", "BSN" or "Steuer-ID";
- ``[phone]``: phone numbers that libphonenumber (the ``phonenumbers`` package, its data shipped in
  the wheel) finds valid: international ones (``+`` or ``00``) for any country, national ones for
  :data:`DEFAULT_REGIONS`.

Both libraries ship their data: nothing is downloaded at run time. They are imported on first use
(about 40 ms for stdnum, 25 ms for phonenumbers), and only when the text holds a candidate, so a
worker's cold start does not pay for them. IP addresses, dates, times, versions, error codes
(``0x80070005``, ``ORA-00942``) and ticket keys (``INC0012345``, ``ABC-123``) are left alone:
candidates never start or end inside a word, a dotted or a dashed token.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from types import ModuleType
from typing import Any

__all__ = ["DEFAULT_REGIONS", "PLACEHOLDERS", "mask_personal_data"]

# National numbers (without a country code) are recognised for these regions, in this order.
DEFAULT_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "AU", "IN", "BR")
PLACEHOLDERS = ("[email]", "[iban]", "[card]", "[id]", "[phone]")

_EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])"
    r"[\w.!#$%&'*+/=?^`{|}~-]+@"
    r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,63}|[Xx][Nn]--[A-Za-z0-9-]{1,59})"
    r"(?![\w-])",
)
# An IBAN: country, check digits, then 11 to 30 letters/digits, optionally in groups of four.
_IBAN = re.compile(
    r"(?<![\w-])[A-Za-z]{2}\d{2}"
    r"(?:[A-Za-z0-9]{11,30}|(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,4})?)(?![\w-])"
)
_CARD = re.compile(
    r"(?<![\w.,/-])(?:"
    r"\d{13,19}"
    r"|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}"
    r"|\d{4}([ -])\d{6}\2\d{4,5}"
    r")(?![\w/-]|[.,]\d)"
)
_SSN = re.compile(r"(?<![\w.,/-])\d{3}-\d{2}-\d{4}(?![\w/-]|[.,]\d)")
_DNI_NIE = re.compile(r"(?<![\w-])[XYZxyz]?\d{7,8}-?[A-Za-z](?![\w-])")
_CODICE_FISCALE = re.compile(r"(?<![\w-])[A-Za-z]{6}\d{2}[A-Za-z]\d{2}[A-Za-z]\d{3}[A-Za-z](?![\w-])")
_NIR = re.compile(r"(?<![\w.,/-])[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?![\w/-]|[.,]\d)")
_NINO = re.compile(
    r"(?<![\w-])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![\w-])"
)
# A number right after a label that says it identifies a person.
_LABELLED_ID = re.compile(
    r"(?i)\b(?:ssn|social security(?: number| no\.?)?|national id(?:entity)?(?: number| no\.?)?|"
    r"id(?:entity)? card(?: number| no\.?)?|passport(?: number| no\.?)?|tax id|bsn|nino|"
    r"steuer-?id|personalausweis(?:nummer)?|personnummer|codice fiscale|aadhaar|"
    r"tfn|pesel|curp|cpf)\b[ \t]*(?:[:#=]|no\.?|number)?[ \t]*"
    r"(?P<id>[A-Za-z]{0,3}\d(?:[\d]|[ .-](?=\d)){3,20}[A-Za-z]?)(?![\w-])"
)
_PHONE = re.compile(r"(?<![\w.,/+:-])(?:\+|00)?\(?\d[\d \t().\-/]{5,22}\d(?![\w/-]|[.,:]\d)")
_PHONE_MIN_DIGITS, _PHONE_MAX_DIGITS = 7, 15
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
_DOTTED = re.compile(r"(?<!\d)\d{1,3}(?:\.\d{1,3}){2,}(?!\d)")  # IP addresses, versions
_NON_DIGITS = re.compile(r"\D")


@cache
def _stdnum(name: str) -> ModuleType:
    """A python-stdnum module, imported on first use (``stdnum`` itself costs ~40 ms)."""
    import importlib

    return importlib.import_module(f"stdnum.{name}")


@cache
def _phonenumbers() -> Any:
    import phonenumbers

    return phonenumbers


def _valid(module: str) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        return bool(_stdnum(module).is_valid(value))

    return check


def _sub(pattern: re.Pattern[str], placeholder: str, text: str, valid: Callable[[str], bool]) -> str:
    return pattern.sub(lambda m: placeholder if valid(m.group(0)) else m.group(0), text)


def _is_card(candidate: str) -> bool:
    digits = _NON_DIGITS.sub("", candidate)
    return 13 <= len(digits) <= 19 and bool(_stdnum("luhn").is_valid(digits))


def _is_phone(candidate: str, regions: Sequence[str]) -> bool:
    stripped = candidate.strip()
    digits = _NON_DIGITS.sub("", stripped)
    if not _PHONE_MIN_DIGITS <= len(digits) <= _PHONE_MAX_DIGITS + 2:
        return False
    if _DATE.fullmatch(stripped) or _DOTTED.search(stripped):
        return False
    phonenumbers = _phonenumbers()
    international = stripped.startswith(("+", "00"))
    if not international and stripped.isdigit() and not stripped.startswith("0"):
        return False  # a bare run of digits without a trunk prefix: an error code, a build, an id
    number = "+" + stripped[2:] if stripped.startswith("00") else stripped
    for region in (None,) if international else regions:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return True
    return False


def _mask_iban(match: re.Match[str]) -> str:
    value = match.group(0)
    iban = _stdnum("iban")
    candidate = value
    while not iban.is_valid(candidate):
        head, _, _ = candidate.rpartition(" ")
        if len(head.replace(" ", "")) < 15:
            return value
        candidate = head
    return "[iban]" + value[len(candidate) :]


def _mask_phones(text: str, regions: Sequence[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        value = match.group(0)
        # The pattern may swallow a trailing separator or an unbalanced bracket: keep those.
        core = value.rstrip(" \t-/.(")
        if core.startswith("(") and ")" not in core:
            return value[0] + _mask_phones(value[1:], regions)
        return "[phone]" + value[len(core) :] if _is_phone(core, regions) else value

    return _PHONE.sub(replace, text)


def _mask_labelled(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        start, end = match.start("id") - match.start(0), match.end("id") - match.start(0)
        return whole[:start] + "[id]" + whole[end:]

    return _LABELLED_ID.sub(replace, text)


def mask_personal_data(text: str, *, regions: Sequence[str] = DEFAULT_REGIONS) -> str:
    """``text`` with e-mail addresses, IBANs, card numbers, national ids and phone numbers masked.

    Deterministic and idempotent: ``mask_personal_data(mask_personal_data(t)) == mask_personal_data(t)``.
    """
    if not text:
        return text
    if "@" in text:
        text = _EMAIL.sub("[email]", text)
    if not any(c.isdigit() for c in text):
        return text
    text = _IBAN.sub(_mask_iban, text)
    text = _sub(_CARD, "[card]", text, _is_card)
    text = _mask_labelled(text)
    text = _sub(_SSN, "[id]", text, _valid("us.ssn"))
    text = _sub(
        _DNI_NIE, "[id]", text, lambda v: bool(_stdnum("es.nie").is_valid(v) or _stdnum("es.dni").is_valid(v))
    )
    text = _sub(_CODICE_FISCALE, "[id]", text, _valid("it.codicefiscale"))
    text = _sub(_NIR, "[id]", text, _valid("fr.nir"))
    text = _NINO.sub("[id]", text)
    return _mask_phones(text, regions)
