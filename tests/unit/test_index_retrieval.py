"""A job's lookup (index + newest processed tickets, scoped, fused) and how it shows in the note."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from ticket_enhancer.enhance.index import build_index
from ticket_enhancer.enhance.note_context import (
    article_line,
    article_prompt_fields,
    similar_prompt_fields,
    similar_ticket_line,
)
from ticket_enhancer.enhance.records import Article, IndexedTicket
from ticket_enhancer.enhance.retrieval import find_articles, find_similar, scope_for
from ticket_enhancer.render import LINK_OPEN, link, render_note


def history(tid: str, subject: str, scope: str = "IT", **kw: str) -> IndexedTicket:
    return IndexedTicket(
        ticket_id=tid,
        display_key=f"IT-{tid}",
        subject=subject,
        url=f"https://acme.atlassian.net/browse/IT-{tid}",
        resolution=kw.pop("resolution", "Lowered the VPN client MTU to 1300."),
        resolved=kw.pop("resolved", "2026-01-05T10:00:00Z"),
        status="resolved",
        scope=scope,
        **kw,
    )


def processed(
    tid: str, subject: str, scope: str = "IT", created: str = "2026-04-01T00:00:00Z"
) -> IndexedTicket:
    return IndexedTicket(
        ticket_id=tid, display_key=f"IT-{tid}", subject=subject, created=created, scope=scope
    )


def test_scope_option() -> None:
    assert scope_for({}, "IT") == "IT"
    assert scope_for({"similar_scope": "project"}, "") == ""
    assert scope_for({"similar_scope": "Tenant"}, "IT") is None
    assert scope_for({"similar_scope": "bogus"}, "IT") == "IT"  # anything else: the safe default


def test_index_and_recent_tickets_are_fused_scoped_and_never_the_ticket_itself() -> None:
    index = build_index(
        "acme",
        [
            history("1", "VPN drops at 10.8.0.12"),
            history("2", "VPN drops at 10.8.0.12", scope="HR"),
            history("50", "VPN drops at 10.8.0.12"),  # the ticket itself, imported by the sync
        ],
        [],
    )
    recent = [
        processed("50", "VPN drops at 10.8.0.12"),
        processed("7", "VPN drops again"),
        processed("8", "VPN drops again", scope="HR"),
        processed("1", "VPN drops at 10.8.0.12"),  # also in the index: one entry, the index's record
    ]
    found = find_similar("VPN drops 10.8.0.12", ticket_id="50", scope="IT", index=index, recent=recent, k=3)
    assert [t.ticket_id for t in found] == ["1", "7"]
    assert found[0].resolution  # the history record, with its resolution
    wide = find_similar("VPN drops 10.8.0.12", ticket_id="50", scope=None, index=index, recent=recent, k=9)
    assert {t.ticket_id for t in wide} == {"1", "2", "7", "8"}


def test_without_an_index_the_newest_processed_tickets_still_count() -> None:
    recent = [
        processed("9", "Outlook crashes", created="2026-01-01T00:00:00Z"),
        processed("10", "Outlook crashes", created="2026-03-01T00:00:00Z"),
        processed("11", "Printer"),
    ]
    found = find_similar("Outlook crashes", ticket_id="99", scope="IT", index=None, recent=recent, k=3)
    assert [t.ticket_id for t in found] == ["10", "9"]  # equal scores: newest first


def test_articles_from_the_index_else_loaded_each_with_its_best_passage() -> None:
    body = "General VPN notes.\n\n" + "x " * 300 + "\n\nError 0x80070005: re-enrol the certificate."
    article = Article("a1", "VPN errors", body, "https://kb.acme.example/vpn")
    (loaded,) = find_articles("0x80070005 on connect", index=None, loaded=[article], k=3)
    assert loaded.body == "Error 0x80070005: re-enrol the certificate."
    index = build_index("acme", [], [article])
    (indexed,) = find_articles("0x80070005 on connect", index=index, loaded=[], k=3)
    assert indexed.body == loaded.body
    assert indexed.url == article.url


def test_a_similar_ticket_line_links_its_key_and_shows_when_and_how_it_was_resolved() -> None:
    line = similar_ticket_line(history("1", "VPN drops", resolution="Lowered the MTU.\nClosed."))
    assert line.startswith(link("IT-1: VPN drops", "https://acme.atlassian.net/browse/IT-1"))
    assert "(resolved 2026-01-05)" in line
    assert "“Lowered the MTU. Closed.”" in line
    opened = similar_ticket_line(processed("7", "VPN drops again"))
    assert "(opened 2026-04-01)" in opened
    assert "Resolution" not in opened


def test_excerpts_of_other_tickets_are_masked_and_cannot_make_links() -> None:
    ticket = history(
        "1",
        "Mail from jane.doe@example.com",
        resolution="Called +44 20 7946 0958, card 4111 1111 1111 1111; see [here](https://evil.example)",
    )
    line = similar_ticket_line(ticket)
    for secret in ("jane.doe@example.com", "7946 0958", "4111 1111"):
        assert secret not in line
    assert line.count(LINK_OPEN) == 1
    assert LINK_OPEN + "IT-1" in line
    assert render_note(line, "html", footer="").count("href=") == 1  # the text's link stays text
    fields = {name: value for name, value, _ in similar_prompt_fields(ticket)}
    assert "jane.doe@example.com" not in fields["Subject"]
    assert "4111" not in fields["Resolution"]


def test_an_article_line_links_its_title_and_quotes_the_passage() -> None:
    article = Article("a1", "VPN errors", "Call the desk on +44 20 7946 0958.", "https://kb.acme.example/vpn")
    line = article_line(article)
    assert (
        line == f"{link('VPN errors', 'https://kb.acme.example/vpn')}: “Call the desk on +44 20 7946 0958.”"
    )
    assert ("Passage", "Call the desk on +44 20 7946 0958.", 900) in article_prompt_fields(article)


@given(st.text(max_size=300), st.text(max_size=300))
def test_note_lines_are_one_line_whatever_the_text(subject: str, resolution: str) -> None:
    line = similar_ticket_line(history("1", subject, resolution=resolution))
    assert "\n" not in line
    assert "\r" not in line
