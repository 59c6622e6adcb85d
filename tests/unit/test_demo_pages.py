"""`make demo`'s note views: the page rebuilds the stored note (allow-listed tags, escaped text,
http(s) links only) and the terminal shows it line by line, never tags cut into lines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ticket_enhancer.render import NoteFormat, link, render_note
from ticket_enhancer_dev.cli.demo_pages import note_fragment, terminal_text, write_page

FOOTER = "Ticket Enhancer · job 01JDEMO"
KB = "https://kb.example.com/vpn"
MARKDOWN = (
    "### Ticket Enhancer summary\n\n**Summary:** IT-42: VPN <b>drops</b> [x](javascript:alert(1))\n\n"
    f"### Knowledge articles\n\n- {link('VPN troubleshooting', KB)}\n- second item\n\n"
    "### Suggested next steps\n\n1. Check `vpn-gw01`\n2. Call back\n\n```\nraw <script>alert(1)</script>\n```"
)
FORMATS: tuple[NoteFormat, ...] = ("html", "adf", "text")


def stored(fmt: NoteFormat) -> Any:
    return render_note(MARKDOWN, fmt, footer=FOOTER)


@pytest.mark.parametrize("fmt", FORMATS)
def test_terminal_text_reads_like_the_note(fmt: NoteFormat) -> None:
    text = terminal_text(fmt, stored(fmt))
    lines = text.splitlines()
    assert "<" not in text.replace("<b>drops</b>", "").replace("<script>", "").replace("</script>", "")
    if fmt != "text":
        assert "### Ticket Enhancer summary" in lines
        assert f"- VPN troubleshooting ({KB})" in lines
        assert "1. Check vpn-gw01" in lines
        assert "2. Call back" in lines
    assert any("IT-42: VPN <b>drops</b>" in line for line in lines)  # ticket text stays text
    assert FOOTER in lines[-1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_page_is_safe_and_keeps_only_our_links(fmt: NoteFormat, tmp_path: Path) -> None:
    path = write_page(tmp_path, "jira", "IT-42", fmt, stored(fmt))
    assert path == tmp_path / ".ticket-enhancer" / "demo" / "jira.html"
    page = path.read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert 'href="javascript' not in page  # the ticket's "[x](javascript:...)" is text
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs == ([KB] if fmt != "text" else [])
    assert "&lt;b&gt;drops&lt;/b&gt;" in page


def test_hostile_stored_html_is_rebuilt_not_pasted() -> None:
    hostile = (
        '<p onclick="x()">hi <a href="javascript:alert(1)">click</a> <a href="https://ok.example/a">ok</a></p>'
        '<script>alert(1)</script><img src=x onerror=alert(1)><iframe src="https://evil.example"></iframe>'
        "<style>p{}</style><h2>Head</h2><ul><li>one<li>two</ul>"
    )
    fragment = note_fragment("html", hostile)
    assert "onclick" not in fragment
    assert "onerror" not in fragment
    assert "<script" not in fragment
    assert "<iframe" not in fragment
    assert "<img" not in fragment
    assert re.findall(r'href="([^"]*)"', fragment) == ["https://ok.example/a"]
    assert terminal_text("html", hostile).splitlines() == [
        "hi click ok (https://ok.example/a)",
        "",
        "## Head",
        "- one",
        "- two",
    ]


def test_adf_links_other_than_http_are_dropped() -> None:
    doc = {
        "type": "doc",
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {
                        "type": "text",
                        "text": "bad",
                        "marks": [{"type": "link", "attrs": {"href": "javascript:x"}}],
                    },
                    {"type": "text", "text": "<i>", "marks": [{"type": "strong"}]},
                ],
            }
        ],
    }
    assert note_fragment("adf", doc) == "<p>bad<strong>&lt;i&gt;</strong></p>"


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_property_any_stored_html_gives_no_live_markup(body: str) -> None:
    fragment = note_fragment("html", body)
    tags = re.findall(r"<\s*([a-zA-Z0-9]+)", fragment)
    assert set(tags) <= {
        "p",
        "h1",
        "h2",
        "h3",
        "ul",
        "ol",
        "li",
        "pre",
        "blockquote",
        "strong",
        "em",
        "code",
        "br",
        "hr",
        "a",
    }
    assert all(h.startswith(("http://", "https://")) for h in re.findall(r'href="([^"]*)"', fragment))
    assert terminal_text("html", body) is not None
