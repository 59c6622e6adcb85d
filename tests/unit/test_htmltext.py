"""The HTML reducer (``htmltext.html_to_text``) and the shared sync helpers (``plugins.sourcing``).

Vendor HTML is untrusted: whatever the input, the output carries no markup the input did not
spell as escaped text, no script or style content, no control characters, and is bounded.
"""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ticket_enhancer import htmltext
from ticket_enhancer.htmltext import MAX_INPUT, _neutralise, html_to_text
from ticket_enhancer.models import NOTE_FOOTER_PREFIX
from ticket_enhancer.plugins.sourcing import (
    Comment,
    decode_cursor,
    encode_cursor,
    is_our_note,
    iso_utc,
    last_resolution,
)

WORDS = st.text(
    alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters=" .,:;-"), max_size=80
)
# C0/C1 controls, and the invisible and direction-changing characters the reducer strips too
# (zero-width, line/paragraph separators, bidi embeddings and isolates, BOM).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def _normal(text: str) -> str:
    return " ".join(text.split())


@given(st.text(max_size=2000), st.integers(min_value=0, max_value=500))
def test_any_input_gives_bounded_text_without_control_characters(value: str, limit: int) -> None:
    text = html_to_text(value, limit)
    assert len(text) <= limit
    assert not CONTROL.search(text)


@given(WORDS)
def test_escaped_text_comes_back_as_itself(words: str) -> None:
    assert _normal(html_to_text(f"<div><p>{html.escape(words)}</p></div>")) == _normal(words)


@given(st.text(max_size=200))
def test_escaped_markup_stays_text_decoded_once(value: str) -> None:
    """``&lt;script&gt;`` is the text ``<script>``; ``&amp;lt;`` the text ``&lt;`` (never decoded twice)."""
    text = html_to_text("<p>" + html.escape(html.escape(value)) + "</p>")
    assert _normal(text) == _normal(CONTROL.sub("", html.escape(value)).replace("\u00a0", " "))


@given(WORDS, st.sampled_from(["script", "style", "template", "noscript", "iframe", "svg"]))
def test_scripts_and_styles_never_reach_the_text(payload: str, tag: str) -> None:
    text = html_to_text(f"<p>before</p><{tag} type='x'>{html.escape(payload)}SECRET</{tag}><p>after</p>")
    assert "SECRET" not in text
    assert text.split("\n") == ["before", "after"]


def test_unclosed_script_swallows_the_rest_and_blocks_become_lines() -> None:
    assert html_to_text("<p>ok</p><script>alert(1)") == "ok"
    assert html_to_text("<ul><li>a</li><li>b</li></ul>c<br>d&nbsp;e<!-- hidden -->") == "a\nb\nc\nd e"
    assert html_to_text("Tom &amp; Jerry &lt;b&gt;") == "Tom & Jerry <b>"
    assert html_to_text(None) == ""
    assert html_to_text(b"<p>x</p>") == ""


def test_a_huge_body_costs_bounded_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted, not timed (a wall-clock bound is flaky on a loaded machine): once ``limit``
    characters of text are gathered the parser is fed no more, and past ``MAX_INPUT`` nothing is read."""
    fed: list[int] = []
    feed = htmltext._Reducer.feed

    def counting(self: htmltext._Reducer, data: str) -> None:
        fed.append(len(data))
        feed(self, data)

    monkeypatch.setattr(htmltext._Reducer, "feed", counting)
    text = html_to_text("<p>" + "word " * 2_000_000 + "</p>", 100)  # 10 MB
    assert len(text) <= 100
    assert fed == [65_536]
    fed.clear()
    assert html_to_text("<b></b>" * 500_000 + "tail", 100) == ""  # 3.5 MB of markup: tail unread
    assert sum(fed) <= MAX_INPUT


# Inputs on which CPython's HTMLParser (3.11-3.13) takes quadratic time or raises.
PATHOLOGICAL = ["<!", "<!--x>", "<![x>", "<![if x]>", "</", "<?", "<", "<a b='", "<!DOCTYPE"]


@pytest.mark.parametrize("unit", PATHOLOGICAL)
def test_pathological_markup_never_raises(unit: str) -> None:
    assert len(html_to_text(unit * 200 + "ok", 50)) <= 50
    text = html_to_text(f"<p>a</p>{unit}x<p>b</p>", 50)
    assert text == "a" if unit.startswith("<!--") else text.endswith("b")  # unclosed comment: rest hidden


def test_marked_sections_comments_and_stray_brackets() -> None:
    assert html_to_text("<![x>visible") == "visible"  # raised AssertionError before
    assert html_to_text("<![if !supportLists]>1.<![endif]> item") == "1. item"  # Word's HTML
    assert html_to_text("a <!-- hidden <b> --> b <!-- unclosed") == "a b"
    assert html_to_text("1 < 2 and 3 > 2, a<b") == "1 < 2 and 3 > 2, a<b"
    assert html_to_text('<a title="1>2">x</a>') == "x"  # the parser still reads quoted attributes


@given(st.text(alphabet="<>!-/?[]ab\"' =", max_size=300))
def test_the_parser_only_sees_closed_tags(value: str) -> None:
    """The invariant that keeps the stdlib parser linear: after the pre-pass every "<" opens a
    tag, an end tag or a processing instruction that a ">" closes before any other "<"."""
    out = _neutralise(value)
    for m in re.finditer("<", out):
        assert re.match(r"<[A-Za-z/?][^<>]*>", out[m.start() :]), out
    html_to_text(value, 100)  # never raises


@given(st.dictionaries(st.text(max_size=10), st.one_of(st.integers(), st.text(max_size=20)), max_size=5))
def test_cursors_round_trip(state: dict[str, object]) -> None:
    assert decode_cursor(encode_cursor(state)) == state


@pytest.mark.parametrize(
    "cursor", ["not json", "[1, 2]", '"text"', "{" * 5, "x" * 300_000, "[" * 5_000, '{"a":' * 5_000]
)
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match="cursor"):
        decode_cursor(cursor)


AUTHORS = st.sampled_from(["requester", "agent-1", "agent-2", ""])
TEXTS = st.one_of(WORDS, WORDS.map(lambda w: f"<p>{w}</p><small>{NOTE_FOOTER_PREFIX}01J{w[:5]}</small>"))


@given(st.lists(st.builds(Comment, TEXTS, AUTHORS, st.booleans()), max_size=8))
def test_a_resolution_is_never_our_note_the_requester_or_private(comments: list[Comment]) -> None:
    found = last_resolution(comments, "requester")
    assert not is_our_note(found)
    if found:
        candidates = [
            c.text
            for c in comments
            if c.public and c.author != "requester" and not is_our_note(c.text) and c.text.strip()
        ]
        assert found == candidates[-1]


def test_our_notes_are_recognised_escaped_or_not() -> None:
    assert is_our_note(f"... {NOTE_FOOTER_PREFIX}01JX")
    assert is_our_note("<small>Ticket Enhancer &middot; job 01JX</small>")
    assert not is_our_note("Ticket Enhancer helped")


def test_times_are_iso_utc() -> None:
    assert iso_utc("2024-01-02T04:04:05.000+0100") == "2024-01-02T03:04:05Z"
    assert iso_utc("2024-01-02 03:04:05") == "2024-01-02T03:04:05Z"
    assert iso_utc("1704164645000") == "2024-01-02T03:04:05Z"
    assert iso_utc(None) == ""
    assert iso_utc("soon") == ""
