"""Draw one ad: background, panels, pictures, clutter, then every text block with legibility checks.

Legibility rule: before any text is drawn, the canvas's WCAG luminance is measured on a ~80 px
view. A plain text block takes the first candidate colour whose contrast ratio against both the
darkest and the lightest background under the block is >= 4.5 (>= 3.0 for text >= 24 px, the
WCAG "large text" threshold). If no candidate passes (busy texture, picture behind), a solid
plate in a light or dark tint is drawn behind the block and the text is set in the opposite
colour. Buttons, tags, ribbons and badges carry their own fill and take black or white text,
whichever contrasts more. The achieved contrast of every block is recorded.

Text never overflows: each block is wrapped and sized to fit its layout slot (textdraw.fit);
if it cannot fit at the role's minimum size it is shortened (body sentences dropped, shorter
headline, offer mention alone) or, as a last resort, dropped; the labels follow what is drawn.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from adfusion_edge.distill.data.adsynth import backgrounds, pictures
from adfusion_edge.distill.data.adsynth.colours import RGB_T, contrast, luminance, luminance_map, shade
from adfusion_edge.distill.data.adsynth.compose import Copy
from adfusion_edge.distill.data.adsynth.fonts import FontFamily
from adfusion_edge.distill.data.adsynth.layouts import SIZE_RANGE, Box, Plan, Slot
from adfusion_edge.distill.data.adsynth.scenario import Scenario
from adfusion_edge.distill.data.adsynth.style import Palette
from adfusion_edge.distill.data.adsynth.textdraw import Fitted, draw_block, fit, fit_at, snap_size

BLACK, WHITE = (0, 0, 0), (255, 255, 255)
FLOOR_PX = 12  # smallest text size at 320 px (scaled with the canvas), except legal small print


@dataclass
class Block:
    role: str
    text: str
    lines: list[str]
    line_boxes: list[tuple[int, int, int, int]]
    box: tuple[int, int, int, int]
    family: str
    px: int
    contrast: float
    style: str


@dataclass
class Rendered:
    image: Image.Image
    blocks: list[Block]
    objects: list[tuple[str, tuple[int, int, int, int]]]
    clutter: int
    picture_area: float
    abstract: bool
    dropped: list[str] = field(default_factory=list)


class _Ctx:
    def __init__(self, canvas: Image.Image, rng: random.Random, pal: Palette):
        self.canvas, self.rng, self.pal = canvas, rng, pal
        self.draw = ImageDraw.Draw(canvas)
        self.s = canvas.width
        self.lum: np.ndarray | None = None
        self.f = 1

    def measure(self) -> None:
        self.f = max(1, self.s // 80)
        small = self.canvas.reduce(self.f) if self.f > 1 else self.canvas
        self.lum = luminance_map(np.asarray(small))

    def region(self, box: tuple[float, float, float, float]) -> tuple[float, float]:
        assert self.lum is not None
        f = self.f
        x0, y0 = max(0, int(box[0] / f)), max(0, int(box[1] / f))
        x1 = max(x0 + 1, int(math.ceil(box[2] / f)))
        y1 = max(y0 + 1, int(math.ceil(box[3] / f)))
        r = self.lum[y0:y1, x0:x1]
        return float(r.min()), float(r.max())


def _px_range(role: str, s: int, cap: float | None = None) -> tuple[int, int]:
    lo, hi = SIZE_RANGE[role]
    mn = max(10, int(round(lo * s)))
    mx = max(mn, int(round(hi * s)))
    if cap is not None:
        mx = max(mn, min(mx, int(cap)))
    return mn, mx


def _on_fill(fill: RGB_T, pal: Palette) -> tuple[RGB_T, float]:
    """Text colour for a filled shape: the palette's light/dark text, else pure white/black."""
    lf = luminance(fill)
    cands = [pal.text_light, pal.text_dark, WHITE, BLACK]
    best = max(cands, key=lambda c: contrast(luminance(c), lf))
    for c in cands:
        if contrast(luminance(c), lf) >= 4.5:
            return c, contrast(luminance(c), lf)
    return best, contrast(luminance(best), lf)


def _first_fit(texts: list[str], path: str, w: float, h: float, mn: int, mx: int, lines: int) -> tuple[str, Fitted] | None:
    for t in texts:
        f = fit(t, path, w, h, mn, mx, lines)
        if f is not None:
            return t, f
    return None


def _maybe_shrink(ctx: _Ctx, f: Fitted, text: str, w: float, h: float, mn: int, lines: int, p: float) -> Fitted:
    if ctx.rng.random() < p:
        size = snap_size(f.gf.size * ctx.rng.uniform(0.72, 0.95))
        if size >= mn and size < f.gf.size:
            g = fit_at(text, f.gf.path, size, w, h, lines)
            if g is not None:
                return g
    return f


def _align_x(slot: Slot, width: float) -> int:
    x0, _, x1, _ = slot.box
    if slot.align == "left":
        return int(math.ceil(x0))
    if slot.align == "right":
        return int(x1 - width)
    return int(x0 + (x1 - x0 - width) / 2)


def _plain(ctx: _Ctx, role: str, texts: list[str], slot: Slot, fam: FontFamily, bold: bool,
           prefer: list[RGB_T]) -> Block | None:
    x0, y0, x1, y1 = slot.box
    w, h = x1 - x0, y1 - y0
    mn, mx = _px_range(role, ctx.s)
    path = fam.bold if bold else fam.regular
    got = _first_fit(texts, path, w, h, mn, mx, slot.max_lines)
    if got is None and mn > FLOOR_PX * ctx.s / 320:
        # Last resort before dropping: the body-text floor (still legible).
        mn = max(10, int(round(FLOOR_PX * ctx.s / 320)))
        got = _first_fit(texts, path, w, h, mn, mn, slot.max_lines)
    if got is None:
        return None
    text, f = got
    f = _maybe_shrink(ctx, f, text, w, h, mn, slot.max_lines, 0.35 if role in ("headline", "hook") else 0.15)
    x = _align_x(slot, f.width)
    y = int(y0 + (h - f.height) / 2)
    box = (x, y, x + int(math.ceil(f.width)), y + f.height)
    lo, hi = ctx.region(box)
    need = 3.0 if f.gf.size >= 24 else 4.5
    colour, cr = None, 0.0
    # Candidates: the preferred stylistic colours, then the palette's dark and light text colours.
    for c in [*prefer, ctx.pal.text_dark, ctx.pal.text_light, BLACK, WHITE]:
        lc = luminance(c)
        c_cr = min(contrast(lc, lo), contrast(lc, hi))
        if c_cr >= need:
            colour, cr = c, c_cr
            break
    if colour is None:  # busy or mid-tone background: put a plate behind the text
        light_plate = (lo + hi) / 2 > 0.18
        plate = ctx.pal.light if light_plate else ctx.pal.dark
        if ctx.rng.random() < 0.3:
            plate = WHITE if light_plate else BLACK
        pad = max(2, int(f.gf.size * 0.18))
        ctx.draw.rounded_rectangle((max(0, x - pad), max(0, y - pad // 2), min(ctx.s - 1, box[2] + pad),
                                    min(ctx.s - 1, box[3] + pad // 2)), radius=pad, fill=plate)
        colour, cr = _on_fill(plate, ctx.pal)
    lines = draw_block(ctx.canvas, f, (x, y), colour, slot.align)
    return Block(role, " ".join(f.lines), f.lines, lines, box, fam.name, f.gf.size, cr, "plain")


def _button(ctx: _Ctx, text: str, slot: Slot, fam: FontFamily) -> Block | None:
    x0, y0, x1, y1 = slot.box
    w, h = x1 - x0, y1 - y0
    mn, mx = _px_range("cta", ctx.s, cap=h * 0.6)
    f = fit(text, fam.bold, w - 8, h * 0.72, mn, mx, 1)
    if f is None:
        return None
    px = f.gf.size
    padx = min(max(6, int(px * 0.7)), int((w - f.width) / 2))
    pady = min(max(3, int(px * 0.35)), int((h - f.height) / 2))
    bw, bh = int(math.ceil(f.width)) + 2 * padx, f.height + 2 * pady
    bx = _align_x(slot, bw)
    by = int(y0 + (h - bh) / 2)
    rect = (bx, by, bx + bw, by + bh)
    rng, pal = ctx.rng, ctx.pal
    fill = pal.accent if rng.random() < 0.7 else pal.accent2
    r = rng.random()
    if rng.random() < 0.3:  # drop shadow
        ctx.draw.rounded_rectangle((rect[0] + 2, rect[1] + 2, rect[2] + 2, rect[3] + 2), radius=bh // 2 if r < 0.4 else 4,
                                   fill=shade(fill, -0.6))
    if r < 0.4:
        ctx.draw.rounded_rectangle(rect, radius=bh // 2, fill=fill)
    elif r < 0.8:
        ctx.draw.rounded_rectangle(rect, radius=max(2, int(bh * rng.uniform(0.1, 0.3))), fill=fill)
    else:
        ctx.draw.rectangle(rect, fill=fill)
    colour, cr = _on_fill(fill, pal)
    lines = draw_block(ctx.canvas, f, (bx + padx, by + pady), colour, "center")
    return Block("cta", text, f.lines, lines, rect, fam.name, px, cr, "button")


def _badge(ctx: _Ctx, role: str, texts: list[str], slot: Slot, fam: FontFamily) -> Block | None:
    """Offer in a circle / starburst (style circle), a tag, or a ribbon, with its own fill."""
    x0, y0, x1, y1 = slot.box
    w, h = x1 - x0, y1 - y0
    rng, pal = ctx.rng, ctx.pal
    fill = pal.accent2 if rng.random() < 0.6 else pal.accent
    if slot.style == "circle":
        d = min(w, h) * rng.uniform(0.88, 1.0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        round_badge = rng.random() < 0.6
        k = 1.0 if round_badge else 0.9  # a starburst's inner circle is smaller
        mn, mx = _px_range(role, ctx.s, cap=d * 0.3)
        # Text areas that fit in the circle: wide and short (1-2 lines) or square (2-3 lines).
        best: tuple[str, Fitted] | None = None
        for bw, bh in ((0.84 * d * k, 0.46 * d * k), (0.68 * d * k, 0.68 * d * k)):
            got = _first_fit(texts, fam.bold, bw, bh, mn, mx, 3)
            if got is not None and (best is None or got[1].gf.size > best[1].gf.size):
                best = got
        if best is None:
            return None
        text, f = best
        if round_badge:
            ctx.draw.ellipse((cx - d / 2, cy - d / 2, cx + d / 2, cy + d / 2), fill=fill)
        else:
            ctx.draw.polygon(pictures.starburst(cx, cy, d / 2, rng), fill=fill)
        x, y = int(cx - f.width / 2), int(cy - f.height / 2)
        shape_box = (int(cx - d / 2), int(cy - d / 2), int(cx + d / 2), int(cy + d / 2))
    else:
        ribbon = slot.style == "ribbon"
        mn, mx = _px_range(role, ctx.s, cap=h * 0.62)
        notch = int(h * 0.3) if ribbon else 0
        got = _first_fit(texts, fam.bold, w - 2 * notch - 12, h * 0.78, mn, mx, slot.max_lines)
        if got is None:
            return None
        text, f = got
        padx, pady = notch + max(6, int(f.gf.size * 0.45)), max(3, int(f.gf.size * 0.3))
        padx = min(padx, int((w - f.width) / 2))
        pady = min(pady, int((h - f.height) / 2))
        bw, bh = int(math.ceil(f.width)) + 2 * padx, f.height + 2 * pady
        bx, by = _align_x(slot, bw), int(y0 + (h - bh) / 2)
        if ribbon:
            n = min(notch, padx)
            ctx.draw.polygon([(bx, by), (bx + bw, by), (bx + bw - n, by + bh / 2), (bx + bw, by + bh), (bx, by + bh),
                              (bx + n, by + bh / 2)], fill=fill)
        else:
            ctx.draw.rounded_rectangle((bx, by, bx + bw, by + bh), radius=max(2, int(bh * rng.uniform(0.15, 0.5))),
                                       fill=fill)
        x, y = bx + padx, by + pady
        shape_box = (bx, by, bx + bw, by + bh)
    colour, cr = _on_fill(fill, pal)
    lines = draw_block(ctx.canvas, f, (x, y), colour, "center")
    return Block(role, " ".join(f.lines), f.lines, lines, shape_box, fam.name, f.gf.size, cr, slot.style)


def _body_candidates(body: list[tuple[str, int]]) -> list[str]:
    """The full body, then with the lowest-priority sentences dropped one at a time."""
    kept = list(body)
    out = []
    while kept:
        out.append(" ".join(s for s, _ in kept))
        drop = min(range(len(kept)), key=lambda i: kept[i][1])
        kept.pop(drop)
    return out


def render(rng: random.Random, size: int, plan: Plan, pal: Palette, cp: Copy, sc: Scenario,
           heading: FontFamily, body_font: FontFamily, max_clutter: int) -> Rendered:
    canvas = backgrounds.render(rng, size, pal.bg_kind, pal.bg_a, pal.bg_b)
    ctx = _Ctx(canvas, rng, pal)
    colours = {"accent": pal.accent, "secondary": pal.secondary, "light": pal.light, "dark": pal.dark}
    for p in plan.panels:
        c = colours[p.colour]
        if p.shape == "rect":
            ctx.draw.rectangle(p.box, fill=c)
        elif p.shape == "round":
            ctx.draw.rounded_rectangle(p.box, radius=int(size * 0.03), fill=c)
        elif p.shape == "circle":
            ctx.draw.ellipse(p.box, fill=c)
        else:
            ctx.draw.polygon(list(p.points), fill=c)

    # Pictures.
    objects: list[tuple[str, tuple[int, int, int, int]]] = []
    abstract = sc.modality == "text_only"
    pool = list(cp.objects)
    for i, (box, kind) in enumerate(plan.pictures):
        if abstract:
            pictures.abstract_art(ctx.draw, rng, box, pal)
            if kind == "main" and rng.random() < 0.4:
                label = pictures.neutral_object(rng)
                b = pictures.place_object(canvas, rng, label, box, pal, (0.5, 0.8))
                if b:
                    objects.append((label, b))
            continue
        label = pool[i % len(pool)] if kind == "tile" else pool[0]
        has_plate = any(p.shape == "circle" for p in plan.panels)
        if kind == "main" and not has_plate and rng.random() < 0.35:
            pictures.backdrop(ctx.draw, rng, box, pal)
        b = pictures.place_object(canvas, rng, label, box, pal, (0.6, 0.9) if kind == "tile" else (0.7, 1.0))
        if b:
            objects.append((label, b))
        if kind == "main" and len(pool) > 1 and plan.name != "minimal" and rng.random() < 0.3:
            x0, y0, x1, y1 = box
            side = min(x1 - x0, y1 - y0) * rng.uniform(0.32, 0.45)
            cx = x0 if rng.random() < 0.5 else x1 - side
            sub = (cx, y1 - side, cx + side, y1)
            b2 = pictures.place_object(canvas, rng, pool[1], sub, pal, (0.85, 1.0))
            if b2:
                objects.append((pool[1], b2))

    keep_out: list[Box] = [s.box for s in plan.slots.values()] + [b for b, _ in plan.pictures]
    n_clutter = rng.randint(0, int(round(max_clutter * plan.clutter)))
    n_clutter = pictures.clutter(canvas, ctx.draw, rng, n_clutter, keep_out, pal)

    ctx.measure()
    blocks: list[Block] = []
    dropped: list[str] = []
    slots = plan.slots

    def add(role: str, blk: Block | None) -> None:
        if blk is None:
            dropped.append(role)
        else:
            blocks.append(blk)

    accentish = [pal.accent] if rng.random() < 0.4 else []
    add("headline", _plain(ctx, "headline", cp.headline, slots["headline"], heading, True, accentish))
    hook_bold = rng.random() < 0.5
    add("hook", _plain(ctx, "hook", cp.hook, slots["hook"], heading if hook_bold else body_font, hook_bold,
                       [pal.accent2] if rng.random() < 0.3 else []))
    if "body" in slots and cp.body:
        add("body", _plain(ctx, "body", _body_candidates(cp.body), slots["body"], body_font, False, []))
    if cp.offer is not None:
        slot = slots["offer"]
        texts = [cp.offer.text] + ([cp.offer_compact.text] if cp.offer_compact and cp.offer_compact.text != cp.offer.text
                                   else [])
        if slot.style == "plain":
            blk = _plain(ctx, "offer", texts, slot, heading, True, [pal.accent, pal.accent2])
        else:
            blk = _badge(ctx, "offer", texts, slot, heading)
        add("offer", blk)
    if cp.cta is not None:
        add("cta", _button(ctx, cp.cta, slots["cta"], heading))
    if cp.legal:
        add("legal", _plain(ctx, "legal", cp.legal, slots["legal"], body_font, False, []))

    area = sum((b[2] - b[0]) * (b[3] - b[1]) for _, b in objects) / float(size * size)
    return Rendered(canvas, blocks, objects, n_clutter, min(1.0, area), abstract, dropped)


def downscale(out: Rendered, size: int) -> None:
    """Shrink a rendered ad to ``size`` px in place: image (box filter), boxes and text sizes."""
    k = size / out.image.width

    def sc(b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        x0, y0 = min(size - 1, int(b[0] * k)), min(size - 1, int(b[1] * k))
        return (x0, y0, max(x0 + 1, min(size, math.ceil(b[2] * k))), max(y0 + 1, min(size, math.ceil(b[3] * k))))

    out.image = out.image.resize((size, size), Image.BOX)
    out.objects = [(label, sc(b)) for label, b in out.objects]
    for blk in out.blocks:
        blk.box = sc(blk.box)
        blk.line_boxes = [sc(b) for b in blk.line_boxes]
        blk.px = max(1, round(blk.px * k))


def reading_order(blocks: list[Block]) -> list[Block]:
    """Top-to-bottom rows, left-to-right within a row.

    Blocks are taken by their top edge; a block joins the current row if it overlaps the row's
    vertical extent by at least half of the smaller height, otherwise it starts a new row.
    """
    rows: list[list[Block]] = []
    for b in sorted(blocks, key=lambda b: (b.box[1], b.box[0])):
        if rows:
            top = min(x.box[1] for x in rows[-1])
            bot = max(x.box[3] for x in rows[-1])
            overlap = min(bot, b.box[3]) - max(top, b.box[1])
            if overlap >= 0.5 * min(bot - top, b.box[3] - b.box[1]):
                rows[-1].append(b)
                continue
        rows.append([b])
    return [b for row in rows for b in sorted(row, key=lambda b: b.box[0])]
