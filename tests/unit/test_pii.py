"""Personal-data masking: what must go, what must stay, and that masking twice changes nothing."""

from __future__ import annotations

import ipaddress
import re

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum import luhn
from ticket_enhancer.enhance.pii import DEFAULT_REGIONS, PLACEHOLDERS, mask_personal_data

WORDS = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüéçñ ", min_size=1, max_size=12), min_size=0, max_size=4
).map(" ".join)


def _sentence(words: str, value: str, after: str) -> str:
    return f"{words} {value} {after}".strip() + "."


@st.composite
def cards(draw: st.DrawFn) -> str:
    length = draw(st.sampled_from([13, 15, 16, 19]))
    prefix = draw(st.sampled_from(["4", "51", "37", "6011", "35"]))
    body = prefix + draw(
        st.text(alphabet="0123456789", min_size=length - len(prefix) - 1, max_size=length - 1)
    )
    body = body[: length - 1]
    number = body + luhn.calc_check_digit(body)
    if length == 16 and draw(st.booleans()):
        separator = draw(st.sampled_from([" ", "-"]))
        number = separator.join(number[i : i + 4] for i in range(0, 16, 4))
    return number


@st.composite
def ibans(draw: st.DrawFn) -> str:
    country, shape = draw(
        st.sampled_from(
            [
                ("DE", "d" * 18),
                ("NL", "AAAA" + "d" * 10),
                ("IE", "AAAA" + "d" * 14),
                ("GB", "AAAA" + "d" * 14),
            ]
        )
    )
    bban = "".join(
        draw(st.sampled_from("0123456789" if c == "d" else "ABCDEFGHIJKLMNOPQRSTUVWXYZ")) for c in shape
    )
    number = country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban
    if draw(st.booleans()):
        number = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    return number


@st.composite
def phones(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(DEFAULT_REGIONS))
    kind = draw(
        st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
    )
    number = phonenumbers.example_number_for_type(region, kind)
    assert number is not None
    style = draw(
        st.sampled_from(
            [phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.NATIONAL]
        )
    )
    return str(phonenumbers.format_number(number, style))


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@given(WORDS, cards(), WORDS)
@example("card", "4111 1111 1111 1111", "expires 12/27")
def test_no_valid_card_number_survives(before: str, card: str, after: str) -> None:
    masked = mask_personal_data(_sentence(before, card, after))
    assert "[card]" in masked
    assert _digits(card) not in _digits(masked)


@given(WORDS, ibans(), WORDS)
@example("pay to", "DE89 3704 0044 0532 0130 00", "please")
def test_no_valid_iban_survives(before: str, iban: str, after: str) -> None:
    masked = mask_personal_data(_sentence(before, iban, after))
    assert "[iban]" in masked
    assert not any(
        stdnum_iban.is_valid(token) for token in re.findall(r"[A-Z]{2}\d{2}[A-Z0-9 ]{11,40}", masked)
    )
    assert iban.replace(" ", "") not in masked.replace(" ", "")


@given(WORDS, st.emails(), WORDS)
def test_no_email_address_survives(before: str, email: str, after: str) -> None:
    masked = mask_personal_data(f"{before} <{email}> {after}")
    assert "@" not in masked
    assert "[email]" in masked


@given(WORDS, phones(), WORDS)
@example("call", "+44 20 7946 0958", "today")
@example("ruf an", "030 901820", "bitte")
def test_phone_numbers_are_masked(before: str, phone: str, after: str) -> None:
    masked = mask_personal_data(_sentence(before, phone, after))
    assert "[phone]" in masked
    assert _digits(phone)[-7:] not in _digits(masked)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SSN 078-05-1120 on file", "SSN [id] on file"),
        ("DNI 12345678Z", "DNI [id]"),
        ("NIE X1234567L", "NIE [id]"),
        ("codice fiscale RSSMRA85T10A562S", "codice fiscale [id]"),
        ("NIR 2 95 10 99 126 111 93", "NIR [id]"),
        ("NI number AB123456C", "NI number [id]"),
        ("passport no. 533380006 expired", "passport no. [id] expired"),
        ("Steuer-ID: 36574261809", "Steuer-ID: [id]"),
        ("mail a.b@example.org, tel +1 415-555-2671", "mail [email], tel [phone]"),
    ],
)
def test_identity_numbers_and_mixed_data(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected


INNOCENT = st.one_of(
    st.ip_addresses().map(str),
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.strftime("%d.%m.%Y")),
    st.dates().map(lambda d: d.strftime("%m/%d/%Y")),
    st.times().map(lambda t: t.strftime("%H:%M:%S")),
    st.tuples(*[st.integers(0, 99)] * 3).map(lambda v: "v{}.{}.{}".format(*v)),
    st.integers(0, 10**9).map(lambda n: f"INC{n:010d}"),
    st.integers(0, 10**9).map(lambda n: f"RITM{n:07d}"),
    st.tuples(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=6), st.integers(1, 10**6)).map(
        lambda v: f"{v[0]}-{v[1]}"
    ),
    st.integers(0, 2**32 - 1).map(lambda n: f"0x{n:08X}"),
    st.integers(0, 99999).map(lambda n: f"ORA-{n:05d}"),
    st.integers(100, 599).map(lambda n: f"HTTP {n}"),
    st.integers(-(2**31), 2**31 - 1).map(lambda n: f"error {n}"),
    st.integers(1, 65535).map(lambda n: f"port {n}"),
    st.integers(0, 10**12).map(lambda n: f"build {n}"),
    st.tuples(st.ip_addresses(v=4), st.integers(8, 32)).map(lambda v: f"{v[0]}/{v[1]}"),
)


@given(st.lists(INNOCENT, min_size=1, max_size=6))
@example(["10.0.0.1", "2024-01-15", "v1.2.3", "INC0012345", "ABC-123", "0x80070005", "ORA-00942"])
def test_technical_tokens_are_left_alone(tokens: list[str]) -> None:
    text = "Seen " + ", ".join(tokens) + " on web-01."
    assert mask_personal_data(text) == text


MIXED = st.lists(
    st.one_of(WORDS, cards(), ibans(), st.emails(), phones(), INNOCENT, st.text(max_size=30)), max_size=8
)


@settings(max_examples=300)
@given(MIXED)
def test_masking_is_idempotent(parts: list[str]) -> None:
    once = mask_personal_data(" ".join(parts))
    assert mask_personal_data(once) == once


@given(st.text(max_size=200))
def test_any_text_is_handled_and_placeholders_only_replace(text: str) -> None:
    masked = mask_personal_data(text)
    assert isinstance(masked, str)
    if masked != text:
        assert any(p in masked for p in PLACEHOLDERS)


def test_ip_addresses_inside_sentences_and_plain_text_are_untouched() -> None:
    text = "Host 192.168.10.25 (fe80::1) cannot reach 10.0.0.0/8 since 15.01.2025 14:30, see KB0012345."
    assert mask_personal_data(text) == text
    assert ipaddress.ip_address("192.168.10.25")  # the fixture's address is a real one
