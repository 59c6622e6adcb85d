"""Tests for ticket_enhancer.render: examples per construct and format, plus safety properties."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.render import (
    LINK_CLOSE,
    LINK_OPEN,
    LINK_SEP,
    MAX_INPUT_CHARS,
    TRUNCATION_MARKER,
    NoteFormat,
    link,
    render_note,
)

FOOTER = "Ticket Enhancer · job 01J9ZK3Q8WBX4M7T2N5R6S0V1C"
REL = 'rel="noopener noreferrer nofollow"'
ALLOWED_TAGS = {"h1", "h2", "h3", "p", "ul", "ol", "li", "strong", "code", "pre", "a", "hr", "br"}
ADF_NODES = {
    "doc",
    "heading",
    "paragraph",
    "bulletList",
    "orderedList",
    "listItem",
    "codeBlock",
    "rule",
    "text",
}
ADF_NODES_ALL = ADF_NODES | {"hardBreak"}  # a line break inside a paragraph (HTML <br>)
ADF_MARKS = {"strong", "code", "link"}
CODE_TAG = re.compile(r"\[\s*/?\s*code\s*\]", re.IGNORECASE)


class TagCollector(HTMLParser):
    """Records every start tag and attribute the browser-like parser sees."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def html_of(markdown: str, footer: str = FOOTER) -> str:
    return render_note(markdown, "html", footer=footer)


def adf_of(markdown: str, footer: str = FOOTER) -> dict[str, Any]:
    return render_note(markdown, "adf", footer=footer)


def text_of(markdown: str, footer: str = FOOTER) -> str:
    return render_note(markdown, "text", footer=footer)


def body(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The ADF content without the footer (rule + paragraph)."""
    content: list[dict[str, Any]] = doc["content"]
    return content[:-2]


def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [node]
    for child in node.get("content", []):
        nodes.extend(walk(child))
    return nodes


def assert_safe_html(out: str) -> None:
    parser = TagCollector()
    parser.feed(out)
    parser.close()
    assert set(parser.tags) <= ALLOWED_TAGS, parser.tags
    for name, value in parser.attrs:
        assert name in {"href", "rel"}, name
        assert value is not None
        if name == "href":
            assert value.startswith(("http://", "https://")), value
        else:
            assert value == "noopener noreferrer nofollow"
    assert parser.tags.count("a") == out.count(REL)  # every link carries rel
    assert "javascript:" not in out.lower()


def assert_safe_adf(doc: dict[str, Any]) -> None:
    assert doc["type"] == "doc"
    assert doc["version"] == 1
    for node in walk(doc):
        assert node["type"] in ADF_NODES_ALL, node
        assert set(node) <= {"type", "version", "attrs", "content", "text", "marks"}, node
        if node["type"] == "text":
            assert isinstance(node["text"], str)
            assert node["text"] != ""
            marks = node.get("marks", [])
            types = [mark["type"] for mark in marks]
            assert set(types) <= ADF_MARKS
            assert not {"code", "strong"} <= set(types)  # ADF forbids that combination
            for mark in marks:
                if mark["type"] == "link":
                    assert mark["attrs"]["href"].startswith(("http://", "https://"))
        else:
            assert "text" not in node
            assert "marks" not in node
        if node["type"] == "listItem":
            assert node["content"], node
            assert all(child["type"] == "paragraph" for child in node["content"])
        if node["type"] == "codeBlock":
            assert all("marks" not in child for child in node["content"])


def assert_safe_text(out: str) -> None:
    assert not CODE_TAG.search(out), out


# --- Headings, paragraphs, emphasis ------------------------------------------------------------


def test_headings_html() -> None:
    out = html_of("# One\n## Two\n### Three\n#### Four")
    assert out.startswith("<h1>One</h1>\n<h2>Two</h2>\n<h3>Three</h3>\n<p>#### Four</p>")


def test_headings_adf() -> None:
    blocks = body(adf_of("# One\n## Two\n### Three"))
    assert [(b["type"], b["attrs"]["level"], b["content"][0]["text"]) for b in blocks] == [
        ("heading", 1, "One"),
        ("heading", 2, "Two"),
        ("heading", 3, "Three"),
    ]


def test_headings_text() -> None:
    assert text_of("# One\n## Two").startswith("One\n\nTwo\n\n--\n")


def test_paragraphs_bold_and_inline_code() -> None:
    markdown = "First **bold** and `x < y`\nsame paragraph\n\nSecond"
    assert html_of(markdown).startswith(
        "<p>First <strong>bold</strong> and <code>x &lt; y</code><br>same paragraph</p>\n<p>Second</p>\n"
    )
    first, second = body(adf_of(markdown))
    assert first["content"] == [
        {"type": "text", "text": "First "},
        {"type": "text", "text": "bold", "marks": [{"type": "strong"}]},
        {"type": "text", "text": " and "},
        {"type": "text", "text": "x < y", "marks": [{"type": "code"}]},
        {"type": "hardBreak"},
        {"type": "text", "text": "same paragraph"},
    ]
    assert second == {"type": "paragraph", "content": [{"type": "text", "text": "Second"}]}
    assert text_of(markdown).startswith("First bold and `x < y`\nsame paragraph\n\nSecond\n\n--\n")


def test_code_inside_bold_drops_strong_in_adf_only() -> None:
    assert "<strong><code>c</code></strong>" in html_of("**a `c` b**")
    (paragraph,) = body(adf_of("**a `c` b**"))
    assert [node.get("marks") for node in paragraph["content"]] == [
        [{"type": "strong"}],
        [{"type": "code"}],
        [{"type": "strong"}],
    ]


# --- Lists ----------------------------------------------------------------------------------


def test_bullet_and_ordered_lists() -> None:
    markdown = "- one\n- **two**\n  continued\n\n1. first\n7. second\nafter"
    assert html_of(markdown).startswith(
        "<ul><li>one</li><li><strong>two</strong> continued</li></ul>\n"
        "<ol><li>first</li><li>second</li></ol>\n<p>after</p>\n"
    )
    bullets, ordered, after = body(adf_of(markdown))
    assert bullets["type"] == "bulletList"
    assert ordered["type"] == "orderedList"
    assert after["type"] == "paragraph"
    assert [item["content"][0]["content"][0]["text"] for item in ordered["content"]] == ["first", "second"]
    assert all(item["content"][0]["type"] == "paragraph" for item in bullets["content"])
    assert text_of(markdown).startswith("- one\n- two continued\n\n1. first\n2. second\n\nafter\n\n--\n")


# --- Code blocks ------------------------------------------------------------------------------


def test_fenced_code_block() -> None:
    markdown = "```python\nif a < b:\n    print('<script>')\n```\nafter"
    assert html_of(markdown).startswith(
        "<pre><code>if a &lt; b:\n    print(&#x27;&lt;script&gt;&#x27;)</code></pre>\n<p>after</p>"
    )
    code, after = body(adf_of(markdown))
    assert code == {
        "type": "codeBlock",
        "content": [{"type": "text", "text": "if a < b:\n    print('<script>')"}],
    }
    assert after["type"] == "paragraph"
    assert text_of(markdown).startswith("    if a < b:\n        print('<script>')\n\nafter")


def test_code_block_content_is_literal_and_empty_block_has_no_empty_text() -> None:
    assert "<pre><code># not a heading\n**x**</code></pre>" in html_of("```\n# not a heading\n**x**\n```")
    (code,) = body(adf_of("```\n```"))
    assert code == {"type": "codeBlock", "content": []}
    assert html_of("```\nunclosed\n# x").startswith("<pre><code>unclosed\n# x</code></pre>\n")  # to the end


# --- Links (only the composer's; text never makes one, see test_link_policy.py) -----------------


def raw_link(label: str, url: str) -> str:
    """A link marker written by hand, past link()'s own URL check: the renderer checks again."""
    return f"{LINK_OPEN}{label}{LINK_SEP}{url}{LINK_CLOSE}"


def test_http_links() -> None:
    kb, wiki = (
        link("the KB", "https://kb.example.com/a?b=1&c=2"),
        link("w", "http://en.example.org/wiki/X_(y)"),
    )
    markdown = f"See {kb} or {wiki}."
    out = html_of(markdown)
    assert f'<a href="https://kb.example.com/a?b=1&amp;c=2" {REL}>the KB</a>' in out
    assert f'<a href="http://en.example.org/wiki/X_(y)" {REL}>w</a>' in out
    (paragraph,) = body(adf_of(markdown))
    links = [node for node in paragraph["content"] if "marks" in node]
    assert links[0] == {
        "type": "text",
        "text": "the KB",
        "marks": [{"type": "link", "attrs": {"href": "https://kb.example.com/a?b=1&c=2"}}],
    }
    assert text_of(markdown).startswith(
        "See the KB (https://kb.example.com/a?b=1&c=2) or w (http://en.example.org/wiki/X_(y)).\n"
    )


def test_link_scheme_is_lowercased() -> None:
    assert f'<a href="https://x.example/" {REL}>x</a>' in html_of(link("x", "HTTPS://x.example/"))
    assert f'<a href="https://x.example/" {REL}>x</a>' in html_of(raw_link("x", "HTTPS://x.example/"))


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        " javascript:alert(1)",
        "\x01javascript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "/relative/path",
        "//evil.example/x",
        "ftp://files.example/x",
        "https://",
        " https://ok.example/",
        "https://ok.example/ x",
        "https://ok.example/\u200bx",
        "https://ok.example/\u202ex",
        'https://ok.example/" onmouseover="alert(1)',
        "https://trusted.example@evil.example/",
        "https://ok.example/?next=javascript:alert(1)",
        "http://[::1",
    ],
)
@pytest.mark.parametrize("make", [link, raw_link])
def test_unsafe_links_render_as_label_text(url: str, make: Callable[[str, str], str]) -> None:
    markdown = f"Click {make('here', url)} now"
    out = html_of(markdown)
    assert "<a" not in out
    assert "href" not in out
    assert out.startswith("<p>Click here now</p>\n")
    assert_safe_html(out)
    doc = adf_of(markdown)
    assert_safe_adf(doc)
    assert not any("marks" in node for node in walk(doc))
    assert "here" in "".join(node.get("text", "") for node in walk(doc))
    assert text_of(markdown).startswith("Click here now\n")


def test_simple_unsafe_link_is_exactly_its_label() -> None:
    assert html_of(raw_link("x", "javascript:alert(1)")).startswith("<p>x</p>\n")
    assert text_of(raw_link("x", "data:text/html,hi")).startswith("x\n")
    assert link("x", "javascript:alert(1)") == "x"


# --- Hostile text -----------------------------------------------------------------------------


def test_html_in_text_is_escaped() -> None:
    markdown = "<img src=x onerror=alert(1)> <script>alert('x')</script> & \"q\" javascript:go()"
    out = html_of(markdown)
    assert out.startswith(
        "<p>&lt;img src=x onerror=alert(1)&gt; &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; "
        "&amp; &quot;q&quot; javascript&#58;go()</p>"
    )
    assert_safe_html(out)
    (paragraph,) = body(adf_of(markdown))
    assert paragraph["content"] == [{"type": "text", "text": markdown}]


def test_control_characters_are_dropped() -> None:
    assert html_of("a\x00b\x1bc\r\nd").startswith("<p>abc<br>d</p>")


# --- ServiceNow [code] ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "markdown",
    [
        "[code]<script>alert(1)</script>[/code]",
        "[CODE]<img src=x onerror=alert(1)>[/Code]",
        "[ code ]<b>x</b>[ / code ]",
        "[\tcode\n]x[/\ncode]",
        "`[code]`<b>x</b>`[/code]`",
        "```\n[code]<script>alert(1)</script>[/code]\n```",
        "- [code]x\n- [/code]",
        "[[code]]<i>x</i>[[/code]]",
        "[c\u200bode]x[/co\u200bde]",
        "[\uff43\uff4f\uff44\uff45]x",
    ],
)
def test_text_neutralises_servicenow_code_tags(markdown: str) -> None:
    out = text_of(markdown)
    assert_safe_text(out)
    assert not re.search(r"\[[\s\u200b]*/?[\s\u200b]*(code|\uff43\uff4f\uff44\uff45)", out, re.IGNORECASE)
    assert "\uff3b" in out
    assert out.endswith(f"\n--\n{FOOTER}")


def test_text_keeps_other_brackets() -> None:
    assert text_of("[ERROR] disk [sda1] full").startswith("[ERROR] disk [sda1] full\n")


# --- Footer, truncation, formats ----------------------------------------------------------------


@pytest.mark.parametrize("markdown", ["", "# Hi", "para\n\n- a\n\n```\ncode"])
def test_footer_is_last_and_verbatim(markdown: str) -> None:
    out = html_of(markdown)
    assert out.endswith(f"<hr><p>{FOOTER}</p>")
    doc = adf_of(markdown)
    assert doc["content"][-2:] == [
        {"type": "rule"},
        {"type": "paragraph", "content": [{"type": "text", "text": FOOTER}]},
    ]
    text = text_of(markdown)
    assert text.endswith(f"--\n{FOOTER}")
    assert text.splitlines()[-2:] == ["--", FOOTER]


def test_empty_markdown_is_just_the_footer() -> None:
    assert html_of("") == f"<hr><p>{FOOTER}</p>"
    assert text_of("\n\n") == f"--\n{FOOTER}"
    assert adf_of("")["content"] == [
        {"type": "rule"},
        {"type": "paragraph", "content": [{"type": "text", "text": FOOTER}]},
    ]


def test_empty_footer_makes_no_empty_adf_text() -> None:
    doc = adf_of("x", footer="")
    assert doc["content"][-1] == {"type": "paragraph", "content": []}
    assert_safe_adf(doc)


def test_long_input_is_truncated_with_marker() -> None:
    markdown = "word " * (MAX_INPUT_CHARS // 5 + 2000)
    out = html_of(markdown)
    assert f"<p>{TRUNCATION_MARKER}</p>\n<hr>" in out
    assert len(out) < MAX_INPUT_CHARS + 200
    assert TRUNCATION_MARKER in text_of(markdown)
    assert TRUNCATION_MARKER not in html_of("short")


def test_truncation_marker_stays_outside_an_open_code_block() -> None:
    out = html_of("```\n" + "x" * MAX_INPUT_CHARS)
    assert out.endswith(f"</code></pre>\n<p>{TRUNCATION_MARKER}</p>\n<hr><p>{FOOTER}</p>")


def test_unknown_format_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown note format"):
        render_note("x", "markdown", footer=FOOTER)  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "markdown",
    [
        "[" * 70_000,
        "`" * 60_000,
        "*" * 60_000,
        "**a" * 20_000,
        "[a](" * 15_000,
        "[a](" + "(b" * 30_000,
        ("[a](" + "x" * 2040) * 25,
        "- " + "[a]((" * 10_000,
        "[code]" * 10_000,
        "[" + " " * 59_999,
    ],
)
def test_pathological_input_renders_quickly(markdown: str) -> None:
    formats: tuple[NoteFormat, ...] = ("html", "adf", "text")
    start = time.perf_counter()
    for fmt in formats:
        render_note(markdown, fmt, footer=FOOTER)
    assert time.perf_counter() - start < 5


# --- Properties -------------------------------------------------------------------------------

TOKENS = [
    *"<>\"'&*`[]()#-.:/=\\ \n\t\r\x00\u200b\u202e·",
    "<script>",
    "</script>",
    "<img src=x onerror=alert(1)>",
    "<a href='javascript:alert(1)'>",
    "javascript:alert(1)",
    "JaVaScRiPt:",
    "java\tscript:",
    "vbscript:",
    "data:text/html,<b>",
    "https://ok.example/p?q=1&r=2",
    "http://",
    "[code]",
    "[/code]",
    "[ CoDe ]",
    "[ / code\t]",
    "**",
    "```",
    "\n\n",
    "\n# ",
    "\n## ",
    "\n### ",
    "\n- ",
    "\n  ",
    "\n1. ",
    "[x](",
    LINK_OPEN,
    LINK_SEP,
    LINK_CLOSE,
    "](javascript:alert(1))",
    "](https://ok.example/a)",
    "](//evil.example)",
    '" onmouseover="x',
    "on",
    "code",
    "word",
]
URL_PREFIXES = [
    "https://",
    "http://",
    "HTTPS://",
    "javascript:",
    "JaVaScRiPt:",
    "java\tscript:",
    "data:",
    " ",
    "",
]
fragments = st.one_of(st.sampled_from(TOKENS), st.text(max_size=5))
links = st.builds(
    lambda form, label, prefix, rest: form.format(label, prefix + rest),
    st.sampled_from(["[{}]({})", "<{1}>", "{1}", LINK_OPEN + "{}" + LINK_SEP + "{}" + LINK_CLOSE]),
    st.lists(fragments, min_size=1, max_size=4).map("".join),
    st.sampled_from(URL_PREFIXES),
    st.one_of(st.sampled_from(["ok.example/a", "ok.example/?q=<b>&r='1'", "x@evil.example"]), fragments),
)
markdown_text = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=80).map("".join),
    st.text(max_size=200),
    st.lists(st.one_of(fragments, links), max_size=40).map("".join),
)
footers = st.sampled_from([FOOTER, "", "job <b>&</b> [code]", "Ticket Enhancer · a1b2c3"])


@settings(max_examples=300, deadline=None)
@given(markdown_text)
def test_property_html_is_safe(markdown: str) -> None:
    out = html_of(markdown)
    assert_safe_html(out)
    assert out.endswith(f"<hr><p>{FOOTER}</p>")


@settings(max_examples=300, deadline=None)
@given(markdown_text, footers)
def test_property_adf_is_safe(markdown: str, footer: str) -> None:
    doc = adf_of(markdown, footer)
    assert_safe_adf(doc)
    assert doc["content"][-2]["type"] == "rule"
    assert "".join(node.get("text", "") for node in walk(doc["content"][-1])) == footer


@settings(max_examples=300, deadline=None)
@given(markdown_text)
def test_property_text_has_no_code_tags(markdown: str) -> None:
    out = text_of(markdown)
    assert_safe_text(out)
    assert out.endswith(f"--\n{FOOTER}")
