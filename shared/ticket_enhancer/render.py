"""Render the composer's markdown into the note format each ticketing tool accepts.

Threat model
------------
The markdown given to :func:`render_note` is written by our own note composer, but it embeds text
we do not control: ticket subjects and bodies (anyone who can e-mail the service desk writes those),
knowledge articles, inventory entries and model output (which a requester can steer by prompt
injection). So ALL of it is treated as hostile. The note is posted as an internal note and read by
agents inside the ticketing tool, so the risks are stored XSS in the tool's UI, links to phishing,
``javascript:``/``data:`` or look-alike targets, and markup smuggled past a tool's own format
(ServiceNow renders raw HTML inside ``[code]...[/code]`` in work notes).

Defences:

* Input markup is never passed through. A tiny parser recognises a fixed markdown subset (headings,
  paragraphs, ``-``/``1.`` lists, fenced code, ``**bold**``, ```code```) and produces blocks of
  plain-text spans; everything else stays literal text.
* Link policy (this module is its one place): text can never make a link. ``[label](url)``,
  ``<https://...>`` and bare URLs are plain text in every format. The only links are those the
  composer builds with :func:`link` from our own data; they are written with Unicode noncharacters
  (:data:`LINK_OPEN` label :data:`LINK_SEP` url :data:`LINK_CLOSE`) that :func:`untrusted` removes
  from any text we do not control, and that the renderer drops wherever they do not form a link.
* Only absolute http(s) URLs without whitespace, control or quote characters become links (checked
  by :func:`link` and again here); anything else renders as the label's plain text.
* The emitters build output only from our own constructs. HTML: a fixed tag allow-list, every text
  run through ``html.escape(quote=True)``, no attribute but ``href``/``rel``. ADF: a dict of known
  node types that the caller serialises as JSON. Text: ``[code]`` tags are neutralised.
* The input is truncated to :data:`MAX_INPUT_CHARS`, and the inline patterns are bounded so that
  hostile input cannot make the regexes backtrack for long.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal, overload
from urllib.parse import urlsplit

NoteFormat = Literal["html", "adf", "text"]
BlockKind = Literal["heading", "paragraph", "bullet", "ordered", "code"]

MAX_INPUT_CHARS = 60_000
TRUNCATION_MARKER = "…(truncated)"
LINK_REL = "noopener noreferrer nofollow"
MAX_URL_CHARS = 2048
MAX_LABEL_CHARS = 500
# A composer-made link: LINK_OPEN label LINK_SEP url LINK_CLOSE. Noncharacters are reserved for a
# program's internal use; untrusted() removes them, so no text we do not control can write one.
LINK_OPEN, LINK_SEP, LINK_CLOSE = "\ufdd0", "\ufdd1", "\ufdd2"

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FENCE_OPEN = re.compile(r"^\s*```")
_FENCE_CLOSE = re.compile(r"^\s*```\s*$")
_HEADING = re.compile(r"^(#{1,3})[ \t]+(\S.*)$")
_BULLET = re.compile(r"^\s*-[ \t]+(\S.*)$")
_ORDERED = re.compile(r"^\s*\d{1,9}\.[ \t]+(\S.*)$")
_LINK_MARKS = re.compile("[\ufdd0-\ufdd2]")
# Character classes exclude the delimiters and lengths are bounded, so each failed attempt stops
# early (no quadratic blow-up). Links are found first; code beats bold in the text between them.
_LINK = re.compile(
    f"{LINK_OPEN}([^\ufdd0-\ufdd2\n]{{1,{MAX_LABEL_CHARS}}}){LINK_SEP}"
    f"([^\ufdd0-\ufdd2\n]{{1,{MAX_URL_CHARS}}}){LINK_CLOSE}"
)
_INLINE = re.compile(r"`(?P<code>[^`\n]+)`|\*\*(?P<strong>.+?)\*\*")
_SCRIPT_SCHEME = re.compile(r"(?:java|vb)script:", re.IGNORECASE)
_BRACKETED = re.compile(r"\[([^\[\]]*)\]")
_URL_FORBIDDEN = frozenset("<>\"'\\`")
# The same refusal for an ASCII URL (the usual one) in one scan: controls, space and _URL_FORBIDDEN.
_ASCII_URL_REFUSED = re.compile(r"[\x00-\x20\x7f<>\"'\\`]")
_FULLWIDTH_OPEN, _FULLWIDTH_CLOSE = "\uff3b", "\uff3d"  # what neutralised [code] tags are shown with


@dataclass(frozen=True)
class Span:
    """A run of plain text with the formatting our emitters may apply to it."""

    text: str
    strong: bool = False
    code: bool = False
    href: str | None = None  # set only for a composer-made link to a vetted http(s) URL


@dataclass
class Block:
    """One block. ``lines`` holds raw inline text: the heading text, the paragraph's lines, one
    entry per list item, or the verbatim lines of a code block."""

    kind: BlockKind
    lines: list[str] = field(default_factory=list)
    level: int = 0


def _refused_characters(url: str) -> bool:
    """Whitespace, control, format (zero-width, bidi) or quote characters in ``url``."""
    if url.isascii():  # the usual URL: one regex scan, the same refusals
        return _ASCII_URL_REFUSED.search(url) is not None
    return any(ch in _URL_FORBIDDEN or unicodedata.category(ch)[0] in "CZ" for ch in url)


def safe_url(url: str) -> str | None:
    """Return ``url`` (scheme lower-cased) if it is a plain absolute http(s) URL, else None."""
    if len(url) > MAX_URL_CHARS or not url.lower().startswith(("http://", "https://")):
        return None
    if _refused_characters(url):
        return None
    if _SCRIPT_SCHEME.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None:
        return None  # no host, or "https://trusted.example@evil.example/" look-alikes
    return parts.scheme + url[len(parts.scheme) :]


def untrusted(text: str) -> str:
    """``text`` we do not control (tickets, articles, assets, model output), fit to go into the
    note markdown: it can never make a link, since only :func:`link` writes the link markers."""
    return _LINK_MARKS.sub("", text)


def link(label: str, url: str) -> str:
    """A live link to ``url``, which must come from our own data (a stored ticket or article URL).

    The label is plain text (one line, no markup). A URL that :func:`safe_url` refuses gives
    just the label, as text.
    """
    href = safe_url(url)
    label = " ".join(untrusted(label).split()) or href or "link"
    if len(label) > MAX_LABEL_CHARS:
        label = label[: MAX_LABEL_CHARS - 1].rstrip() + "…"
    return label if href is None else f"{LINK_OPEN}{label}{LINK_SEP}{href}{LINK_CLOSE}"


def parse_inline(text: str) -> list[Span]:
    """Split one line into spans: the composer's links, and ``code``/``**bold**`` in the text
    between them. Anything else, brackets and URLs included, stays literal text."""
    spans: list[Span] = []
    pos = 0
    for m in _LINK.finditer(text):
        spans.extend(_parse_text(text[pos : m.start()]))
        spans.append(Span(m[1], href=safe_url(m[2])))
        pos = m.end()
    spans.extend(_parse_text(text[pos:]))
    return [span for span in spans if span.text]


def _parse_text(text: str, *, strong: bool = False) -> list[Span]:
    text = untrusted(text)  # link markers that form no link (cut or forged) are dropped
    spans: list[Span] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            spans.append(Span(text[pos : m.start()], strong=strong))
        if m["code"] is not None:
            spans.append(Span(m["code"], strong=strong, code=True))
        else:
            spans.extend(_parse_text(m["strong"], strong=True))
        pos = m.end()
    if pos < len(text):
        spans.append(Span(text[pos:], strong=strong))
    return spans


def parse_blocks(markdown: str) -> list[Block]:
    """Parse the markdown subset into blocks (a single pass over the lines)."""
    blocks: list[Block] = []
    open_block: Block | None = None  # a paragraph or list that the next line may extend
    lines = iter(markdown.split("\n"))
    for raw in lines:
        line = raw.rstrip()
        if not line.strip():
            open_block = None
        elif _FENCE_OPEN.match(line):
            code = Block("code")
            for code_line in lines:
                if _FENCE_CLOSE.match(code_line):
                    break
                code.lines.append(untrusted(code_line))
            blocks.append(code)
            open_block = None
        elif heading := _HEADING.match(line):
            blocks.append(Block("heading", [heading[2].strip()], len(heading[1])))
            open_block = None
        elif item := _BULLET.match(line) or _ORDERED.match(line):
            kind: BlockKind = "bullet" if item.re is _BULLET else "ordered"
            if open_block is None or open_block.kind != kind:
                open_block = Block(kind)
                blocks.append(open_block)
            open_block.lines.append(item[1].strip())
        elif open_block is not None and open_block.kind != "paragraph" and line[0].isspace():
            open_block.lines[-1] += " " + line.strip()  # indented continuation of a list item
        elif open_block is not None and open_block.kind == "paragraph":
            open_block.lines.append(line.strip())
        else:
            open_block = Block("paragraph", [line.strip()])
            blocks.append(open_block)
    return blocks


# --- HTML -------------------------------------------------------------------------------------


def _escape_html(text: str) -> str:
    # Writing the colon of "javascript:" as a character reference renders identically but keeps
    # the scheme out of the raw markup, for any downstream filter that greps for it.
    return _SCRIPT_SCHEME.sub(lambda m: m[0][:-1] + "&#58;", html.escape(text, quote=True))


def _html_inline(text: str) -> str:
    out: list[str] = []
    for span in parse_inline(text):
        piece = _escape_html(span.text)
        if span.code:
            piece = f"<code>{piece}</code>"
        if span.strong:
            piece = f"<strong>{piece}</strong>"
        if span.href is not None:
            piece = f'<a href="{html.escape(span.href, quote=True)}" rel="{LINK_REL}">{piece}</a>'
        out.append(piece)
    return "".join(out)


def _to_html(blocks: list[Block], footer: str) -> str:
    parts: list[str] = []
    for block in blocks:
        if block.kind == "code":
            parts.append(f"<pre><code>{_escape_html(chr(10).join(block.lines))}</code></pre>")
        elif block.kind == "heading":
            parts.append(f"<h{block.level}>{_html_inline(block.lines[0])}</h{block.level}>")
        elif block.kind == "paragraph":
            parts.append("<p>" + "<br>".join(_html_inline(line) for line in block.lines) + "</p>")
        else:
            tag = "ul" if block.kind == "bullet" else "ol"
            items = "".join(f"<li>{_html_inline(item)}</li>" for item in block.lines)
            parts.append(f"<{tag}>{items}</{tag}>")
    parts.append(f"<hr><p>{_escape_html(footer)}</p>")
    return "\n".join(parts)


# --- ADF (Atlassian Document Format v1) ---------------------------------------------------------


def _adf_text(text: str, marks: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    if not text:
        return []  # ADF forbids empty text nodes
    node: dict[str, Any] = {"type": "text", "text": text}
    if marks:
        node["marks"] = marks
    return [node]


def _adf_inline(lines: list[str]) -> list[dict[str, Any]]:
    """Inline nodes for the given lines, joined by hard breaks."""
    content: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        if index:
            content.append({"type": "hardBreak"})
        for span in parse_inline(line):
            marks: list[dict[str, Any]] = []
            if span.code:
                marks.append({"type": "code"})  # ADF does not allow code together with strong
            elif span.strong:
                marks.append({"type": "strong"})
            if span.href is not None:
                marks.append({"type": "link", "attrs": {"href": span.href}})
            content.extend(_adf_text(span.text, marks))
    return content


def _to_adf(blocks: list[Block], footer: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for block in blocks:
        if block.kind == "code":
            content.append({"type": "codeBlock", "content": _adf_text("\n".join(block.lines))})
        elif block.kind == "heading":
            content.append(
                {"type": "heading", "attrs": {"level": block.level}, "content": _adf_inline(block.lines)}
            )
        elif block.kind == "paragraph":
            content.append({"type": "paragraph", "content": _adf_inline(block.lines)})
        else:
            kind = "bulletList" if block.kind == "bullet" else "orderedList"
            items = [
                {"type": "listItem", "content": [{"type": "paragraph", "content": _adf_inline([item])}]}
                for item in block.lines
            ]
            content.append({"type": kind, "content": items})
    content.append({"type": "rule"})
    content.append({"type": "paragraph", "content": _adf_text(footer)})
    return {"type": "doc", "version": 1, "content": content}


# --- Plain text (ServiceNow work notes) ----------------------------------------------------------


def _text_inline(text: str) -> str:
    out: list[str] = []
    for span in parse_inline(text):
        piece = f"`{span.text}`" if span.code else span.text
        if span.href is not None and span.href != span.text:
            piece = f"{piece} ({span.href})"
        out.append(piece)
    return "".join(out)


def neutralise_code_tags(text: str) -> str:
    """Swap the brackets of any ``[code]``/``[/code]`` tag (any case, spacing, zero-width or
    fullwidth letters) for fullwidth ones, so ServiceNow shows it as text instead of raw HTML."""

    def fix(m: re.Match[str]) -> str:
        inner = unicodedata.normalize("NFKC", m[1])
        inner = "".join(ch for ch in inner if not ch.isspace() and unicodedata.category(ch) != "Cf")
        return f"{_FULLWIDTH_OPEN}{m[1]}{_FULLWIDTH_CLOSE}" if inner.casefold() in ("code", "/code") else m[0]

    return _BRACKETED.sub(fix, text)


def _to_text(blocks: list[Block], footer: str) -> str:
    parts: list[str] = []
    for block in blocks:
        if block.kind == "code":
            parts.append("\n".join(f"    {line}".rstrip() for line in block.lines))
        elif block.kind in ("heading", "paragraph"):
            parts.append("\n".join(_text_inline(line) for line in block.lines))
        else:
            items = [_text_inline(item) for item in block.lines]
            if block.kind == "bullet":
                parts.append("\n".join(f"- {item}" for item in items))
            else:
                parts.append("\n".join(f"{n}. {item}" for n, item in enumerate(items, start=1)))
    parts.append(f"--\n{footer}")
    return neutralise_code_tags("\n\n".join(parts))


# --- Entry point --------------------------------------------------------------------------------


@overload
def render_note(markdown: str, fmt: Literal["html", "text"], *, footer: str) -> str: ...
@overload
def render_note(markdown: str, fmt: Literal["adf"], *, footer: str) -> dict[str, Any]: ...
@overload
def render_note(markdown: str, fmt: NoteFormat, *, footer: str) -> str | dict[str, Any]: ...
def render_note(markdown: str, fmt: NoteFormat, *, footer: str) -> str | dict[str, Any]:
    """Render composer ``markdown`` (hostile text inside) as a note in ``fmt``, ending with ``footer``.

    Only :func:`link` markers become links; see the module docstring for the policy.

    ``footer`` is ours (it carries the job id that is later searched for) and appears verbatim as
    the last element: HTML ``<hr><p>footer</p>``, ADF rule + paragraph, text ``--`` + footer line.
    """
    truncated = len(markdown) > MAX_INPUT_CHARS
    text = markdown[:MAX_INPUT_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    blocks = parse_blocks(_CONTROL_CHARS.sub("", text))
    if truncated:
        blocks.append(Block("paragraph", [TRUNCATION_MARKER]))
    if fmt == "html":
        return _to_html(blocks, footer)
    if fmt == "adf":
        return _to_adf(blocks, footer)
    if fmt == "text":
        return _to_text(blocks, footer)
    raise ValueError(f"unknown note format: {fmt!r}")
