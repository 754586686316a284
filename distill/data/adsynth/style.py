"""Colour styling of an ad, driven by its emotion, sentiment, audience and safety (never theme).

Background colour family | emotion (excitement -> red/orange/yellow, trust -> blue/white,
calm -> green/blue, fear -> black/dark red, anger -> red/black, sadness -> gray/blue, joy ->
yellow/pink/orange, surprise -> purple/pink), shifted by sentiment (negative: darker families),
audience (kids: bright; gamers: black/purple; seniors: calm light colours) and safety (unsafe:
garish yellow/red). 25% of ads take a uniformly random family so no cue is perfect. The theme is
deliberately not a colour cue: text-only ads must not leak the theme through colour.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from adfusion_edge.distill.data.adsynth import backgrounds
from adfusion_edge.distill.data.adsynth.colours import COLOUR_NAMES, RGB_T, sample_shade, shade
from adfusion_edge.distill.data.adsynth.scenario import Scenario

EMOTION_COLOURS: dict[str, dict[str, float]] = {
    "excitement": {"red": 3, "orange": 3, "yellow": 2, "pink": 1, "purple": 1, "black": 1},
    "joy": {"yellow": 3, "orange": 2, "pink": 2, "green": 1, "blue": 1, "white": 1},
    "trust": {"blue": 4, "white": 3, "green": 1, "gray": 1},
    "surprise": {"purple": 3, "pink": 2, "yellow": 1, "orange": 1, "blue": 1},
    "fear": {"black": 4, "red": 2, "gray": 2, "purple": 1},
    "anger": {"red": 4, "black": 3, "orange": 1},
    "sadness": {"gray": 3, "blue": 3, "black": 1, "purple": 1, "brown": 1},
    "calm": {"green": 3, "blue": 3, "white": 2, "brown": 1, "gray": 1},
}
AUDIENCE_COLOURS: dict[str, dict[str, float]] = {
    "kids": {"yellow": 2, "pink": 2, "orange": 1, "blue": 1},
    "gamers": {"black": 3, "purple": 2},
    "seniors": {"white": 2, "blue": 1, "brown": 1},
    "professionals": {"white": 1, "gray": 1, "blue": 1},
}
NEGATIVE_COLOURS = {"black": 2, "gray": 1.5, "brown": 1}
UNSAFE_COLOURS = {"yellow": 3, "red": 3}
CHROMATIC = ("red", "orange", "yellow", "green", "blue", "purple", "pink")
UNIFORM_SHARE = 0.25

for _d in (EMOTION_COLOURS, *AUDIENCE_COLOURS.values(), NEGATIVE_COLOURS, UNSAFE_COLOURS):
    _bad = set(_d if _d is not EMOTION_COLOURS else {c for v in _d.values() for c in v}) - set(COLOUR_NAMES)
    if _bad:
        raise RuntimeError(f"style.py: colours not in the schema: {sorted(_bad)}")


@dataclass(frozen=True)
class Palette:
    family: str  # intended background colour family
    bg_kind: str
    bg_a: RGB_T
    bg_b: RGB_T
    secondary: RGB_T  # panels
    light: RGB_T
    dark: RGB_T
    accent: RGB_T  # buttons, badges
    accent2: RGB_T
    text_dark: RGB_T
    text_light: RGB_T


def _weighted(rng: random.Random, *dicts: dict[str, float]) -> str:
    acc: dict[str, float] = {}
    for d in dicts:
        for k, v in d.items():
            acc[k] = acc.get(k, 0.0) + v
    keys = list(acc)
    return rng.choices(keys, [acc[k] for k in keys])[0]


def palette(rng: random.Random, sc: Scenario, solid_only: bool) -> Palette:
    if rng.random() < UNIFORM_SHARE:
        family = rng.choice(COLOUR_NAMES)
    else:
        extra = [AUDIENCE_COLOURS.get(sc.audience, {})]
        if sc.sentiment == "negative":
            extra.append(NEGATIVE_COLOURS)
        if sc.trust_safety == "unsafe":
            extra.append({k: v * 2 for k, v in UNSAFE_COLOURS.items()})
        family = _weighted(rng, EMOTION_COLOURS[sc.emotion], *extra)
    a = sample_shade(rng, family)
    if solid_only:
        kind = "solid"
    else:
        kind = rng.choices(backgrounds.KINDS, (30, 18, 10, 6, 5, 4, 4, 12, 8))[0]
    if kind in backgrounds.PATTERN_KINDS or kind == "texture":
        b = shade(a, rng.choice((-1, 1)) * rng.uniform(0.06, 0.2))  # subtle: text goes on top
    elif kind == "solid":
        b = a
    elif rng.random() < 0.3:
        b = sample_shade(rng, rng.choice(CHROMATIC))
    else:
        b = shade(a, rng.choice((-1, 1)) * rng.uniform(0.2, 0.45))
    acc_family = rng.choice([c for c in CHROMATIC if c != family])
    if sc.trust_safety == "unsafe" and rng.random() < 0.6:
        acc_family = rng.choice([c for c in ("red", "yellow") if c != family] or ["orange"])
    accent = sample_shade(rng, acc_family)
    accent2 = sample_shade(rng, rng.choice([c for c in CHROMATIC if c not in (family, acc_family)]))
    sec_family = rng.choice([c for c in COLOUR_NAMES if c != family])
    secondary = sample_shade(rng, sec_family) if rng.random() < 0.6 else shade(a, rng.choice((-0.35, 0.35)))
    return Palette(
        family=family, bg_kind=kind, bg_a=a, bg_b=b, secondary=secondary,
        light=shade(a, rng.uniform(0.8, 0.95)), dark=shade(a, -rng.uniform(0.75, 0.9)),
        accent=accent, accent2=accent2,
        text_dark=shade(a, -rng.uniform(0.85, 0.97)) if rng.random() < 0.5 else (rng.randint(0, 30),) * 3,
        text_light=shade(a, rng.uniform(0.9, 0.98)) if rng.random() < 0.5 else (255, 255, 255),
    )
