"""The index's tokenizer: words, and IPs, host names and error codes kept as whole tokens.

``10.1.2.3``, ``vpn.acme.com``, ``0x80070005``, ``ERR_CONNECTION_RESET`` and ``fe80::1`` each stay
one token (lowercased), so a ticket that names an address or a code finds the tickets and articles
that name the same one. A compound also yields its ``:``-separated pieces (``vpn.acme.com:443``
gives ``vpn.acme.com``) and its words (``vpn``, ``acme``, ``connection``), so a search for the word
alone still matches. Every punctuation, symbol, separator or control character other than the
joiners ``. _ : -`` ends a token, and joiners at a token's ends are dropped (a sentence's full stop
is not part of its last word).

It is built on ``str.translate`` and ``str.split`` rather than a regular expression: indexing
100,000 tickets spends most of its time here, and this is about five times faster. The input is
capped so hostile text costs little.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from ticket_enhancer.enhance.bm25 import STOPWORDS

__all__ = ["JOINERS", "MAX_TEXT_CHARS", "tokenize"]

MAX_TEXT_CHARS = 20_000
JOINERS = "._:-"
_PARTS = re.compile(r"[._:\-]+")
# punctuation, symbols, separators, controls and format characters (not unassigned/private ones)
_SEPARATING = frozenset(
    ["Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf"]
)


@functools.cache
def _separators() -> dict[int, str]:
    """Every non-joiner punctuation, symbol, separator or control character -> a space.

    The Basic Multilingual Plane's (where all common punctuation lives), built once per container
    on first use (about 20 ms: not on the cold start).
    """
    return {
        code: " "
        for code in range(0x10000)
        if unicodedata.category(chr(code)) in _SEPARATING and chr(code) not in JOINERS
    }


def tokenize(text: str) -> list[str]:
    """Lowercase tokens of ``text`` (a bag: words and compounds, then the compounds' pieces);
    no stopwords, no one-character words."""
    words = (w.strip(JOINERS) for w in text[:MAX_TEXT_CHARS].lower().translate(_separators()).split())
    tokens = [w for w in words if len(w) > 1 and w not in STOPWORDS]
    for compound in [w for w in tokens if not w.isalnum()]:
        if ":" in compound:
            tokens.extend(
                p for p in (q.strip(JOINERS) for q in compound.split(":")) if len(p) > 1 and p != compound
            )
        tokens.extend(p for p in _PARTS.split(compound) if len(p) > 1 and p not in STOPWORDS)
    return tokens
