"""HTML (article bodies, resolutions, comments) reduced to plain text, safely, with the stdlib parser.

Vendor HTML is untrusted: nothing of it survives as markup. Tags are dropped, the text of
``script``/``style``/``template``/``noscript``/``iframe``/``object`` and comments are dropped, entities
are decoded once (so ``&amp;lt;script&amp;gt;`` becomes the text ``&lt;script&gt;``, never a tag), block
elements become line breaks, runs of blanks collapse, and the result is at most ``limit``
characters. Control characters other than newlines are removed.

Bounded work: at most ``MAX_INPUT`` characters of a body are read, and a linear pre-pass
(:func:`_neutralise`) hands the stdlib parser only input it parses in linear time and without
raising: comments and ``<!...>`` declarations (CDATA, marked sections, doctypes) are dropped there
(an unclosed comment hides the rest, as in a browser), and a ``<`` that no ``>`` closes before the
next ``<`` is text (``&lt;``). Without it, ``"<!" * n`` or ``"<!--x>" * n`` cost the parser
quadratic time and ``<![x>`` raised ``AssertionError`` (CPython's parser on 3.11-3.13, CVE-2025-6069
class). The parser stops reading once ``limit`` characters of text are gathered.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["DEFAULT_LIMIT", "MAX_INPUT", "html_to_text"]

DEFAULT_LIMIT = 20_000
MAX_INPUT = 1_000_000  # characters of HTML read per body (a few seconds of parsing at worst)
# Elements whose content is never text a reader sees.
_SKIPPED = frozenset({"script", "style", "template", "noscript", "iframe", "object", "svg", "math", "head"})
# Elements that end a line.
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
        "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
_BLANKS = re.compile(r"[ \t\r\f\v\xa0]+")
_UNTIL_ANGLE = re.compile(r"[^<>]*")  # the rest of a construct: up to the next "<" or ">"


def _neutralise(html: str) -> str:
    """``html`` with comments and declarations removed and every ``<`` that opens no tag as text.

    Linear: each character is scanned a bounded number of times (the scans stop at the next ``<``
    or ``>``, or at a comment's end)."""
    out: list[str] = []
    pos, size = 0, len(html)
    while pos < size:
        lt = html.find("<", pos)
        if lt < 0:
            out.append(html[pos:])
            break
        out.append(html[pos:lt])
        if html.startswith("<!--", lt):
            end = html.find("-->", lt + 4)
            if end < 0:
                break  # an unclosed comment hides the rest
            pos = end + 3
            continue
        match = _UNTIL_ANGLE.match(html, lt + 1)
        end = match.end() if match else lt + 1
        closed = end < size and html[end] == ">"
        opener = html[lt + 1 : lt + 2]
        if closed and opener == "!":  # a declaration, CDATA or marked section: no text
            pos = end + 1
        elif closed and ((opener.isascii() and opener.isalpha()) or opener in ("/", "?")):
            out.append(html[lt : end + 1])  # a tag, an end tag or a processing instruction
            pos = end + 1
        else:
            out.append("&lt;")  # no tag: the "<" is text
            pos = lt + 1
    return "".join(out)


class _Reducer(HTMLParser):
    def __init__(self, limit: int) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping.append(tag)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            if tag in self.skipping:  # close up to the matching open element
                while self.skipping and self.skipping.pop() != tag:
                    pass
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skipping or self.size > self.limit:
            return
        self.parts.append(data)
        self.size += len(data)

    @property
    def full(self) -> bool:
        return self.size > self.limit


def html_to_text(value: object, limit: int = DEFAULT_LIMIT) -> str:
    """Plain text of an HTML fragment (or a non-string: ""); at most ``limit`` characters."""
    if not isinstance(value, str) or not value or limit <= 0:
        return ""
    reducer = _Reducer(limit)
    if len(value) > MAX_INPUT:
        value = value[:MAX_INPUT]
        if (cut := value.rfind("<")) > value.rfind(">"):
            value = value[:cut]  # not half a tag
    value = _neutralise(value)
    chunk = 65_536
    for start in range(0, len(value), chunk):  # fed in chunks: stop early once enough text is read
        reducer.feed(value[start : start + chunk])
        if reducer.full:
            break
    else:
        reducer.close()
    text = _CONTROL.sub("", "".join(reducer.parts))
    lines = (_BLANKS.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)[:limit]
