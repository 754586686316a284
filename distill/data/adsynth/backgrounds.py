"""Backgrounds: solid, linear / radial gradient, pattern (stripes, dots, checker, grid) and texture.

Every non-solid background is ``composite(colour_b, colour_a, mask)`` with an 8-bit mask from a
small per-process cache (masks depend only on kind, variant and canvas size, never on the ad), so
an ad pays one C-level composite (~0.2 ms) instead of per-pixel numpy work. Variety comes from
the two colours, the variant and a random flip/transpose of the mask.
"""

from __future__ import annotations

import math
import random
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

RGB = tuple[int, int, int]

KINDS = ("solid", "linear", "radial", "stripes", "dots", "checker", "grid", "texture", "bokeh")
# Variants per kind (index ranges for _mask).
_VARIANTS = {"linear": 8, "radial": 6, "stripes": 12, "dots": 6, "checker": 3, "grid": 4, "texture": 6, "bokeh": 4}
# Patterns stay subtle (second colour close to the first) most of the time: ads put text on them.
PATTERN_KINDS = ("stripes", "dots", "checker", "grid")


@lru_cache(maxsize=256)
def _mask(kind: str, variant: int, size: int) -> Image.Image:
    s = size
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / (s - 1)
    if kind == "linear":
        a = variant * math.pi / 8
        t = xx * math.cos(a) + yy * math.sin(a)
        t = (t - t.min()) / (t.max() - t.min())
    elif kind == "radial":
        cx, cy = ((0.5, 0.5), (0.0, 0.0), (1.0, 0.0), (0.5, 0.3), (0.3, 0.7), (0.5, 1.0))[variant]
        t = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        t = np.clip(t / t.max() * 1.1, 0, 1)
    elif kind == "stripes":
        a = (0, 45, 90, 135)[variant % 4] * math.pi / 180
        period = (0.06, 0.1, 0.16)[variant // 4]
        u = (xx * math.cos(a) + yy * math.sin(a)) / period
        t = (np.mod(u, 1.0) < 0.5).astype(np.float32)
    elif kind == "dots":
        period = (0.05, 0.08, 0.12)[variant % 3]
        hexo = variant >= 3
        row = np.floor(yy / period)
        u = np.mod(xx / period + (0.5 * np.mod(row, 2) if hexo else 0), 1.0) - 0.5
        v = np.mod(yy / period, 1.0) - 0.5
        t = (np.sqrt(u * u + v * v) < 0.22).astype(np.float32)
    elif kind == "checker":
        period = (0.05, 0.1, 0.2)[variant]
        t = (np.mod(np.floor(xx / period) + np.floor(yy / period), 2)).astype(np.float32)
    elif kind == "grid":
        period = (0.06, 0.1, 0.14, 0.2)[variant]
        u, v = np.mod(xx / period, 1.0), np.mod(yy / period, 1.0)
        t = ((u < 0.08) | (v < 0.08)).astype(np.float32)
    elif kind == "texture":
        rng = np.random.default_rng(1000 + variant)  # fixed: masks are shared by all ads
        cells = (4, 6, 9, 12, 16, 24)[variant]
        low = Image.fromarray((rng.random((cells, cells)) * 255).astype(np.uint8)).resize((s, s), Image.BICUBIC)
        grain = rng.normal(0, 18, (s, s))
        t = np.clip((np.asarray(low, np.float32) + grain) / 255, 0, 1)
    elif kind == "bokeh":
        rng = np.random.default_rng(2000 + variant)
        im = Image.new("L", (s, s), 0)
        d = ImageDraw.Draw(im)
        for _ in range(18):
            r = rng.uniform(0.03, 0.12) * s
            x, y = rng.uniform(0, s), rng.uniform(0, s)
            d.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.uniform(90, 255)))
        return im.filter(ImageFilter.GaussianBlur(s * 0.01))
    else:
        raise ValueError(kind)
    return Image.fromarray((t * 255).astype(np.uint8), "L")


_TRANSPOSES = (None, Image.FLIP_LEFT_RIGHT, Image.FLIP_TOP_BOTTOM, Image.ROTATE_180)


def render(rng: random.Random, size: int, kind: str, a: RGB, b: RGB) -> Image.Image:
    """Background of ``kind`` blending colour ``a`` (mask 0) into ``b`` (mask 255)."""
    if kind == "solid":
        return Image.new("RGB", (size, size), a)
    m = _mask(kind, rng.randrange(_VARIANTS[kind]), size)
    tr = rng.choice(_TRANSPOSES)
    if tr is not None:
        m = m.transpose(tr)
    # composite() is ~2x faster than paste(colour, box, mask) on a full canvas
    return Image.composite(Image.new("RGB", (size, size), b), Image.new("RGB", (size, size), a), m)
