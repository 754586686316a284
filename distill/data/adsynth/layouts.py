"""Layout templates: where the panels, pictures and text blocks of an ad go.

A layout is a function ``(rng) -> Plan`` working in unit coordinates (0..1 of the canvas side),
with random jitter and optional mirroring, so one template yields many arrangements. Text slots
of a plan never overlap each other and stay inside the canvas with a margin; renderer fits each
text into its slot (wrap + size search), so text cannot overflow.

Text roles: ``hook`` (emotion line), ``headline``, ``body``, ``offer`` (monetary mention),
``cta`` (button), ``legal`` (small print). Layouts may omit ``body``; every layout has the others.

IN_DIST layouts are used by train/val/test; SHIFT layouts only by the ``shift`` split.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

Box = tuple[float, float, float, float]

ROLES = ("hook", "headline", "body", "offer", "cta", "legal")

# (min, max) text height as a fraction of the canvas side, per role. Minimums keep text legible
# for OCR at 320 px (legal >= 11 px, body >= 12 px).
SIZE_RANGE: dict[str, tuple[float, float]] = {
    "hook": (0.038, 0.075),
    "headline": (0.056, 0.16),
    "body": (0.038, 0.056),
    "offer": (0.038, 0.13),
    "cta": (0.038, 0.066),
    "legal": (0.035, 0.04),
}


@dataclass
class Slot:
    role: str
    box: Box
    align: str = "left"  # left | center | right
    max_lines: int = 2
    style: str = "plain"  # plain | button | circle | tag | ribbon


@dataclass
class Panel:
    box: Box
    shape: str  # rect | round | circle | polygon
    colour: str  # accent | secondary | light | dark
    points: tuple[tuple[float, float], ...] = ()


@dataclass
class Plan:
    name: str
    slots: dict[str, Slot]
    pictures: list[tuple[Box, str]]  # (box, kind): kind main | tile | side
    panels: list[Panel] = field(default_factory=list)
    clutter: float = 1.0  # how much clutter the template tolerates (0..1)
    solid_only: bool = False
    frame: bool = False

    def scaled(self, s: int) -> Plan:
        def sc(b: Box) -> Box:
            return (b[0] * s, b[1] * s, b[2] * s, b[3] * s)

        return Plan(
            self.name,
            {k: Slot(v.role, sc(v.box), v.align, v.max_lines, v.style) for k, v in self.slots.items()},
            [(sc(b), k) for b, k in self.pictures],
            [Panel(sc(p.box), p.shape, p.colour, tuple((x * s, y * s) for x, y in p.points)) for p in self.panels],
            self.clutter, self.solid_only, self.frame,
        )


def _j(rng: random.Random, v: float, amt: float = 0.015) -> float:
    return v + rng.uniform(-amt, amt)


def _mirror(plan: Plan) -> Plan:
    def m(b: Box) -> Box:
        return (1 - b[2], b[1], 1 - b[0], b[3])

    flip = {"left": "right", "right": "left", "center": "center"}
    return Plan(
        plan.name,
        {k: Slot(v.role, m(v.box), flip[v.align], v.max_lines, v.style) for k, v in plan.slots.items()},
        [(m(b), k) for b, k in plan.pictures],
        [Panel(m(p.box), p.shape, p.colour, tuple((1 - x, y) for x, y in p.points)) for p in plan.panels],
        plan.clutter, plan.solid_only, plan.frame,
    )


def _offer_style(rng: random.Random, small: bool) -> str:
    return rng.choice(("circle", "tag", "ribbon")) if small else rng.choice(("plain", "tag", "ribbon", "plain"))


def banner(rng: random.Random) -> Plan:
    split = _j(rng, 0.62, 0.03)
    p = Plan("banner", {
        "hook": Slot("hook", (0.05, 0.05, 0.58, 0.13), "left", 1),
        "headline": Slot("headline", (0.05, 0.14, 0.58, 0.40), "left", 3),
        "body": Slot("body", (0.05, 0.42, 0.58, split - 0.02), "left", 3),
        "offer": Slot("offer", (0.05, split + 0.04, 0.52, 0.88), "left", 2, _offer_style(rng, False)),
        "cta": Slot("cta", (0.56, split + 0.06, 0.95, 0.87), "center", 1, "button"),
        "legal": Slot("legal", (0.05, 0.90, 0.95, 0.975), "left", 1),
    }, [((0.60, 0.07, 0.96, split - 0.02), "main")],
        [Panel((0.0, split, 1.0, 1.0), "rect", "secondary")])
    return _mirror(p) if rng.random() < 0.5 else p


def poster(rng: random.Random) -> Plan:
    return Plan("poster", {
        "hook": Slot("hook", (0.06, 0.04, 0.94, 0.11), "center", 1),
        "headline": Slot("headline", (0.06, 0.11, 0.94, 0.33), "center", 2),
        "offer": Slot("offer", (0.67, 0.35, 0.97, 0.65), "center", 3, "circle"),
        "body": Slot("body", (0.08, 0.70, 0.92, 0.81), "center", 2),
        "cta": Slot("cta", (0.25, 0.82, 0.75, 0.92), "center", 1, "button"),
        "legal": Slot("legal", (0.06, 0.93, 0.94, 0.985), "center", 1),
    }, [((0.14, _j(rng, 0.35), 0.65, 0.69), "main")], clutter=0.8)


def product_centred(rng: random.Random) -> Plan:
    left = rng.random() < 0.5
    badge = (0.02, 0.265, 0.32, 0.565) if left else (0.68, 0.265, 0.98, 0.565)
    return Plan("product_centred", {
        "headline": Slot("headline", (0.05, 0.03, 0.95, 0.19), "center", 2),
        "hook": Slot("hook", (0.08, 0.195, 0.92, 0.26), "center", 1),
        "offer": Slot("offer", badge, "center", 3, "circle"),
        "body": Slot("body", (0.08, 0.755, 0.92, 0.825), "center", 1),
        "cta": Slot("cta", (0.25, 0.835, 0.75, 0.925), "center", 1, "button"),
        "legal": Slot("legal", (0.05, 0.935, 0.95, 0.985), "center", 1),
    }, [((0.25, 0.28, 0.75, 0.745), "main")],
        [Panel((0.27, 0.29, 0.73, 0.735), "circle", "light")] if rng.random() < 0.6 else [], clutter=0.7)


def split(rng: random.Random) -> Plan:
    x = _j(rng, 0.5, 0.03)
    p = Plan("split", {
        "hook": Slot("hook", (0.04, 0.035, x - 0.03, 0.135), "left", 2),
        "headline": Slot("headline", (0.04, 0.14, x - 0.03, 0.41), "left", 3),
        "body": Slot("body", (0.04, 0.42, x - 0.03, 0.60), "left", 3),
        "offer": Slot("offer", (0.04, 0.61, x - 0.03, 0.745), "left", 2, rng.choice(("plain", "tag"))),
        "cta": Slot("cta", (0.04, 0.76, x - 0.03, 0.875), "left", 1, "button"),
        "legal": Slot("legal", (0.04, 0.89, x - 0.03, 0.985), "left", 2),
    }, [((x + 0.04, 0.14, 0.96, 0.86), "main")],
        [Panel((0.0, 0.0, x, 1.0), "rect", "secondary")])
    return _mirror(p) if rng.random() < 0.5 else p


def text_heavy(rng: random.Random) -> Plan:
    p = Plan("text_heavy", {
        "headline": Slot("headline", (0.05, 0.04, 0.95, 0.24), "left", 2),
        "hook": Slot("hook", (0.05, 0.25, 0.95, 0.32), "left", 1),
        "body": Slot("body", (0.05, 0.34, 0.64, 0.66), "left", 5),
        "offer": Slot("offer", (0.05, 0.69, 0.56, 0.81), "left", 2, rng.choice(("plain", "tag", "ribbon"))),
        "cta": Slot("cta", (0.58, 0.69, 0.95, 0.81), "center", 1, "button"),
        "legal": Slot("legal", (0.05, 0.84, 0.95, 0.975), "left", 2),
    }, [((0.67, 0.34, 0.95, 0.64), "side")], clutter=0.3)
    return _mirror(p) if rng.random() < 0.3 else p


def minimal(rng: random.Random) -> Plan:
    return Plan("minimal", {
        "hook": Slot("hook", (0.1, _j(rng, 0.09), 0.9, 0.17), "center", 1),
        "headline": Slot("headline", (0.08, 0.18, 0.92, 0.37), "center", 2),
        "offer": Slot("offer", (0.15, 0.69, 0.85, 0.78), "center", 1, "plain"),
        "cta": Slot("cta", (0.3, 0.80, 0.7, 0.90), "center", 1, "button"),
        "legal": Slot("legal", (0.1, 0.925, 0.9, 0.975), "center", 1),
    }, [((0.36, 0.41, 0.64, 0.67), "main")], clutter=0.05, solid_only=True)


def grid(rng: random.Random) -> Plan:
    g = 0.02
    tiles = [((0.05, 0.04, 0.5 - g, 0.30), "tile"), ((0.5 + g, 0.04, 0.95, 0.30), "tile"),
             ((0.05, 0.30 + 2 * g, 0.5 - g, 0.58), "tile"), ((0.5 + g, 0.30 + 2 * g, 0.95, 0.58), "tile")]
    return Plan("grid", {
        "hook": Slot("hook", (0.05, 0.60, 0.95, 0.665), "center", 1),
        "headline": Slot("headline", (0.05, 0.67, 0.95, 0.81), "center", 2),
        "offer": Slot("offer", (0.05, 0.825, 0.5, 0.925), "center", 2, rng.choice(("plain", "tag"))),
        "cta": Slot("cta", (0.54, 0.825, 0.95, 0.925), "center", 1, "button"),
        "legal": Slot("legal", (0.05, 0.94, 0.95, 0.985), "center", 1),
    }, tiles, [Panel(b, "round", "light") for b, _ in tiles], clutter=0.3)


def badge_corner(rng: random.Random) -> Plan:
    p = Plan("badge_corner", {
        "headline": Slot("headline", (0.05, 0.04, 0.95, 0.21), "left", 2),
        "hook": Slot("hook", (0.05, 0.22, 0.62, 0.29), "left", 1),
        "offer": Slot("offer", (0.64, 0.22, 0.96, 0.54), "center", 3, "circle"),
        "body": Slot("body", (0.64, 0.56, 0.96, 0.78), "left", 4),
        "cta": Slot("cta", (0.60, 0.80, 0.97, 0.91), "center", 1, "button"),
        "legal": Slot("legal", (0.05, 0.925, 0.95, 0.98), "left", 1),
    }, [((0.05, 0.31, 0.60, 0.90), "main")])
    return _mirror(p) if rng.random() < 0.5 else p


# --- held out for the shift split -------------------------------------------------------------

def diagonal(rng: random.Random) -> Plan:
    a, b = _j(rng, 0.75, 0.05), _j(rng, 0.35, 0.05)
    p = Plan("diagonal", {
        "hook": Slot("hook", (0.05, 0.05, 0.70, 0.12), "left", 1),
        "headline": Slot("headline", (0.05, 0.12, 0.75, 0.32), "left", 2),
        "body": Slot("body", (0.05, 0.33, 0.55, 0.47), "left", 2),
        "offer": Slot("offer", (0.05, 0.52, 0.45, 0.66), "left", 2, rng.choice(("tag", "ribbon"))),
        "cta": Slot("cta", (0.05, 0.70, 0.45, 0.81), "left", 1, "button"),
        "legal": Slot("legal", (0.05, 0.93, 0.95, 0.98), "left", 1),
    }, [((0.52, 0.48, 0.95, 0.90), "main")],
        [Panel((0, 0, 1, 1), "polygon", "secondary", ((1.0, b), (1.0, 1.0), (0.0, 1.0), (0.0, a)))])
    return _mirror(p) if rng.random() < 0.5 else p


def overlay(rng: random.Random) -> Plan:
    top = _j(rng, 0.60, 0.02)
    return Plan("overlay", {
        "hook": Slot("hook", (0.05, top + 0.02, 0.95, top + 0.085), "center", 1),
        "headline": Slot("headline", (0.05, top + 0.09, 0.95, 0.81), "center", 2),
        "offer": Slot("offer", (0.05, 0.83, 0.48, 0.925), "center", 1, "tag"),
        "cta": Slot("cta", (0.52, 0.83, 0.95, 0.925), "center", 1, "button"),
        "legal": Slot("legal", (0.05, 0.94, 0.95, 0.985), "center", 1),
    }, [((0.12, 0.03, 0.88, top - 0.01), "main")],
        [Panel((0.0, top, 1.0, 1.0), "rect", "dark")], clutter=0.6)


def framed(rng: random.Random) -> Plan:
    return Plan("framed", {
        "hook": Slot("hook", (0.1, 0.42, 0.9, 0.48), "center", 1),
        "headline": Slot("headline", (0.08, 0.485, 0.92, 0.64), "center", 2),
        "body": Slot("body", (0.1, 0.645, 0.9, 0.73), "center", 2),
        "offer": Slot("offer", (0.2, 0.735, 0.8, 0.815), "center", 1, "tag"),
        "cta": Slot("cta", (0.28, 0.825, 0.72, 0.905), "center", 1, "button"),
        "legal": Slot("legal", (0.1, 0.91, 0.9, 0.945), "center", 1),
    }, [((0.3, 0.08, 0.7, 0.40), "main")],
        [Panel((0.04, 0.04, 0.96, 0.96), "round", "light")], clutter=0.2, frame=True)


LAYOUTS: dict[str, Callable[[random.Random], Plan]] = {
    f.__name__: f for f in (banner, poster, product_centred, split, text_heavy, minimal, grid, badge_corner,
                            diagonal, overlay, framed)
}
IN_DIST: tuple[str, ...] = ("banner", "poster", "product_centred", "split", "text_heavy", "minimal", "grid",
                            "badge_corner")
SHIFT: tuple[str, ...] = ("diagonal", "overlay", "framed")


def make(name: str, rng: random.Random, size: int) -> Plan:
    return LAYOUTS[name](rng).scaled(size)
