"""Object pictures: Noto Color Emoji glyphs for every schema object class, plus decorations.

PIL draws the CBDT colour emoji font only at its bitmap size (109 px) with ``embedded_color``. Each
glyph is rasterised once per process, cropped to its ink and cached; sprites for an ad are then
resized, rotated and tinted from the cached bitmap (cheap at sprite size).

Decorations (sparkles, stars, ...) are clutter, not objects: they never enter the ``objects``
label, and none of them depicts a schema object class.
"""

from __future__ import annotations

import random
import subprocess
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from adfusion_edge import schema

EMOJI_SIZE = 109  # the only size the bitmap font has

# Object class -> emoji variants that depict it. Keys must be exactly schema.OBJECTS (checked).
OBJECT_EMOJI: dict[str, tuple[str, ...]] = {
    "pizza": ("🍕",), "burger": ("🍔",), "coffee": ("☕",), "cake": ("🎂", "🍰"), "apple": ("🍎", "🍏"),
    "phone": ("📱",), "laptop": ("💻",), "headphones": ("🎧",), "camera": ("📷", "📸"), "watch": ("⌚",),
    "game_controller": ("🎮", "🕹\ufe0f"), "car": ("🚗", "🚙", "🏎\ufe0f"), "bicycle": ("🚲",),
    "plane": ("✈\ufe0f", "🛫"), "suitcase": ("🧳",), "shoe": ("👟", "👠", "👞"), "dress": ("👗",),
    "handbag": ("👜", "👛"), "sunglasses": ("🕶\ufe0f",), "lipstick": ("💄",), "lotion": ("🧴",),
    "person": ("🧑", "👩", "👨", "🧓", "👧"), "house": ("🏠", "🏡"), "sofa": ("🛋\ufe0f",),
    "money_bag": ("💰",), "credit_card": ("💳",), "book": ("📖", "📚", "📕"), "graduation_cap": ("🎓",),
    "pill": ("💊",), "stethoscope": ("🩺",), "ballot_box": ("🗳\ufe0f",), "megaphone": ("📣", "📢"),
    "ticket": ("🎟\ufe0f", "🎫"), "clapperboard": ("🎬",), "gift": ("🎁",), "music_note": ("🎵", "🎶"),
}
if set(OBJECT_EMOJI) != set(schema.OBJECTS):
    raise RuntimeError(f"OBJECT_EMOJI does not cover schema.OBJECTS exactly: "
                       f"{sorted(set(schema.OBJECTS) ^ set(OBJECT_EMOJI))}")

DECOR_EMOJI: tuple[str, ...] = ("✨", "⭐", "🌟", "🔥", "💥", "⚡", "❤\ufe0f", "🎉", "💎", "🌈", "👍")

_DEFAULT_PATHS = (
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto/NotoColorEmoji.ttf",
)


@lru_cache(maxsize=1)
def emoji_font_path() -> str:
    """Path of Noto Color Emoji; RuntimeError with the install hint if absent."""
    for p in _DEFAULT_PATHS:
        if Path(p).is_file():
            return p
    try:
        out = subprocess.run(["fc-list"], capture_output=True, text=True, timeout=20).stdout
        for line in out.splitlines():
            if "emoji" in line.lower() and "color" in line.lower():
                return line.split(":")[0]
    except (OSError, subprocess.SubprocessError):
        pass
    raise RuntimeError("AdSynth needs Noto Color Emoji (Debian: apt-get install fonts-noto-color-emoji)")


@lru_cache(maxsize=1)
def _emoji_font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(emoji_font_path(), EMOJI_SIZE)


@cache
def base_glyph(ch: str) -> Image.Image:
    """RGBA bitmap of one emoji, cropped to its ink (cached per process)."""
    im = Image.new("RGBA", (EMOJI_SIZE * 3 // 2, EMOJI_SIZE * 3 // 2), (0, 0, 0, 0))
    ImageDraw.Draw(im).text((4, 4), ch, font=_emoji_font(), embedded_color=True)
    bbox = im.getbbox()
    if bbox is None:
        raise RuntimeError(f"emoji {ch!r} renders empty with {emoji_font_path()}")
    return im.crop(bbox)


SIZE_STEP = 4  # sprite sizes snap down to multiples of this, so resized bitmaps can be cached


@lru_cache(maxsize=1024)  # ~40 MB at most
def _scaled(ch: str, size: int) -> Image.Image:
    base = base_glyph(ch)
    w, h = base.size
    k = size / max(w, h)
    return base.resize((max(1, round(w * k)), max(1, round(h * k))), Image.BILINEAR)


def sprite(ch: str, size: int, angle: float = 0.0, tint: tuple[int, int, int] | None = None,
           tint_strength: float = 0.0) -> Image.Image:
    """RGBA sprite whose longer side is ``size`` px (snapped to SIZE_STEP) before rotation; tight to its ink.

    The returned image may be a shared cached object: callers must not modify it in place.
    """
    im = _scaled(ch, max(4, size // SIZE_STEP * SIZE_STEP))
    if tint is not None and tint_strength > 0:
        a = np.array(im)
        rgb = a[..., :3].astype(np.float32)
        rgb += (np.asarray(tint, np.float32) - rgb) * tint_strength
        a[..., :3] = rgb.astype(np.uint8)
        im = Image.fromarray(a, "RGBA")
    if angle:
        im = im.rotate(angle, resample=Image.BILINEAR, expand=True)
        bbox = im.getbbox()
        if bbox:
            im = im.crop(bbox)
    return im


def pick_variant(rng: random.Random, label: str) -> str:
    return rng.choice(OBJECT_EMOJI[label])
