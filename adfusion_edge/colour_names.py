"""The colour-naming rule of the ``dominant_colour`` head: which schema colour an sRGB pixel is.

A pixel gets the schema colour whose nearest prototype is closest in CIELAB (CIE76 distance; several
prototypes per name, e.g. light and dark blues), precomputed as a 32x32x32 lookup table over 5-bit
RGB. AdSynth labels its creatives with it (distill/data/adsynth/colours.py) and the real-ad student
computes dominant colour with the same table inside its graph (distill/models/lite_student.py), so
the rule lives here, below both. numpy only.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from adfusion_edge import schema

COLOUR_NAMES: tuple[str, ...] = schema.head("dominant_colour").labels
RGB_T = tuple[int, int, int]

# Prototype sRGB colours per name. Keys must be exactly the schema's colour labels (checked).
PROTOTYPES: dict[str, tuple[tuple[int, int, int], ...]] = {
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
if set(PROTOTYPES) != set(COLOUR_NAMES):
    raise RuntimeError(f"colour prototypes {sorted(PROTOTYPES)} != schema colours {sorted(COLOUR_NAMES)}")


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
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
        for p in PROTOTYPES[name]:
            protos.append(p)
            owner.append(i)
    d = ((srgb_to_lab(grid)[:, None, :] - srgb_to_lab(np.array(protos))[None]) ** 2).sum(-1)
    return np.array(owner, np.uint8)[d.argmin(1)].reshape(32, 32, 32)


def colour_shares(pixels: np.ndarray) -> np.ndarray:
    """Share of each schema colour (len(COLOUR_NAMES),) among uint8 RGB pixels (..., 3)."""
    q = pixels.reshape(-1, 3) >> 3
    idx = naming_lut()[q[:, 0], q[:, 1], q[:, 2]]
    counts = np.bincount(idx, minlength=len(COLOUR_NAMES))
    return counts / max(1, counts.sum())



__all__ = ["COLOUR_NAMES", "PROTOTYPES", "RGB_T", "colour_shares", "naming_lut", "srgb_to_lab"]
