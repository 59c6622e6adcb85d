"""The link policy: text from tickets, articles, assets and models never makes a link.

Only the links the composer builds from our own records (similar tickets' and stored articles' URLs,
via ``render.link``) are live. Brackets, ``<https://...>`` and bare URLs from anything else are
plain text in the HTML, ADF and text notes alike.
"""

from __future__ import annotations

import asyncio
import json
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.enhance.model_note import compose_model_note
from ticket_enhancer.enhance.model_output import ModelAnswer, ModelReply
from ticket_enhancer.enhance.note import compose_offline_note
from ticket_enhancer.enhance.prompt import Prompt, build_prompt
from ticket_enhancer.enhance.records import Article, Asset, AssetMatch, GatheredContext, IndexedTicket
from ticket_enhancer.enhance.synthesis import SynthesisResult, synthesize_note
from ticket_enhancer.models import Priority, Ticket
from ticket_enhancer.render import LINK_CLOSE, LINK_OPEN, LINK_SEP, NoteFormat, link, render_note, untrusted

FOOTER = "Ticket Enhancer · job 01J9ZK3Q8WBX4M7T2N5R6S0V1C"
FORMATS: tuple[NoteFormat, ...] = ("html", "adf", "text")
EVIL = "https://sso-acme.evil.example"
PHISH = f"[Re-verify SSO]({EVIL})"
AUTOLINK = "<https://evil.example>"
BARE = "https://evil.example/x"
FORGED = f"{LINK_OPEN}Re-verify SSO{LINK_SEP}https://evil.example/forged{LINK_CLOSE}"
SIMILAR_URL = "https://acme.atlassian.net/browse/IT-7"
KB_URL = "https://kb.example.com/vpn"
TRUSTED = {SIMILAR_URL, KB_URL}


# --- Reading the rendered note ------------------------------------------------------------------


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs.extend(value or "" for name, value in attrs if tag == "a" and name == "href")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [node]
    for child in node.get("content", []):
        nodes.extend(_walk(child))
    return nodes


def read(markdown: str, fmt: NoteFormat) -> tuple[list[str], str]:
    """The link targets of the rendered note and the text a reader sees."""
    if fmt == "html":
        reader = _Reader()
        reader.feed(render_note(markdown, "html", footer=FOOTER))
        reader.close()
        return reader.hrefs, "".join(reader.text)
    if fmt == "adf":
        nodes = _walk(render_note(markdown, "adf", footer=FOOTER))
        hrefs = [
            mark["attrs"]["href"]
            for node in nodes
            for mark in node.get("marks", [])
            if mark["type"] == "link"
        ]
        # Text nodes are split at marks and hard breaks: join them to see the words as shown.
        return hrefs, "".join(node.get("text", "") for node in nodes)
    out = render_note(markdown, "text", footer=FOOTER)
    return [], out  # plain text has no links of its own; what matters is that it shows the text


def assert_rendered_without_markers(markdown: str) -> None:
    for fmt in FORMATS:
        _, shown = read(markdown, fmt)
        assert not {LINK_OPEN, LINK_SEP, LINK_CLOSE} & set(shown), fmt


# --- Fixtures -----------------------------------------------------------------------------------


def ticket(**kw: Any) -> Ticket:
    fields: dict[str, Any] = {
        "tool_type": "jira",
        "tenant_id": "acme",
        "ticket_id": "10001",
        "display_key": "IT-42",
        "subject": "VPN unstable",
        "description": "VPN drops every 5 minutes for host 10.1.2.3",
        "priority": Priority.HIGH,
    }
    return Ticket(**(fields | kw))


def context(
    t: Ticket | None = None,
    *,
    title: str = "VPN troubleshooting",
    body: str = "Check MTU and client version",
    asset: Asset | None = None,
) -> GatheredContext:
    return GatheredContext(
        ticket=t or ticket(),
        similar=(IndexedTicket("9001", "IT-7", "VPN disconnects", "resolved by MTU fix", SIMILAR_URL),),
        articles=(Article("a1", title, body, KB_URL),),
        assets=(AssetMatch("10.1.2.3", asset or Asset("10.1.2.0/24", "vpn-pool", "AnyConnect pool")),),
    )


def offline(ctx: GatheredContext) -> str:
    return compose_offline_note(ctx)


class EchoModel:
    """A model steered by the requester: it copies the data, links and all, into its answer."""

    name = "echo"

    def __init__(self, extra: str = "") -> None:
        self.extra = extra

    async def synthesize(self, prompt: Prompt) -> ModelReply:
        data = prompt.context
        answer = {
            "summary": f"{data.ticket.subject} {data.ticket.description} {self.extra}",
            "likely_cause": f"[{data.articles[0].title}]({KB_URL})",
            "open_questions": [data.articles[0].body],
        }
        return ModelReply(json.dumps(answer))


def model_note(ctx: GatheredContext, extra: str = "") -> SynthesisResult:
    return asyncio.run(synthesize_note(EchoModel(extra), build_prompt(ctx), seconds=5))


# --- Offline note: text from tickets, articles and assets ---------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_subject_shows_as_text_and_our_links_stay_live(fmt: NoteFormat) -> None:
    hrefs, shown = read(offline(context(ticket(subject=PHISH))), fmt)
    assert PHISH in shown  # brackets and URL visible, as text
    assert EVIL not in "".join(hrefs)
    if fmt != "text":
        assert set(hrefs) == TRUSTED  # the similar ticket and the stored article are still links
    else:
        assert f"IT-7: VPN disconnects ({SIMILAR_URL})" in shown


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_article_title_is_text_inside_our_link(fmt: NoteFormat) -> None:
    title = f"Reset guide {PHISH} {AUTOLINK} {BARE}"
    hrefs, shown = read(offline(context(title=title)), fmt)
    assert set(hrefs) <= TRUSTED
    assert title in shown
    if fmt != "text":
        assert hrefs.count(KB_URL) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_asset_name_and_note_are_text(fmt: NoteFormat) -> None:
    asset = Asset("10.1.2.0/24", f"pool {PHISH}", f"see {PHISH} or {AUTOLINK} or {BARE}")
    hrefs, shown = read(offline(context(asset=asset)), fmt)
    assert set(hrefs) <= TRUSTED
    assert f"see {PHISH} or {AUTOLINK} or {BARE}" in shown
    assert f"pool {PHISH}" in shown


@pytest.mark.parametrize("fmt", FORMATS)
def test_forged_link_markers_in_records_are_dropped(fmt: NoteFormat) -> None:
    ctx = context(ticket(subject=FORGED), title=FORGED, asset=Asset("10.1.2.0/24", FORGED, FORGED))
    hrefs, shown = read(offline(ctx), fmt)
    assert set(hrefs) <= TRUSTED
    assert "https://evil.example/forged" in shown
    assert_rendered_without_markers(offline(ctx))


# --- Model output -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "where", ["subject", "description", "article title", "article body", "model"], ids=lambda w: w
)
def test_a_hostile_link_echoed_by_the_model_drops_the_model_part(fmt: NoteFormat, where: str) -> None:
    """A URL outside the gathered data in the model's answer, whether the model copied it from the
    ticket, an article or wrote it itself: prompt injection suspected, the offline note is used."""
    kw = {where: PHISH}
    ctx = context(
        ticket(subject=kw.get("subject", "VPN unstable"), description=kw.get("description", "VPN drops")),
        title=kw.get("article title", "VPN troubleshooting"),
        body=kw.get("article body", "Check MTU"),
    )
    result = model_note(ctx, extra=kw.get("model", ""))
    assert (result.provider, result.fallback_from, result.fallback_reason) == (
        "offline",
        "echo",
        "injection suspected",
    )
    assert result.markdown == offline(ctx)
    hrefs, shown = read(result.markdown, fmt)
    assert EVIL not in "".join(hrefs)
    assert set(hrefs) <= TRUSTED
    assert "AI summary" not in shown


@pytest.mark.parametrize("fmt", FORMATS)
def test_model_output_with_our_urls_only_is_kept_and_its_links_are_text(fmt: NoteFormat) -> None:
    ctx = context(ticket(subject="VPN [down]", description="**bold** `code` ### heading"))
    forged_ok = FORGED.replace("https://evil.example/forged", KB_URL)
    result = model_note(ctx, extra=f"see {SIMILAR_URL} and {forged_ok}")
    assert result.provider == "echo", result.fallback_reason
    hrefs, shown = read(result.markdown, fmt)
    if fmt != "text":
        assert sorted(hrefs) == sorted(TRUSTED)  # only the offline parts' links to our records
    assert f"[VPN troubleshooting]({KB_URL})" in shown  # the model's markdown link is text
    assert_rendered_without_markers(result.markdown)


@pytest.mark.parametrize("fmt", FORMATS)
def test_text_never_autolinks(fmt: NoteFormat) -> None:
    markdown = untrusted(f"Description: {AUTOLINK} and {BARE}\n\n- {PHISH}\n- **{PHISH}** `{PHISH}`")
    hrefs, shown = read(markdown, fmt)
    assert hrefs == []
    for literal in (AUTOLINK, BARE, PHISH):
        assert literal in shown


def test_link_refuses_non_http_urls_and_keeps_the_label_plain() -> None:
    assert link("x", "javascript:alert(1)") == "x"
    assert link("", "ftp://files.example/x") == "link"
    assert link("a\n[b]", f"{KB_URL} ") == "a [b]"  # no trailing space allowed in our own URLs
    made = link(f"a\n{FORGED}", KB_URL)
    assert made == f"{LINK_OPEN}a Re-verify SSOhttps://evil.example/forged{LINK_SEP}{KB_URL}{LINK_CLOSE}"
    assert len(link("x" * 5000, KB_URL)) < 600


# --- Properties -----------------------------------------------------------------------------------

HOSTILE_TOKENS = [
    "[",
    "]",
    "(",
    ")",
    "<",
    ">",
    "](",
    "**",
    "`",
    "\n",
    "\n\n- ",
    "\n### ",
    "```\n",
    LINK_OPEN,
    LINK_SEP,
    LINK_CLOSE,
    PHISH,
    AUTOLINK,
    BARE,
    FORGED,
    f"[x]({KB_URL})",
    "https://",
    "javascript:alert(1)",
    "evil.example",
    "[code]",
]
hostile = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(st.sampled_from(HOSTILE_TOKENS), st.text(max_size=4)), max_size=25).map("".join),
)


def assert_links_only_to(markdown: str, trusted: set[str]) -> None:
    for fmt in ("html", "adf"):
        hrefs, _ = read(markdown, fmt)
        assert set(hrefs) <= trusted, (fmt, hrefs)
    assert_rendered_without_markers(markdown)


@settings(max_examples=150, deadline=None)
@given(st.lists(hostile, min_size=4, max_size=4))
def test_property_untrusted_text_links_only_to_trusted_urls(texts: list[str]) -> None:
    a, b, c, d = (untrusted(text) for text in texts)
    markdown = (
        f"### {a}\n\n{b}\n\n- {link(c, SIMILAR_URL)}\n- {c} {link(d, KB_URL)} {d}\n\n**{a}** `{b}`\n\n"
        f"1. {d}\n```\n{c}\n```\n{a}"
    )
    assert_links_only_to(markdown, TRUSTED)


@settings(max_examples=100, deadline=None)
@given(st.lists(hostile, min_size=8, max_size=8))
def test_property_offline_note_links_only_to_our_records(texts: list[str]) -> None:
    subject, key, title, body, name, notes, similar, raw = texts
    ctx = GatheredContext(
        ticket=ticket(subject=subject, display_key=key, description=body, priority_raw=raw),
        similar=(IndexedTicket("9001", similar or "IT-7", similar, body, SIMILAR_URL),),
        articles=(Article("a1", title, body, KB_URL),),
        assets=(AssetMatch(name or "x", Asset(notes or "h", name, notes)),),
    )
    assert_links_only_to(offline(ctx), TRUSTED)


@settings(max_examples=150, deadline=None)
@given(hostile)
def test_property_model_output_makes_no_link(text: str) -> None:
    answer = ModelAnswer(summary=f"{text} [ok]({KB_URL}) {text}", likely_cause=text, open_questions=[text])
    assert_links_only_to(compose_model_note(answer, ""), set())
