"""Fast text layout and rasterisation with a per-process glyph cache.

PIL's ``ImageDraw.text`` re-rasterises every glyph on every call (~0.4 ms a line here), which alone
would eat the 5 ms per ad budget. Ad copy is drawn from phrase banks, so the same glyphs at the
same sizes recur constantly: each (font file, size, character) is rasterised once per process and
words are composed from cached glyph masks with numpy (no kerning; invisible at these sizes and
harmless for OCR) and cached in turn, so a typical line is a handful of array copies. Sizes are
snapped to a fixed ladder so the caches stay small; the word cache is bounded (WORD_CACHE_MAX).

Widths used for wrapping are the same advances used for drawing, so a block that "fits" is
exactly as wide as measured: text never overflows its box.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from adfusion_edge.distill.data.adsynth.fonts import get_font

# Pixel sizes text may take (about 8% apart); other sizes snap down to one of these.
SIZE_LADDER: tuple[int, ...] = (
    10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 22, 24, 26, 28, 30, 33, 36, 39, 42, 46, 50, 54, 58, 63, 68,
    74, 80, 87, 94, 102, 110, 120, 130, 140, 152, 165, 180, 195, 212, 230, 250,
)
LINE_GAP = 1.12  # line pitch as a multiple of the font's ascent + descent
WORD_CACHE_MAX = 150_000  # word masks kept per process (~1 KB each); the older half goes when full

_words: dict[tuple[tuple[str, int], str], tuple[np.ndarray | None, int, int, float]] = {}


def snap_size(px: float) -> int:
    i = bisect.bisect_right(SIZE_LADDER, px) - 1
    return SIZE_LADDER[max(0, i)]


class GlyphFont:
    """One font file at one pixel size, with cached advances and glyph masks."""

    def __init__(self, path: str, size: int):
        self.path, self.size = path, size
        self.font = get_font(path, size)
        self.ascent, self.descent = self.font.getmetrics()
        self.height = self.ascent + self.descent
        self.pitch = int(math.ceil(self.height * LINE_GAP))
        self._adv: dict[str, float] = {}
        self._glyph: dict[str, tuple[np.ndarray | None, int, int]] = {}
        self._key = (path, size)  # not id(): a GlyphFont evicted from glyph_font's cache may be rebuilt
        self._wwidth: dict[str, float] = {}

    def advance(self, ch: str) -> float:
        a = self._adv.get(ch)
        if a is None:
            a = self._adv[ch] = float(self.font.getlength(ch))
        return a

    def width(self, text: str) -> float:
        adv = self._adv
        total = 0.0
        for ch in text:
            a = adv.get(ch)
            total += a if a is not None else self.advance(ch)
        return total

    def glyph(self, ch: str) -> tuple[np.ndarray | None, int, int]:
        """(mask, dx, dy): mask's top-left relative to the pen position on the baseline."""
        g = self._glyph.get(ch)
        if g is None:
            x0, y0, x1, y1 = self.font.getbbox(ch, anchor="ls")
            if x1 <= x0 or y1 <= y0:
                g = (None, 0, 0)
            else:
                im = Image.new("L", (x1 - x0, y1 - y0), 0)
                ImageDraw.Draw(im).text((-x0, -y0), ch, font=self.font, fill=255, anchor="ls")
                g = (np.asarray(im), x0, y0)
            self._glyph[ch] = g
        return g


    def word(self, word: str) -> tuple[np.ndarray | None, int, int, float]:
        """(mask, dx, dy, advance) of a space-free word, like ``glyph`` (cached, bounded)."""
        key = (self._key, word)
        got = _words.get(key)
        if got is not None:
            return got
        placed = []
        pen = 0.0
        for ch in word:
            g, dx, dy = self.glyph(ch)
            if g is not None:
                placed.append((g, int(round(pen)) + dx, dy))
            pen += self.advance(ch)
        if not placed:
            got = (None, 0, 0, pen)
        else:
            x0 = min(x for _, x, _ in placed)
            y0 = min(y for _, _, y in placed)
            x1 = max(x + g.shape[1] for g, x, _ in placed)
            y1 = max(y + g.shape[0] for g, _, y in placed)
            m = np.zeros((y1 - y0, x1 - x0), np.uint8)
            for g, x, y in placed:
                sub = m[y - y0 : y - y0 + g.shape[0], x - x0 : x - x0 + g.shape[1]]
                np.maximum(sub, g, out=sub)
            got = (m, x0, y0, pen)
        if len(_words) >= WORD_CACHE_MAX:  # drop the older half (dicts keep insertion order)
            for k in list(itertools.islice(_words, WORD_CACHE_MAX // 2)):
                del _words[k]
        _words[key] = got
        return got


@lru_cache(maxsize=2048)
def glyph_font(path: str, size: int) -> GlyphFont:
    return GlyphFont(path, size)


def wrap(text: str, gf: GlyphFont, max_w: float) -> list[str] | None:
    """Greedy word wrap at width ``max_w``; None if a single word is wider than that."""
    space = gf.advance(" ")
    widths = gf._wwidth
    lines: list[str] = []
    cur: list[str] = []
    cur_w = 0.0
    for word in text.split():
        w = widths.get(word)
        if w is None:
            if len(widths) > 20_000:  # bound memory on very long runs
                widths.clear()
            w = widths[word] = gf.width(word)
        if w > max_w:
            return None
        if cur and cur_w + space + w > max_w:
            lines.append(" ".join(cur))
            cur, cur_w = [word], w
        else:
            cur_w = w if not cur else cur_w + space + w
            cur.append(word)
    if cur:
        lines.append(" ".join(cur))
    return lines


@dataclass
class Fitted:
    gf: GlyphFont
    lines: list[str]
    widths: list[float]
    width: float  # widest line
    height: int  # block height in px


def fit(text: str, path: str, box_w: float, box_h: float, min_px: int, max_px: int, max_lines: int) -> Fitted | None:
    """Largest ladder size in [min_px, max_px] at which ``text`` wraps into the box; else None."""
    lo = bisect.bisect_left(SIZE_LADDER, min_px)
    hi = bisect.bisect_right(SIZE_LADDER, max_px) - 1
    best: Fitted | None = None
    # Binary search over the ladder: fitting is monotone in size (up to rounding; good enough).
    while lo <= hi:
        mid = (lo + hi) // 2
        gf = glyph_font(path, SIZE_LADDER[mid])
        lines = wrap(text, gf, box_w)
        ok = lines is not None and len(lines) <= max_lines
        if ok:
            h = gf.pitch * (len(lines) - 1) + gf.height
            ok = h <= box_h
        if ok:
            widths = [gf.width(ln) for ln in lines]
            best = Fitted(gf, lines, widths, max(widths), h)
            lo = mid + 1
        else:
            hi = mid - 1
    return best


def fit_at(text: str, path: str, size: int, box_w: float, box_h: float, max_lines: int) -> Fitted | None:
    """``text`` wrapped at one given size, or None if it does not fit."""
    gf = glyph_font(path, size)
    lines = wrap(text, gf, box_w)
    if lines is None or len(lines) > max_lines:
        return None
    h = gf.pitch * (len(lines) - 1) + gf.height
    if h > box_h:
        return None
    widths = [gf.width(ln) for ln in lines]
    return Fitted(gf, lines, widths, max(widths), h)


def render_mask(f: Fitted, align: str) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Coverage mask (H, W) of a fitted block and each line's box within it.

    Line boxes span the line's advance width and the font's ascent..descent. Glyph ink that pokes
    outside the mask (italic overhang) is clipped, so ink never leaves the block's box.
    """
    gf = f.gf
    w = int(math.ceil(f.width))
    mask = np.zeros((f.height, w), np.uint8)
    boxes = []
    for i, (line, lw) in enumerate(zip(f.lines, f.widths, strict=True)):
        x = 0.0 if align == "left" else (w - lw) / 2 if align == "center" else w - lw
        top = i * gf.pitch
        base = top + gf.ascent
        boxes.append((int(x), top, int(math.ceil(x + lw)), top + gf.height))
        space = gf.advance(" ")
        for word in line.split(" "):
            g, dx, dy, adv = gf.word(word)
            if g is not None:
                gx, gy = int(round(x)) + dx, base + dy
                gh, gw = g.shape
                x0, y0 = max(gx, 0), max(gy, 0)
                x1, y1 = min(gx + gw, w), min(gy + gh, f.height)
                if x1 > x0 and y1 > y0:
                    sub = mask[y0:y1, x0:x1]
                    np.maximum(sub, g[y0 - gy : y1 - gy, x0 - gx : x1 - gx], out=sub)
            x += adv + space
    return mask, boxes


def draw_block(canvas: Image.Image, f: Fitted, xy: tuple[int, int], fill: tuple[int, int, int],
               align: str = "left") -> list[tuple[int, int, int, int]]:
    """Paint a fitted block with its top-left at ``xy``; returns line boxes in canvas pixels."""
    mask, boxes = render_mask(f, align)
    x, y = xy
    size = (mask.shape[1], mask.shape[0])
    # Pasting a solid image through the mask is ~2x faster in PIL than pasting a colour.
    canvas.paste(Image.new("RGB", size, fill), (x, y, x + size[0], y + size[1]), Image.fromarray(mask))
    return [(x + a, y + b, x + c, y + d) for a, b, c, d in boxes]
