"""The ticket's language, detected offline: ``detect_language(text)`` and the ``language`` step.

The detector is langdetect (a port of Google's language-detection, pure Python, its character
n-gram profiles shipped in the package: nothing is downloaded at run time), from the
``langdetect-py`` distribution: the same code and profiles as ``langdetect`` 1.0.9 (whose PyPI
release is a source archive only, which the layer's binary-only build cannot take), published as a
wheel. Of its 55 profiles only :data:`LANGUAGES` are loaded, on first use (about 0.2 s once per
container instead of 0.4 s for all; a module import costs nothing). Its detector draws from the
``random`` module's global generator and reseeds it; it is given a private generator instead
(:class:`_PrivateRandom`), seeded, and detections run one at a time, so the same text always gives
the same answer and nothing else's randomness (retry jitter) is touched. Measured alternatives:
py3langid and langid need numpy (tens of MB in the layer), lingua's wheel is 96 MB; langdetect is
2.3 MB installed.

Text that says too little (fewer than :data:`MIN_LETTERS` letters, a CJK character counting three,
once addresses, URLs, codes and numbers are removed) or whose best language is below
:data:`MIN_PROBABILITY` has no language.
"""

from __future__ import annotations

import random
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


class _PrivateRandom(random.Random):
    """Stands in for the ``random`` module inside langdetect's detector: ``seed``, ``gauss`` and
    ``choice`` act on this generator only; ``Random`` is there for releases that make their own."""

    Random = random.Random


def _detector_factory() -> Any:
    """langdetect's factory with :data:`LANGUAGES` loaded, built once per process."""
    with _lock:
        if "factory" not in _loaded:
            from pathlib import Path

            from langdetect import detector, detector_factory

            detector.random = _PrivateRandom(0)
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

    factory = _detector_factory()
    with _lock:  # one detection at a time: the generator is shared, and this is CPU-bound anyway
        detector = factory.create()
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
