"""The corpus tokenizer's numpy word numbering: exact numbers, whole indicators, every word size."""

from __future__ import annotations

import string
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.enhance import token_numbers
from ticket_enhancer.enhance.token_numbers import MAX_COLUMNS, key_bytes, number
from ticket_enhancer.enhance.tokens import tokenize, tokenize_corpus

octet = st.integers(0, 255).map(str)
ipv4 = st.tuples(octet, octet, octet, octet).map(".".join)
label = st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=20).filter(
    lambda s: s.strip("-") == s
)
hostname = st.lists(label, min_size=2, max_size=5).map(".".join)
error_code = st.one_of(
    st.integers(0, 0xFFFFFFFF).map(lambda n: f"0x{n:08X}"),
    st.lists(
        st.text(string.ascii_uppercase + string.digits, min_size=2, max_size=12), min_size=2, max_size=5
    ).map("_".join),
)
# Text around an indicator: anything (non-ASCII, controls, joiners) that ends and starts with a separator.
around = st.text(max_size=60)
SEPARATORS = [" ", "\n", "\t", "(", ")", ",", ";", "'", '"', "/", "«", "»", "!", "?", "=", "\u00a0", "\u2014"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(around, st.sampled_from(SEPARATORS)).map("".join), min_size=1, max_size=5),
    st.one_of(ipv4, hostname, error_code),
    st.sampled_from(SEPARATORS),
    around,
    st.booleans(),
)
def test_an_ip_hostname_or_error_code_is_one_whole_token_of_its_text(
    others: list[str], indicator: str, sep: str, after: str, full_stop: bool
) -> None:
    # The indicator's text among others (so it sits in a chunk of several texts, anywhere in it).
    text = f"{others[0]}{indicator}{'.' if full_stop else ''}{sep}{after}"
    texts = [*others[1:], text]
    vocabulary, ids, docs = tokenize_corpus(texts)
    tokens = {vocabulary[int(i)] for i in ids[docs == len(texts) - 1]}
    assert indicator.lower() in tokens


# Words of every size class (1-8, 9-16, ... bytes and past MAX_COLUMNS * 8), ASCII or not, with joiners.
piece = st.text(string.ascii_letters + string.digits + "._:-" + "éßИ中😀\u0130", min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(piece, max_size=12).map(" ".join), max_size=6))
def test_every_word_size_gives_the_same_bag_as_tokenize(texts: list[str]) -> None:
    vocabulary, ids, docs = tokenize_corpus(texts)
    assert len(set(vocabulary)) == len(vocabulary)  # one number per word
    for doc, text in enumerate(texts):
        assert Counter(vocabulary[int(i)] for i in ids[docs == doc]) == Counter(tokenize(text))


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(1, MAX_COLUMNS))
def test_numbers_are_equal_exactly_when_the_keys_are(data: st.DataObject, width: int) -> None:
    pool = data.draw(st.lists(st.tuples(*[st.integers(0, 2**64 - 1)] * width), min_size=1, max_size=20))
    rows = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=300))
    columns = tuple(np.array([row[c] for row in rows], dtype=np.uint64) for c in range(width))
    numbers, distinct = number(columns)
    distinct_rows = list(zip(*(d.tolist() for d in distinct), strict=True))
    assert distinct_rows == sorted(set(rows))  # each distinct key once, in sorted order
    assert [distinct_rows[int(n)] for n in numbers] == rows


def test_colliding_hashes_still_number_exactly() -> None:
    # Every key in one slot (a tiny table): linear probing places them all, by their whole keys.
    columns = (np.array([5, 9, 5, 7, 9, 11], dtype=np.uint64),)
    hashed = np.zeros(6, dtype=np.uint64)
    placed = token_numbers._place(columns, hashed, 3)
    assert placed is not None
    table, slot_of = placed
    assert sorted(int(columns[0][table[s]]) for s in set(slot_of.tolist())) == [5, 7, 9, 11]
    assert slot_of[0] == slot_of[2]
    assert slot_of[1] == slot_of[4]
    assert len(set(slot_of.tolist())) == 4
    assert token_numbers._place(columns, hashed, 1) is None  # 4 keys never fit 2 slots


def test_keys_give_back_their_words() -> None:
    words = [b"a", b"vpn", b"abcdefgh", b"abcdefghi", b"10.255.255.254", "Zürich".lower().encode()]
    for word in words:
        width = (len(word) + 7) // 8
        padded = word.ljust(8 * width, b"\x00")
        columns = tuple(np.frombuffer(padded[8 * c : 8 * c + 8], dtype="<u8") for c in range(width))
        assert key_bytes(columns) == [word]


def test_a_build_does_not_depend_on_the_random_multiplier() -> None:
    texts = [
        "VPN drops at 10.1.2.3 again",
        "vpn.acme.example:443 refused ERR_CONNECTION_RESET",
        "Zürich printer",
    ]
    first = tokenize_corpus(texts)
    second = tokenize_corpus(texts)
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])
    np.testing.assert_array_equal(first[2], second[2])
