"""`make demo`'s views of a posted note: an HTML page per tool and a readable terminal rendering.

A note as the tool stored it is untrusted here too (it came back from the vendor sandbox), so it is
rebuilt, never pasted: HTML notes are parsed and only an allow-list of tags is written again (text
escaped, links only to http(s) URLs, ``rel="noopener noreferrer nofollow"``), ADF documents are
walked node by node, plain-text notes go into ``<pre>``. The terminal view is made from the same
rebuilt HTML: one line per paragraph or list item, ``- ``/``1. `` for lists, links as
``label (url)``, never a tag cut into lines.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ticket_enhancer.render import LINK_REL, safe_url

__all__ = ["DEMO_DIR", "note_fragment", "terminal_text", "write_page"]

DEMO_DIR = Path(".ticket-enhancer") / "demo"
_BLOCKS = {"p", "h1", "h2", "h3", "ul", "ol", "li", "pre", "blockquote", "div"}
_INLINE = {"strong", "b", "em", "i", "code", "br", "hr", "a"}
_VOID = {"br", "hr"}
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{title}</title>
<style>
body{{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#172b4d}}
.note{{border:1px solid #dfe1e6;border-left:4px solid #ffab00;border-radius:4px;padding:.5rem 1.25rem}}
code,pre{{background:#f4f5f7;border-radius:3px}} pre{{padding:.5rem;white-space:pre-wrap}}
.meta{{color:#5e6c84}}
</style>
</head><body>
<h1>{title}</h1>
<p class="meta">{meta}</p>
<div class="note">
{note}
</div>
</body></html>
"""


class _Sanitiser(HTMLParser):
    """Writes the allow-listed tags of an HTML note again, every text escaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skip = 0  # inside <script>/<style>: dropped with their content

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        if self.skip or tag not in _BLOCKS | _INLINE:
            return
        tag = {"b": "strong", "i": "em", "div": "p"}.get(tag, tag)
        if tag == "a":
            href = safe_url(dict(attrs).get("href") or "")
            if href is None:
                self.open.append("")  # a link we do not keep: its text only
                return
            self.out.append(f'<a href="{html.escape(href, quote=True)}" rel="{LINK_REL}">')
        else:
            self.out.append(f"<{tag}>")
        if tag not in _VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
            return
        tag = {"b": "strong", "i": "em", "div": "p"}.get(tag, tag)
        if self.skip or tag not in (_BLOCKS | _INLINE) - _VOID or not self.open:
            return
        if tag == "a" and self.open[-1] == "":
            self.open.pop()
            return
        if tag in self.open:
            while self.open:
                closing = self.open.pop()
                if closing:
                    self.out.append(f"</{closing}>")
                if closing == tag:
                    break

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(html.escape(data, quote=True))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{t}>" for t in reversed(self.open) if t)


def _adf(node: Any) -> str:
    """An ADF node as allow-listed HTML (unknown nodes: their text only)."""
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "text":
        piece = html.escape(str(node.get("text", "")), quote=True)
        for mark in node.get("marks") or []:
            mark_type = mark.get("type") if isinstance(mark, dict) else None
            if mark_type in ("strong", "code", "em"):
                piece = f"<{mark_type}>{piece}</{mark_type}>"
            elif mark_type == "link":
                href = safe_url(str((mark.get("attrs") or {}).get("href", "")))
                if href is not None:
                    piece = f'<a href="{html.escape(href, quote=True)}" rel="{LINK_REL}">{piece}</a>'
        return piece
    inner = "".join(_adf(child) for child in node.get("content") or [])
    tags = {
        "paragraph": "p",
        "bulletList": "ul",
        "orderedList": "ol",
        "listItem": "li",
        "codeBlock": "pre",
        "blockquote": "blockquote",
    }
    if kind == "heading":
        level = min(3, max(1, int((node.get("attrs") or {}).get("level", 3))))
        return f"<h{level}>{inner}</h{level}>"
    if kind == "hardBreak":
        return "<br>"
    if kind == "rule":
        return "<hr>"
    tag = tags.get(str(kind))
    return f"<{tag}>{inner}</{tag}>" if tag else inner


def note_fragment(note_format: str, body: Any) -> str:
    """The note as safe HTML: ``body`` is the stored note (HTML text, an ADF document or text)."""
    if note_format == "adf":
        return _adf(body)
    if note_format == "text":
        return f"<pre>{html.escape(str(body), quote=True)}</pre>"
    sanitiser = _Sanitiser()
    sanitiser.feed(str(body))
    return sanitiser.result()


class _Text(HTMLParser):
    """Safe HTML (``note_fragment``) as terminal text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [kind (0 bullet, 1 ordered), count]
        self.href: str | None = None
        self.pre = False

    def _flush(self) -> None:
        text = "".join(self.line)
        if self.pre:
            self.lines.extend(text.split("\n"))
        elif text.strip():
            self.lines.append(" ".join(text.split()))
        self.line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        marker_only = self.lists and not "".join(self.line[1:]).strip() and len(self.line) == 1
        if tag in ("p", "h1", "h2", "h3", "pre", "li", "br", "hr", "ul", "ol", "blockquote") and not (
            tag == "p" and marker_only  # an ADF list item's paragraph continues its "- " line
        ):
            self._flush()
        if tag in ("ul", "ol"):
            self.lists.append([int(tag == "ol"), 0])
        elif tag == "li" and self.lists:
            self.lists[-1][1] += 1
            ordered, count = self.lists[-1]
            self.line.append("  " * (len(self.lists) - 1) + (f"{count}. " if ordered else "- "))
        elif tag in ("h1", "h2", "h3"):
            self.lines.append("")
            self.line.append("#" * int(tag[1]) + " ")
        elif tag == "hr":
            self.lines.append("-" * 40)
        elif tag == "pre":
            self.pre = True
        elif tag == "a":
            self.href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.href:
            self.line.append(f" ({self.href})")
            self.href = None
        if tag in ("h1", "h2", "h3", "pre", "li", "blockquote") or (tag == "p" and not self.lists):
            self._flush()
        if tag == "pre":
            self.pre = False
        if tag in ("ul", "ol") and self.lists:
            self._flush()
            self.lists.pop()

    def handle_data(self, data: str) -> None:
        self.line.append(data)

    def text(self) -> str:
        self.close()
        self._flush()
        out: list[str] = []
        for line in self.lines:
            if line or (out and out[-1]):
                out.append(line.rstrip())
        return "\n".join(out).strip()


def terminal_text(note_format: str, body: Any) -> str:
    """The note as an agent reads it, for the terminal."""
    if note_format == "text":
        return str(body).strip()
    reader = _Text()
    reader.feed(note_fragment(note_format, body))
    return reader.text()


def write_page(root: Path, tool: str, ticket_id: str, note_format: str, body: Any) -> Path:
    """``.ticket-enhancer/demo/<tool>.html``: the note in a small page; its path."""
    folder = root / DEMO_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{tool}.html"
    title = html.escape(f"{tool}: internal note on ticket {ticket_id}", quote=True)
    meta = html.escape(f"as the agent sees it ({note_format} note, rebuilt from the stored note)", quote=True)
    path.write_text(
        _PAGE.format(title=title, meta=meta, note=note_fragment(note_format, body)), encoding="utf-8"
    )
    return path
