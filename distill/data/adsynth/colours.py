"""Colour naming, shade sampling and contrast: the ``dominant_colour`` label is computed here.

Naming rule (documented, tested): a pixel gets the schema colour whose nearest prototype is
closest in CIELAB (CIE76 distance; several prototypes per name, e.g. light and dark blues). The
rule is precomputed as a 32x32x32 lookup table over 5-bit RGB, so naming an image is one numpy
gather. ``dominant_colour(img)`` names every pixel of the creative box-downsampled to ~80 px and
returns the most frequent name. AdSynth computes it on the final rendered canvas, so the label is
true of the pixels by construction. Background and panel shades are sampled with a margin of
two LUT cells from any other name (``sample_shade``), so JPEG noise does not rename flat areas:
the stored JPEG gives the same answer except on rare near-ties (tested).

Luminance and contrast follow WCAG 2.x (relative luminance of linearised sRGB; contrast ratio
(L1 + 0.05) / (L2 + 0.05)). Text colour choices use them (see render.py).
"""

from __future__ import annotations

import colorsys
import io
import random
from functools import lru_cache

import numpy as np
from PIL import Image

from adfusion_edge.colour_names import COLOUR_NAMES, PROTOTYPES, RGB_T, colour_shares, naming_lut  # noqa: F401 - re-exported

# The naming rule (prototypes, CIELAB, lookup table) is shared with the model graph: adfusion_edge/colour_names.py.
_PROTOTYPES = PROTOTYPES

# HSV ranges (h in degrees, s, v in [0, 1]) to sample shades of a name; a sample is kept only if
# the naming rule agrees, so a background drawn "in blue" is named blue.
_SHADE_RANGES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "red": ((-8, 6), (0.7, 1.0), (0.6, 0.95)),
    "orange": ((18, 34), (0.75, 1.0), (0.85, 1.0)),
    "yellow": ((46, 58), (0.55, 1.0), (0.88, 1.0)),
    "green": ((85, 160), (0.45, 0.9), (0.35, 0.85)),
    "blue": ((195, 235), (0.45, 1.0), (0.35, 0.95)),
    "purple": ((262, 292), (0.4, 0.8), (0.35, 0.8)),
    "pink": ((318, 345), (0.3, 0.65), (0.85, 1.0)),
    "brown": ((18, 34), (0.5, 0.8), (0.3, 0.55)),
    "black": ((0, 360), (0.0, 0.3), (0.02, 0.14)),
    "white": ((0, 360), (0.0, 0.04), (0.96, 1.0)),
    "gray": ((0, 360), (0.0, 0.06), (0.38, 0.78)),
}


SHADE_MARGIN = 2  # in LUT cells (8 RGB levels each)
_AXES = ((1, 0, 0), (0, 1, 0), (0, 0, 1), (1, -1, 0), (0, 1, -1), (1, 0, -1), (1, 1, 1))


@lru_cache(maxsize=1)
def _interior() -> np.ndarray:
    """bool (32, 32, 32): cells whose neighbours up to SHADE_MARGIN cells away share their name."""
    lut = naming_lut()
    idx = np.indices(lut.shape)
    ok = np.ones(lut.shape, bool)
    for axis in _AXES:
        for d in range(-SHADE_MARGIN, SHADE_MARGIN + 1):
            if d:
                nb = [np.clip(idx[k] + d * axis[k], 0, 31) for k in range(3)]
                ok &= lut[nb[0], nb[1], nb[2]] == lut
    return ok


def name_of(rgb: tuple[int, int, int]) -> str:
    r, g, b = (int(v) >> 3 for v in rgb)
    return COLOUR_NAMES[naming_lut()[r, g, b]]


def analysis_view(img: Image.Image | bytes) -> np.ndarray:
    """The pixels dominant colour is measured on: the image downsampled to about 80 px.

    For encoded JPEG bytes (what a record stores, what a model sees) the decoder's own DCT-domain
    downscaling is used (``draft``): exact, deterministic and cheaper than a full decode.
    """
    if isinstance(img, (bytes, bytearray, memoryview)):
        im = Image.open(io.BytesIO(bytes(img)))
        im.draft("RGB", (80, 80))
        return np.asarray(im.convert("RGB"))
    f = max(1, min(img.size) // 80)
    return np.asarray((img.reduce(f) if f > 1 else img).convert("RGB"))


def dominant_colour(img: Image.Image | bytes | np.ndarray) -> tuple[str, np.ndarray]:
    """(name, shares) of a creative (PIL image, encoded bytes or uint8 RGB pixels); see module doc."""
    px = img if isinstance(img, np.ndarray) else analysis_view(img)
    shares = colour_shares(px)
    return COLOUR_NAMES[int(shares.argmax())], shares


def sample_shade(rng: random.Random, name: str) -> tuple[int, int, int]:
    """A random sRGB colour that the naming rule calls ``name``."""
    (h0, h1), (s0, s1), (v0, v1) = _SHADE_RANGES[name]
    for _ in range(60):
        h = (rng.uniform(h0, h1) % 360) / 360
        r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(s0, s1), rng.uniform(v0, v1))
        rgb = (int(r * 255), int(g * 255), int(b * 255))
        # Keep a margin from other names, so compression noise cannot rename a flat area.
        if name_of(rgb) == name and _interior()[rgb[0] >> 3, rgb[1] >> 3, rgb[2] >> 3]:
            return rgb
    return _PROTOTYPES[name][0]


_LIN = np.where(np.arange(256) / 255 <= 0.04045, np.arange(256) / 255 / 12.92,
                ((np.arange(256) / 255 + 0.055) / 1.055) ** 2.4).astype(np.float32)
_LUMA_W = np.array([0.2126, 0.7152, 0.0722], np.float32)


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance of one sRGB colour, in [0, 1]."""
    return float(_LIN[rgb[0]] * 0.2126 + _LIN[rgb[1]] * 0.7152 + _LIN[rgb[2]] * 0.0722)


def luminance_map(pixels: np.ndarray) -> np.ndarray:
    """float32 (H, W) relative luminance of uint8 RGB pixels."""
    return _LIN[pixels] @ _LUMA_W


def contrast(l1: float, l2: float) -> float:
    hi, lo = (l1, l2) if l1 >= l2 else (l2, l1)
    return (hi + 0.05) / (lo + 0.05)


def mix(c1: tuple[int, int, int], c2: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(int(round(a + (b - a) * t)) for a, b in zip(c1, c2, strict=True))  # type: ignore[return-value]


def shade(rgb: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    """Lighten (amount > 0, towards white) or darken (amount < 0, towards black)."""
    return mix(rgb, (255, 255, 255), amount) if amount >= 0 else mix(rgb, (0, 0, 0), -amount)
