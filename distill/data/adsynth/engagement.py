"""Latent engagement model: attention, CTR and shares from the creative's measured attributes.

Features (each in [0, 1] unless noted), measured on the rendered ad:

    cta        1 if a CTA button was drawn
    offer      offer strength of the drawn monetary mention (0 none ... 0.85 bogo, percent scales
               with the percentage; offers.mention)
    contrast   ln(headline contrast ratio) / ln(21)
    text_size  clip((headline px / canvas side - 0.05) / 0.10, 0, 1)
    clutter    min(decorations / 12, 1)
    picture    min(total object box area / canvas area / 0.25, 1)
    match      theme-audience match: 1 affine, 0.5 general, 0 off-target
    arousal    emotion arousal: excitement 1, surprise .9, anger .8, fear .7, joy .6, trust .3,
               sadness .3, calm .1
    valence    sentiment: +1 positive, 0 neutral, -1 negative
    youth      1 for kids / teens / young_adults / gamers audiences
    sensitive, unsafe   trust_safety indicators

Model (e ~ Normal(0, sigma), independent per head, drawn from the ad's own RNG):

    attention_z = -1.45 + 1.1 contrast + 1.0 text_size + 0.9 arousal + 0.6 picture
                  - 1.0 clutter + 0.3 cta + e_a                      (sigma_a = 0.30)
    ctr_z       = -5.85 + 0.7 cta + 1.2 offer + 0.6 match + 0.35 attention_z + 0.25 valence
                  - 1.0 unsafe - 0.3 sensitive - 0.4 clutter + e_c     (sigma_c = 0.30)
    ctr_value   = clip(sigmoid(ctr_z), 0.001, 0.15)
    shares_z    = -1.0 + 1.2 arousal + 0.4 |valence| + 0.6 youth + 0.6 sensitive
                  + 0.4 attention_z - 0.6 offer + e_s                (sigma_s = 0.35)

Buckets use fixed thresholds (THRESHOLDS), set to the tertiles of a 6k-ad sample under the
default SynthConfig (real-text copy priors: few CTAs and offers, so CTRs are low), so classes are
roughly balanced: low < t1 <= medium < t2 <= high. Re-derive them whenever the copy priors or the
model change: ``python -m adfusion_edge.distill.data.adsynth.derive_thresholds --n 6000``. Latent scores and features are
stored in the record's meta (``engagement``).
"""

from __future__ import annotations

import math
import random

from adfusion_edge import schema

AROUSAL: dict[str, float] = {"excitement": 1.0, "surprise": 0.9, "anger": 0.8, "fear": 0.7, "joy": 0.6, "trust": 0.3,
                             "sadness": 0.3, "calm": 0.1}
VALENCE: dict[str, float] = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}
YOUTH = ("kids", "teens", "young_adults", "gamers")
SIGMA = {"attention": 0.30, "ctr": 0.30, "shares": 0.35}
# (t1, t2) per head on attention_z, ctr_value and shares_z (derive_thresholds.py, --n 6000 --seed 7919).
THRESHOLDS: dict[str, tuple[float, float]] = {
    "attention": (-0.05, 0.41),
    "ctr": (0.0042, 0.007),
    "shares": (-0.011, 0.687),
}

if set(AROUSAL) != set(schema.head("emotion").labels) or set(VALENCE) != set(schema.head("sentiment").labels):
    raise RuntimeError("engagement.py: AROUSAL/VALENCE must cover the schema's emotions/sentiments")
if not set(YOUTH) <= set(schema.head("audience").labels):
    raise RuntimeError("engagement.py: YOUTH names unknown audiences")


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def bucket(head: str, value: float) -> str:
    t1, t2 = THRESHOLDS[head]
    labels = schema.head(head).labels
    return labels[0] if value < t1 else labels[1] if value < t2 else labels[2]


def features(*, cta: bool, offer: float, headline_contrast: float, headline_px: int, size: int, clutter: int,
             picture_area: float, match: float, emotion: str, sentiment: str, audience: str,
             trust_safety: str) -> dict[str, float]:
    return {
        "cta": 1.0 if cta else 0.0,
        "offer": float(offer),
        "contrast": min(1.0, math.log(max(1.0, headline_contrast)) / math.log(21.0)),
        "text_size": min(1.0, max(0.0, (headline_px / size - 0.05) / 0.10)),
        "clutter": min(1.0, clutter / 12.0),
        "picture": min(1.0, picture_area / 0.25),
        "match": float(match),
        "arousal": AROUSAL[emotion],
        "valence": VALENCE[sentiment],
        "youth": 1.0 if audience in YOUTH else 0.0,
        "sensitive": 1.0 if trust_safety == "sensitive" else 0.0,
        "unsafe": 1.0 if trust_safety == "unsafe" else 0.0,
    }


def latent(f: dict[str, float], rng: random.Random) -> dict[str, float]:
    """Latent scores and the continuous CTR for features ``f`` (see the module docstring)."""
    att = (-1.45 + 1.1 * f["contrast"] + 1.0 * f["text_size"] + 0.9 * f["arousal"] + 0.6 * f["picture"]
           - 1.0 * f["clutter"] + 0.3 * f["cta"] + rng.gauss(0, SIGMA["attention"]))
    ctr_z = (-5.85 + 0.7 * f["cta"] + 1.2 * f["offer"] + 0.6 * f["match"] + 0.35 * att + 0.25 * f["valence"]
             - 1.0 * f["unsafe"] - 0.3 * f["sensitive"] - 0.4 * f["clutter"] + rng.gauss(0, SIGMA["ctr"]))
    shares = (-1.0 + 1.2 * f["arousal"] + 0.4 * abs(f["valence"]) + 0.6 * f["youth"] + 0.6 * f["sensitive"]
              + 0.4 * att - 0.6 * f["offer"] + rng.gauss(0, SIGMA["shares"]))
    ctr = min(0.15, max(0.001, _sigmoid(ctr_z)))
    return {"attention_z": att, "ctr_z": ctr_z, "shares_z": shares, "ctr_value": ctr}


def labels(z: dict[str, float]) -> dict[str, str]:
    return {
        "attention": bucket("attention", z["attention_z"]),
        "ctr": bucket("ctr", z["ctr_value"]),
        "shares": bucket("shares", z["shares_z"]),
    }
