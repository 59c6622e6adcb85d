"""BM25 ranking: relevance order, positivity, determinism and the tokenizer."""

from __future__ import annotations

from ticket_enhancer.enhance.bm25 import rank, tokenize

DOCS = [
    "Printer on floor 3 is jammed and shows a paper error",
    "VPN client cannot connect: authentication failed after password reset",
    "Outlook calendar does not sync on mobile phone",
    "How to reset your password in the self-service portal",
]


def test_the_obviously_relevant_document_ranks_first() -> None:
    ranked = rank("VPN connection fails with authentication error", DOCS, top_k=3)
    assert ranked[0][0] == 1
    assert all(score > 0 for _, score in ranked)
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)


def test_rare_terms_outweigh_common_ones() -> None:
    docs = ["password reset password", "password reset outlook", "password printer"]
    assert rank("outlook password", docs, top_k=3)[0][0] == 1


def test_only_documents_sharing_a_term_are_returned() -> None:
    assert rank("keyboard", DOCS, top_k=3) == []
    assert [i for i, _ in rank("printer", DOCS, top_k=3)] == [0]


def test_top_k_and_degenerate_inputs() -> None:
    assert len(rank("password", DOCS, top_k=1)) == 1
    assert rank("password", DOCS, top_k=0) == []
    assert rank("", DOCS, top_k=3) == []
    assert rank("the and of", DOCS, top_k=3) == []  # stopwords only
    assert rank("password", [], top_k=3) == []


def test_ties_keep_document_order() -> None:
    docs = ["disk full on server", "unrelated", "disk full on server", "disk full on server"]
    assert [i for i, _ in rank("disk full", docs, top_k=3)] == [0, 2, 3]
    assert rank("disk full", docs, top_k=3) == rank("disk full", docs, top_k=3)


def test_tokenizer_lowercases_and_drops_stopwords_and_short_tokens() -> None:
    assert tokenize("The VPN is DOWN, a 2nd time: café_crème x") == [
        "vpn",
        "down",
        "2nd",
        "time",
        "café",
        "crème",
    ]
