"""The ticket's language, detected offline: ``detect_language(text)`` and the ``language`` step.

The detector is langdetect (a port of Google's language-detection, pure Python, its character
n-gram profiles shipped in the package: nothing is downloaded at run time). Of its 55 profiles only
:data:`LANGUAGES` are loaded, on first use (about 0.2 s once per container instead of 0.4 s for
all; a module import costs nothing), and detection is seeded, so the same text always gives the
same answer. Measured alternatives: py3langid and langid need numpy (tens of MB in the layer),
lingua's wheel is 96 MB; langdetect is 2.5 MB installed.

Text that says too little (fewer than :data:`MIN_LETTERS` letters, a CJK character counting three,
once addresses, URLs, codes and numbers are removed) or whose best language is below
:data:`MIN_PROBABILITY` has no language.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

from ticket_enhancer.enhance.records import DetectedLanguage

if TYPE_CHECKING:
    from ticket_enhancer.enhance.context import EnhancementContext

__all__ = ["LANGUAGES", "MIN_LETTERS", "MIN_PROBABILITY", "LanguageStep", "detect_language"]

# langdetect profile name -> English name: the languages ticketing tools' users write most.
LANGUAGES: dict[str, str] = {
    "ar": "Arabic",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "fi": "Finnish",
    "fr": "French",
    "he": "Hebrew",
    "hu": "Hungarian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sv": "Swedish",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "zh-cn": "Chinese (simplified)",
    "zh-tw": "Chinese (traditional)",
}
MIN_LETTERS = 20
MIN_PROBABILITY = 0.7
MAX_CHARS = 2_000  # of cleaned text: enough for a stable answer, bounded cost

# What is not prose: URLs, e-mail addresses, tokens with digits (codes, keys, addresses, versions).
_NOT_PROSE = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*://[!-~]+|[\w.+-]+@[\w.-]+|[A-Za-z0-9._:/\\-]*\d[A-Za-z0-9._:/\\-]*|[_\W]{2,}"
)
_LETTER = re.compile(r"[^\W\d_]")

_lock = threading.Lock()
_loaded: dict[str, Any] = {}


def _detector_factory() -> Any:
    """langdetect's factory with :data:`LANGUAGES` loaded, built once per process."""
    with _lock:
        if "factory" not in _loaded:
            from pathlib import Path

            from langdetect import detector_factory

            factory = detector_factory.DetectorFactory()
            factory.seed = 0  # deterministic sampling
            directory = Path(detector_factory.PROFILES_DIRECTORY)
            profiles = [(directory / code).read_text(encoding="utf-8") for code in sorted(LANGUAGES)]
            factory.load_json_profile(profiles)
            _loaded["factory"] = factory
        return _loaded["factory"]


def _prose(text: str) -> str:
    return " ".join(_NOT_PROSE.sub(" ", text[: MAX_CHARS * 4]).split())[:MAX_CHARS]


def detect_language(text: str) -> DetectedLanguage | None:
    """The language of ``text`` (one of :data:`LANGUAGES`), or None when it cannot be told."""
    prose = _prose(text)
    # A CJK character says about as much as a word: it counts for three letters.
    if sum(3 if ord(c) >= 0x2E80 else 1 for c in _LETTER.findall(prose)) < MIN_LETTERS:
        return None
    from langdetect.lang_detect_exception import LangDetectException

    detector = _detector_factory().create()
    detector.append(prose)
    try:
        ranked = detector.get_probabilities()
    except LangDetectException:
        return None
    if not ranked or ranked[0].prob < MIN_PROBABILITY or ranked[0].lang not in LANGUAGES:
        return None
    best = ranked[0]
    return DetectedLanguage(code=best.lang, name=LANGUAGES[best.lang], probability=round(best.prob, 3))


class LanguageStep:
    """Detects the language of the subject and description (CPU only: runs in a thread)."""

    name = "language"
    requires: tuple[str, ...] = ()

    async def run(self, ctx: EnhancementContext) -> None:
        import asyncio

        text = f"{ctx.ticket.subject}\n{ctx.ticket.description}"
        ctx.results[self.name] = await asyncio.to_thread(detect_language, text)
