"""HTML (article bodies, resolutions, comments) reduced to plain text, safely, with the stdlib parser.

Vendor HTML is untrusted: nothing of it survives as markup. Tags are dropped, the text of
``script``/``style``/``template``/``noscript``/``iframe``/``object`` and comments are dropped, entities
are decoded once (so ``&amp;lt;script&amp;gt;`` becomes the text ``&lt;script&gt;``, never a tag), block
elements become line breaks, runs of blanks collapse, and the result is at most ``limit``
characters (the parser stops reading input once that much text is gathered, so a huge body costs
bounded work beyond the input size). Control characters other than newlines are removed.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["DEFAULT_LIMIT", "html_to_text"]

DEFAULT_LIMIT = 20_000
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
