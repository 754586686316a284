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

from adfusion_edge import schema

COLOUR_NAMES: tuple[str, ...] = schema.head("dominant_colour").labels
RGB_T = tuple[int, int, int]

# Prototype sRGB colours per name. Keys must be exactly the schema's colour labels (checked).
_PROTOTYPES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "red": ((220, 20, 30), (180, 0, 10), (250, 60, 50), (140, 10, 20)),
    "orange": ((255, 140, 0), (255, 165, 70), (230, 110, 20), (250, 120, 50)),
    "yellow": ((255, 220, 0), (250, 240, 110), (235, 200, 30), (255, 250, 170)),
    "green": ((0, 160, 60), (100, 200, 80), (30, 100, 40), (150, 220, 150), (0, 130, 110), (170, 200, 40)),
    "blue": ((30, 80, 220), (0, 150, 230), (20, 40, 120), (120, 170, 240), (0, 110, 180), (170, 210, 250),
             (0, 0, 255), (0, 0, 140), (0, 200, 235)),
    "purple": ((130, 50, 180), (80, 30, 120), (170, 120, 220), (110, 60, 200)),
    "pink": ((255, 130, 180), (240, 80, 150), (255, 190, 210), (220, 40, 130)),
    "brown": ((130, 80, 40), (100, 60, 30), (165, 115, 65), (75, 45, 25), (200, 160, 110)),
    "black": ((10, 10, 10), (35, 35, 40)),
    "white": ((255, 255, 255), (238, 238, 238)),
    "gray": ((128, 128, 128), (90, 90, 95), (175, 175, 175), (205, 205, 205)),
}
if set(_PROTOTYPES) != set(COLOUR_NAMES):
    raise RuntimeError(f"colour prototypes {sorted(_PROTOTYPES)} != schema colours {sorted(COLOUR_NAMES)}")

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


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


@lru_cache(maxsize=1)
def naming_lut() -> np.ndarray:
    """uint8 (32, 32, 32): colour index (into COLOUR_NAMES) of each 5-bit RGB cell's centre."""
    centres = np.arange(32) * 8 + 4
    grid = np.stack(np.meshgrid(centres, centres, centres, indexing="ij"), -1).reshape(-1, 3)
    protos, owner = [], []
    for i, name in enumerate(COLOUR_NAMES):
        for p in _PROTOTYPES[name]:
            protos.append(p)
            owner.append(i)
    d = ((_srgb_to_lab(grid)[:, None, :] - _srgb_to_lab(np.array(protos))[None]) ** 2).sum(-1)
    return np.array(owner, np.uint8)[d.argmin(1)].reshape(32, 32, 32)


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


def colour_shares(pixels: np.ndarray) -> np.ndarray:
    """Share of each schema colour (len(COLOUR_NAMES),) among uint8 RGB pixels (..., 3)."""
    q = pixels.reshape(-1, 3) >> 3
    idx = naming_lut()[q[:, 0], q[:, 1], q[:, 2]]
    counts = np.bincount(idx, minlength=len(COLOUR_NAMES))
    return counts / max(1, counts.sum())


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
