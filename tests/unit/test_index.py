"""The tenant index: tokenizer, bm25s-equal build, scope, self-exclusion, recency, passages, codec."""

from __future__ import annotations

import string
import zlib
from collections import Counter
from unittest import mock

import bm25s
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.enhance import index as index_module
from ticket_enhancer.enhance import tokens as tokens_module
from ticket_enhancer.enhance.errors import ContextStoreError
from ticket_enhancer.enhance.index import Bm25, TenantIndex, build_index, passages
from ticket_enhancer.enhance.index_codec import decode_index, encode_index
from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.enhance.tokens import tokenize, tokenize_corpus

# Tokenizer --------------------------------------------------------------------------------------

octet = st.integers(0, 255).map(str)
ipv4 = st.tuples(octet, octet, octet, octet).map(".".join)
label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)
host = st.lists(label, min_size=2, max_size=4).map(".".join).filter(lambda h: not h.isalnum())
hex_code = st.integers(0, 0xFFFFFFFF).map(lambda n: f"0x{n:08X}")
err_code = st.lists(st.text(string.ascii_uppercase, min_size=2, max_size=10), min_size=2, max_size=4).map(
    "_".join
)
indicator = st.one_of(ipv4, host, hex_code, err_code)
SEPARATORS = [" ", "\n", "(", ")", ",", ";", "'", '"', "[", "]", "/", "«", "»", "\t", "!", "?", "=", "<"]
# Whatever precedes the indicator: any text, then a separator.
lead = st.tuples(st.text(max_size=30), st.sampled_from(SEPARATORS)).map("".join)


@settings(max_examples=300)
@given(
    before=lead,
    code=indicator,
    sep=st.sampled_from(SEPARATORS),
    after=st.text(max_size=30),
    stop=st.booleans(),
)
def test_ips_hosts_and_codes_stay_whole_tokens(
    before: str, code: str, sep: str, after: str, stop: bool
) -> None:
    text = f"{before}{code}{'.' if stop else ''}{sep}{after}"
    assert code.lower() in tokenize(text)


@given(st.text(max_size=200))
def test_tokens_are_lowercase_non_trivial_and_bounded(text: str) -> None:
    tokens = tokenize(text)
    assert all(t and t == t.lower() and t.strip("._:-") == t and not t.isspace() for t in tokens)
    assert not any(len(t) == 1 and t.isascii() for t in tokens)


def test_compounds_also_give_their_parts() -> None:
    tokens = tokenize("Gateway vpn.acme.com:443 said ERR_CONNECTION_RESET (0x80070005) at 10.1.2.3.")
    for whole in ("vpn.acme.com:443", "vpn.acme.com", "err_connection_reset", "0x80070005", "10.1.2.3"):
        assert whole in tokens
    for part in ("vpn", "acme", "connection", "reset", "gateway"):
        assert part in tokens
    assert "at" not in tokens
    assert "10.1.2.3." not in tokens


# BM25 build --------------------------------------------------------------------------------------

words = st.sampled_from(["vpn", "printer", "10.0.0.1", "mtu", "outlook", "err_x", "disk", "token", "wifi"])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(words, min_size=1, max_size=12), min_size=1, max_size=25), st.lists(words, min_size=1)
)
def test_vectorised_build_scores_exactly_as_bm25s(corpus: list[list[str]], query: list[str]) -> None:
    reference = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    reference.index(corpus, show_progress=False)
    ours = Bm25.build(corpus)
    scores = ours.scores(" ".join(query))
    known = [t for t in dict.fromkeys(query) if t in reference.vocab_dict]
    if not known:
        assert scores is None  # no query term is indexed: nothing to score
        return
    assert scores is not None
    np.testing.assert_allclose(scores, reference.get_scores(known), rtol=1e-5, atol=1e-6)


# Search ------------------------------------------------------------------------------------------


def ticket(
    tid: str, subject: str, scope: str = "IT", resolved: str = "2026-01-01T00:00:00Z", **kw: str
) -> IndexedTicket:
    return IndexedTicket(
        ticket_id=tid,
        display_key=f"IT-{tid}",
        subject=subject,
        text=kw.pop("text", ""),
        url=f"https://acme.atlassian.net/browse/IT-{tid}",
        resolution=kw.pop("resolution", "Lowered the MTU."),
        resolved=resolved,
        status="resolved",
        scope=scope,
        **kw,
    )


@pytest.fixture
def index() -> TenantIndex:
    tickets = [
        ticket("1", "VPN drops at 10.8.0.12", resolved="2026-01-01T00:00:00Z"),
        ticket("2", "VPN drops at 10.8.0.12", resolved="2026-03-01T00:00:00Z"),  # same text, newer
        ticket("3", "VPN drops at 10.8.0.12", scope="HR"),
        ticket("4", "VPN drops at 10.8.0.12", scope=""),
        ticket("5", "Printer jams"),
        ticket("6", "VPN drops at 10.8.0.12", resolved="2026-02-01T00:00:00Z"),
    ]
    articles = [
        Article(
            "a1",
            "VPN guide",
            "Intro about VPN.\n\n" + "filler words " * 46 + "\n\nSet MTU 1300 on 10.8.0.12.",
            "https://kb/a1",
        ),
        Article("a2", "Printer", "Open tray 2.", "https://kb/a2"),
    ]
    return build_index("acme", tickets, articles)


def test_similar_tickets_stay_in_scope_exclude_self_and_prefer_the_newest(index: TenantIndex) -> None:
    found = index.similar_tickets("VPN drops 10.8.0.12", scope="IT", exclude="6", k=5)
    assert [t.ticket_id for t, _ in found] == ["2", "1"]  # equal scores: newest first; 6 is the ticket
    assert all(t.scope == "IT" for t, _ in found)
    assert [t.ticket_id for t, _ in index.similar_tickets("VPN", scope="HR", k=5)] == ["3"]
    assert [t.ticket_id for t, _ in index.similar_tickets("VPN", scope="", k=5)] == ["4"]  # no scope key
    assert index.similar_tickets("VPN", scope="Finance", k=5) == []
    assert {t.ticket_id for t, _ in index.similar_tickets("VPN", scope=None, k=9)} == {
        "1",
        "2",
        "3",
        "4",
        "6",
    }
    assert index.similar_tickets("nothing shared", scope=None) == []


def test_similar_ticket_records_carry_resolution_and_url(index: TenantIndex) -> None:
    ((best, score),) = index.similar_tickets("printer", scope="IT", k=1)
    assert (best.display_key, best.resolution, best.url) == (
        "IT-5",
        "Lowered the MTU.",
        "https://acme.atlassian.net/browse/IT-5",
    )
    assert score > 0


def test_articles_come_once_with_the_passage_that_matched(index: TenantIndex) -> None:
    hits = index.matching_articles("MTU 10.8.0.12", k=3)
    assert [h.article.article_id for h in hits] == ["a1"]
    assert "Set MTU 1300" in hits[0].passage
    assert hits[0].article.body == hits[0].passage
    assert "filler" not in hits[0].passage
    assert {h.article.title for h in index.matching_articles("vpn printer", k=3)} == {"VPN guide", "Printer"}


def test_passages_are_bounded_and_keep_all_text() -> None:
    body = "a " * 2000 + "\n\n" + "short para\n\nanother"
    parts = passages(body, 100)
    assert all(len(p) <= 100 for p in parts)
    assert " ".join(parts).split() == body.split()


def test_an_empty_tenant_finds_nothing() -> None:
    empty = build_index("acme", [], [])
    assert empty.similar_tickets("vpn", scope=None) == []
    assert empty.matching_articles("vpn") == []
    assert decode_index(encode_index(empty), tenant_id="acme").ticket_count == 0


# Codec -------------------------------------------------------------------------------------------


def test_codec_round_trip(index: TenantIndex) -> None:
    loaded = decode_index(encode_index(index), tenant_id="acme")
    assert loaded.similar_tickets("VPN 10.8.0.12", scope="IT", k=3) == index.similar_tickets(
        "VPN 10.8.0.12", scope="IT", k=3
    )
    assert loaded.matching_articles("MTU") == index.matching_articles("MTU")


def test_an_index_never_loads_for_another_tenant(index: TenantIndex) -> None:
    with pytest.raises(ContextStoreError, match="another tenant"):
        decode_index(encode_index(index), tenant_id="globex")


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"not zlib",
        zlib.compress(b"TEIX\x09" + b"\0" * 20),
        zlib.compress(b"TEIX\x01" + (10**6).to_bytes(8, "big")),
    ],
)
def test_garbage_is_refused_clearly(blob: bytes) -> None:
    with pytest.raises(ContextStoreError, match="unreadable index"):
        decode_index(blob, tenant_id="acme")


def test_truncated_arrays_are_refused(index: TenantIndex) -> None:
    raw = zlib.decompress(encode_index(index))
    with pytest.raises(ContextStoreError, match="unreadable index"):
        decode_index(zlib.compress(raw[:-8]), tenant_id="acme")


def test_a_common_term_keeps_its_best_documents_only() -> None:
    corpus = [["common"] + ["pad"] * n + ["rare"] * (n == 3) for n in range(50)]  # no two weights equal
    reference = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    reference.index(corpus, show_progress=False)
    pruned = Bm25.build(corpus, max_postings=10)
    scores = pruned.scores("common")
    assert scores is not None
    assert np.count_nonzero(scores) == 10
    best = np.argsort(-reference.get_scores(["common"]), kind="stable")[:10]
    np.testing.assert_allclose(scores[best], reference.get_scores(["common"])[best], rtol=1e-5)
    rare = pruned.scores("rare")  # a term under the ceiling keeps every posting
    assert rare is not None
    assert np.flatnonzero(rare).tolist() == [3]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=80), indicator.map(lambda c: f"see {c}.")), max_size=8))
def test_the_corpus_tokenizer_gives_each_text_the_same_bag(texts: list[str]) -> None:
    vocabulary, ids, docs = tokenize_corpus(texts)
    for doc, text in enumerate(texts):
        bag = Counter(vocabulary[int(i)] for i in ids[docs == doc])
        assert bag == Counter(tokenize(text))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=40), indicator.map(lambda c: f"see {c}.")), max_size=9))
def test_the_corpus_tokenizer_splits_in_chunks_without_moving_a_word(texts: list[str]) -> None:
    # Chunks of 2 texts: words at every chunk boundary, an empty last chunk, a single text.
    with mock.patch.object(tokens_module, "_CHUNK_TEXTS", 2):
        vocabulary, ids, docs = tokenize_corpus(texts)
    assert docs.max(initial=-1) < max(1, len(texts))
    for doc, text in enumerate(texts):
        bag = Counter(vocabulary[int(i)] for i in ids[docs == doc])
        assert bag == Counter(tokenize(text))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.one_of(st.text(max_size=30), indicator), st.text(max_size=60), st.booleans()),
        min_size=1,
        max_size=6,
    ),
    st.lists(words, min_size=1, max_size=3),
)
def test_the_subject_tokenized_once_scores_as_the_subject_twice(
    fields: list[tuple[str, str, bool]], query: list[str]
) -> None:
    # build_index counts the subject's second copy from one tokenization; a text past the
    # tokenizer's cap (``long``) is indexed as it is. Scores equal those of the whole texts.
    tickets = [
        ticket(str(n), subject, text=(text + " " + " ".join(query)) * (800 if long else 1))
        for n, (subject, text, long) in enumerate(fields)
    ]
    ours = build_index("acme", tickets, []).ticket_bm25.scores(" ".join([*query, fields[0][0]]))
    whole = Bm25.from_texts([index_module._ticket_text(t) for t in tickets])
    expected = whole.scores(" ".join([*query, fields[0][0]]))
    if expected is None:
        assert ours is None
        return
    assert ours is not None
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
