"""Pictures of an ad: product objects (emoji sprites), abstract art, and decorative clutter.

Objects vary in size (70-100% of their slot), position (anywhere the sprite fits inside its
slot), rotation (half of them, up to +-22 degrees) and colour (a third tinted towards an accent
colour by 10-30%). Every object box is the sprite's tight box and lies inside the canvas.

Text-only ads (generic picture) get abstract shapes instead, sometimes with a theme-neutral
object (gift, person). Clutter (dots, rings, stars, confetti, decoration emoji) avoids text and
picture slots so it never hurts legibility; its amount feeds the engagement model.
"""

from __future__ import annotations

import math
import random

from PIL import Image, ImageDraw

from adfusion_edge.distill.data.adsynth import glyphs
from adfusion_edge.distill.data.adsynth.colours import RGB_T, shade
from adfusion_edge.distill.data.adsynth.copybank import NEUTRAL_OBJECTS
from adfusion_edge.distill.data.adsynth.layouts import Box
from adfusion_edge.distill.data.adsynth.style import Palette


def _ibox(b: Box) -> tuple[int, int, int, int]:
    return (int(math.ceil(b[0])), int(math.ceil(b[1])), int(b[2]), int(b[3]))


def place_object(canvas: Image.Image, rng: random.Random, label: str, box: Box, pal: Palette,
                 frac: tuple[float, float] = (0.7, 1.0)) -> tuple[int, int, int, int] | None:
    """Draw one object inside ``box``; returns its tight pixel box, or None if the box is too small."""
    x0, y0, x1, y1 = _ibox(box)
    bw, bh = x1 - x0, y1 - y0
    if min(bw, bh) < 12:
        return None
    angle = rng.uniform(-22, 22) if rng.random() < 0.5 else 0.0
    # A rotated square grows by |cos| + |sin|: pre-shrink so the rotated sprite still fits.
    grow = abs(math.cos(math.radians(angle))) + abs(math.sin(math.radians(angle)))
    size = max(8, int(min(bw, bh) * rng.uniform(*frac) / grow))
    tint = pal.accent if rng.random() < 0.33 else None
    sp = glyphs.sprite(glyphs.pick_variant(rng, label), size, angle, tint, rng.uniform(0.1, 0.3))
    w, h = sp.size
    if w > bw or h > bh:
        k = min(bw / w, bh / h)
        sp = sp.resize((max(1, int(w * k)), max(1, int(h * k))), Image.BILINEAR)
        w, h = sp.size
    x = x0 + rng.randint(0, bw - w)
    y = y0 + rng.randint(0, bh - h)
    canvas.paste(sp, (x, y), sp)
    return (x, y, x + w, y + h)


def backdrop(draw: ImageDraw.ImageDraw, rng: random.Random, box: Box, pal: Palette) -> None:
    """A plate or halo behind the main product (not every ad)."""
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, min(x1 - x0, y1 - y0) / 2
    colour = pal.light if rng.random() < 0.6 else pal.accent2
    kind = rng.random()
    if kind < 0.5:
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    elif kind < 0.8:
        draw.rounded_rectangle((cx - r, cy - r, cx + r, cy + r), radius=r * 0.25, fill=colour)
    else:
        draw.ellipse((cx - r * 0.8, y1 - r * 0.25, cx + r * 0.8, y1), fill=shade(pal.bg_a, -0.35))


def abstract_art(draw: ImageDraw.ImageDraw, rng: random.Random, box: Box, pal: Palette) -> None:
    """Theme-free shapes filling a picture slot (text-only ads)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    colours: list[RGB_T] = [pal.accent, pal.accent2, pal.secondary, pal.light, pal.dark]
    for _ in range(rng.randint(3, 7)):
        r = min(w, h) * rng.uniform(0.12, 0.35)
        cx, cy = rng.uniform(x0 + r, x1 - r), rng.uniform(y0 + r, y1 - r)
        c = rng.choice(colours)
        k = rng.randrange(5)
        if k == 0:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=c)
        elif k == 1:
            draw.rounded_rectangle((cx - r, cy - r, cx + r, cy + r), radius=r * rng.uniform(0, 0.5), fill=c)
        elif k == 2:
            a = rng.uniform(0, math.tau)
            pts = [(cx + r * math.cos(a + i * math.tau / 3), cy + r * math.sin(a + i * math.tau / 3)) for i in range(3)]
            draw.polygon(pts, fill=c)
        elif k == 3:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=c, width=max(2, int(r * 0.25)))
        else:
            draw.arc((cx - r, cy - r, cx + r, cy + r), rng.uniform(0, 180), rng.uniform(200, 360), fill=c,
                     width=max(2, int(r * 0.2)))


def neutral_object(rng: random.Random) -> str:
    return rng.choice(NEUTRAL_OBJECTS)


def _star(cx: float, cy: float, r: float, n: int, inner: float, rot: float) -> list[tuple[float, float]]:
    pts = []
    for i in range(2 * n):
        rr = r if i % 2 == 0 else r * inner
        a = rot + i * math.pi / n
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return pts


def starburst(cx: float, cy: float, r: float, rng: random.Random) -> list[tuple[float, float]]:
    return _star(cx, cy, r, rng.randint(12, 20), 0.86, rng.uniform(0, math.pi))


def _overlaps(b: Box, others: list[Box], pad: float) -> bool:
    return any(b[0] < o[2] + pad and o[0] < b[2] + pad and b[1] < o[3] + pad and o[1] < b[3] + pad for o in others)


def clutter(canvas: Image.Image, draw: ImageDraw.ImageDraw, rng: random.Random, n: int, keep_out: list[Box],
            pal: Palette) -> int:
    """Scatter up to ``n`` small decorations outside ``keep_out``; returns how many were drawn."""
    s = canvas.width
    colours = [pal.accent, pal.accent2, pal.light, pal.secondary, shade(pal.bg_a, 0.4), shade(pal.bg_a, -0.4)]
    drawn = 0
    for _ in range(n):
        emoji = rng.random() < 0.3
        r = s * (rng.uniform(0.025, 0.04) if emoji else rng.uniform(0.008, 0.03))
        reach = r * 1.45 if emoji else r  # a rotated sprite reaches past its nominal square
        for _try in range(8):
            cx, cy = rng.uniform(reach + 2, s - reach - 2), rng.uniform(reach + 2, s - reach - 2)
            b = (cx - reach, cy - reach, cx + reach, cy + reach)
            if not _overlaps(b, keep_out, 3):
                break
        else:
            continue
        c = rng.choice(colours)
        if emoji:
            sp = glyphs.sprite(rng.choice(glyphs.DECOR_EMOJI), int(2 * r), rng.uniform(-25, 25))
            canvas.paste(sp, (int(cx - sp.width / 2), int(cy - sp.height / 2)), sp)
        else:
            k = rng.randrange(6)
            if k == 0:
                draw.ellipse(b, fill=c)
            elif k == 1:
                draw.ellipse(b, outline=c, width=max(1, int(r * 0.3)))
            elif k == 2:
                draw.polygon(_star(cx, cy, r, 5, 0.45, rng.uniform(0, math.pi)), fill=c)
            elif k == 3:
                draw.polygon(_star(cx, cy, r, 4, 0.3, 0.0), fill=c)
            elif k == 4:
                a = rng.uniform(0, math.tau)
                draw.polygon([(cx + r * math.cos(a + i * math.tau / 3), cy + r * math.sin(a + i * math.tau / 3))
                              for i in range(3)], fill=c)
            else:
                draw.rectangle((cx - r, cy - r * 0.4, cx + r, cy + r * 0.4), fill=c)
        keep_out.append(b)
        drawn += 1
    return drawn
