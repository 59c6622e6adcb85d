"""A tiny PNG writer for benchmark charts: latency histograms with zlib and struct, no dependency.

``histograms(path, panels)`` draws one histogram per panel (stacked), each with its p50 and p99
marked and labelled in a built-in 5x7 pixel font.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)
BLACK: Color = (30, 30, 30)
GREY: Color = (200, 200, 200)
BAR: Color = (70, 120, 190)
P50: Color = (30, 150, 60)
P99: Color = (200, 50, 40)

# 5x7 glyphs, rows top to bottom ("#" = ink). Text is drawn upper-cased; unknown characters as "?".
_GLYPHS: dict[str, str] = {
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    "A": ".###. #...# #...# ##### #...# #...# #...#",
    "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.",
    "D": "###.. #..#. #...# #...# #...# #..#. ###..",
    "E": "##### #.... #.... ####. #.... #.... #####",
    "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####",
    "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.",
    "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.",
    "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.",
    "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    " ": "..... ..... ..... ..... ..... ..... .....",
    ".": "..... ..... ..... ..... ..... .##.. .##..",
    ",": "..... ..... ..... ..... .##.. ..#.. .#...",
    "'": "..#.. ..#.. .#... ..... ..... ..... .....",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    "-": "..... ..... ..... ##### ..... ..... .....",
    "/": "..... ....# ...#. ..#.. .#... #.... .....",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    "%": "##... ##..# ...#. ..#.. .#... #..## ...##",
    "=": "..... ..... ##### ..... ##### ..... .....",
    ">": ".#... ..#.. ...#. ....# ...#. ..#.. .#...",
    "<": "...#. ..#.. .#... #.... .#... ..#.. ...#.",
    "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
    "_": "..... ..... ..... ..... ..... ..... #####",
    "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
}


class Canvas:
    def __init__(self, width: int, height: int, background: Color = WHITE) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def rect(self, x: int, y: int, w: int, h: int, color: Color) -> None:
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.width, x + w), min(self.height, y + h)
        if x1 <= x0 or y1 <= y0:
            return
        row = bytes(color) * (x1 - x0)
        for yy in range(y0, y1):
            start = (yy * self.width + x0) * 3
            self.pixels[start : start + len(row)] = row

    def text(self, x: int, y: int, text: str, color: Color = BLACK, scale: int = 2) -> int:
        """Draw ``text`` with its top-left corner at (x, y); the width drawn."""
        cursor = x
        for char in text.upper():
            rows = _GLYPHS.get(char, _GLYPHS["?"]).split()
            for dy, row in enumerate(rows):
                for dx, ink in enumerate(row):
                    if ink == "#":
                        self.rect(cursor + dx * scale, y + dy * scale, scale, scale, color)
            cursor += 6 * scale
        return cursor - x

    def png(self) -> bytes:
        raw = b"".join(
            b"\x00" + bytes(self.pixels[r * self.width * 3 : (r + 1) * self.width * 3])
            for r in range(self.height)
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


@dataclass
class Panel:
    title: str
    values_ms: Sequence[float]
    markers: dict[str, float] = field(default_factory=dict)  # label -> ms, e.g. {"p50": 12.0}


def _nice_ceiling(value: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``value``."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def _label(ms: float) -> str:
    return f"{ms / 1000:.1f} S" if ms >= 10_000 else f"{ms:.0f} MS" if ms >= 10 else f"{ms:.1f} MS"


MARKER_COLORS = (P50, P99, BLACK)


def draw_histogram(canvas: Canvas, panel: Panel, top: int, height: int, bins: int = 40) -> None:
    left, right = 70, canvas.width - 30
    plot_top, plot_bottom = top + 40, top + height - 40
    canvas.text(left, top + 10, panel.title)
    values = [v for v in panel.values_ms if v >= 0]
    if not values:
        canvas.text(left, plot_top + 20, "NO DATA")
        return
    ordered = sorted(values)
    span = _nice_ceiling(ordered[int(0.995 * (len(ordered) - 1))] * 1.1)  # a far outlier: its own label
    over = sum(1 for v in values if v > span)
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int(value / span * bins))] += 1
    peak = max(counts)
    width = (right - left) / bins
    for i, count in enumerate(counts):
        bar = round((plot_bottom - plot_top) * count / peak)
        x = left + round(i * width)
        canvas.rect(x + 1, plot_bottom - bar, max(1, round(width) - 2), bar, BAR)
    canvas.rect(left, plot_bottom, right - left, 2, BLACK)  # x axis
    canvas.rect(left - 2, plot_top, 2, plot_bottom - plot_top + 2, BLACK)  # y axis
    for step in range(5):
        ms = span * step / 4
        x = left + round((right - left) * step / 4)
        canvas.rect(x, plot_bottom, 2, 6, BLACK)
        label = _label(ms) if step else "0"
        canvas.text(min(x - 6, canvas.width - 12 * len(label) - 2), plot_bottom + 10, label)
    if over:  # right-aligned on the row below the markers' labels (the title may reach the right edge)
        note = f"+{over} OVER {_label(span)}"
        canvas.text(right - 12 * len(note), plot_top + 4 + 20 * len(panel.markers), note)
    canvas.text(6, plot_top, str(peak))
    canvas.text(6, plot_bottom - 14, "0")
    for n, (name, ms) in enumerate(panel.markers.items()):
        color = MARKER_COLORS[min(n, len(MARKER_COLORS) - 1)]
        x = left + round((right - left) * min(ms, span) / span)
        canvas.rect(x, plot_top, 2, plot_bottom - plot_top, color)
        label = f"{name} {_label(ms)}"
        lx = x + 6 if x + 6 + 12 * len(label) < right else x - 6 - 12 * len(label)
        canvas.text(lx, plot_top + 4 + 20 * n, label, color)


def histograms(path: Path, panels: Sequence[Panel], width: int = 960, panel_height: int = 280) -> None:
    """Write one histogram per panel, stacked, to ``path`` (PNG)."""
    canvas = Canvas(width, panel_height * len(panels))
    for n, panel in enumerate(panels):
        if n:
            canvas.rect(0, n * panel_height, width, 1, GREY)
        draw_histogram(canvas, panel, n * panel_height, panel_height)
    path.write_bytes(canvas.png())
