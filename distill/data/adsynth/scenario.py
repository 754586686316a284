"""What an ad is about, before it is drawn: theme, modality and the sampled semantic labels.

Sampling order and priors (weights below; every label keeps a small floor so all combinations
occur):

* theme: uniform over schema.THEMES.
* modality: ``picture_only`` (generic copy, cfg.generic_copy_share), ``text_only`` (generic
  picture, cfg.generic_picture_share), else ``both``.
* trust_safety | theme: politics is mostly sensitive, finance/health have more sensitive and
  unsafe (scam) ads, other themes are mostly safe.
* emotion | theme (unsafe ads: excitement / surprise / fear / joy), then sentiment | emotion
  (joy, excitement -> positive; fear, anger, sadness -> negative; trust, calm -> positive or
  neutral; surprise -> any).
* audience | theme: the theme's affinity audiences 85% of the time, any audience 15%
  (off-target ads; the engagement model penalises the mismatch).
* cta: a button on cfg.p_cta of the ads (real_priors.P_CTA, measured on real ad text: most real
  ads have none), its label | theme (picture-only ads use theme-neutral CTAs).
* monetary: an offer on cfg.p_offer of the ads (real_priors.P_OFFER), its type | theme; with
  ``p_offer=None`` the earlier per-theme weights including ``none`` (MONETARY_PRIOR).
* layout and fonts: uniform over the split's (in-distribution or held-out) lists.

How the labels are *expressed* (so they are learnable) is in compose.py and style.py.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from adfusion_edge import schema
from adfusion_edge.distill.data.adsynth.config import SynthConfig

EMOTIONS = schema.head("emotion").labels
AUDIENCES = schema.head("audience").labels
SAFETY = schema.head("trust_safety").labels

EMOTION_PRIOR: dict[str, dict[str, float]] = {
    "food": {"joy": 3, "excitement": 2, "calm": 1, "surprise": 1, "trust": 1},
    "technology": {"excitement": 3, "surprise": 2, "trust": 2, "joy": 1, "fear": 0.5},
    "fashion": {"excitement": 2, "joy": 2, "surprise": 1, "calm": 1, "trust": 0.5},
    "beauty": {"calm": 2, "joy": 2, "trust": 2, "excitement": 1, "surprise": 0.5},
    "automotive": {"excitement": 3, "trust": 2, "calm": 1, "fear": 0.5},
    "travel": {"joy": 2, "calm": 3, "excitement": 2, "surprise": 1},
    "finance": {"trust": 3, "fear": 2, "calm": 1, "anger": 1},
    "health": {"trust": 2, "fear": 2, "calm": 2, "sadness": 0.5, "joy": 0.5},
    "entertainment": {"excitement": 3, "surprise": 2, "joy": 2, "fear": 1},
    "politics": {"anger": 2, "fear": 2, "trust": 2, "sadness": 1, "excitement": 1},
    "education": {"trust": 2, "excitement": 1, "joy": 1, "calm": 1, "fear": 0.5},
    "home": {"calm": 3, "joy": 2, "trust": 2, "sadness": 0.3},
}
EMOTION_FLOOR = 0.5  # added to every emotion's weight: rare emotions stay learnable
UNSAFE_EMOTIONS = {"excitement": 3, "surprise": 2, "fear": 2, "joy": 1}
SENTIMENT_GIVEN_EMOTION: dict[str, dict[str, float]] = {
    "joy": {"positive": 0.85, "neutral": 0.15}, "excitement": {"positive": 0.85, "neutral": 0.15},
    "trust": {"positive": 0.6, "neutral": 0.4}, "surprise": {"positive": 0.6, "neutral": 0.25, "negative": 0.15},
    "fear": {"negative": 0.8, "neutral": 0.2}, "anger": {"negative": 0.85, "neutral": 0.15},
    "sadness": {"negative": 0.75, "neutral": 0.25}, "calm": {"positive": 0.55, "neutral": 0.45},
}
SAFETY_PRIOR: dict[str, tuple[float, float, float]] = {  # safe, sensitive, unsafe
    "politics": (0.30, 0.62, 0.08), "finance": (0.65, 0.22, 0.13), "health": (0.62, 0.26, 0.12),
    "entertainment": (0.80, 0.15, 0.05), "beauty": (0.85, 0.10, 0.05), "technology": (0.88, 0.04, 0.08),
}
DEFAULT_SAFETY = (0.92, 0.04, 0.04)
AUDIENCE_AFFINITY: dict[str, dict[str, float]] = {
    "food": {"food_lovers": 4, "general": 2, "parents": 1.5, "young_adults": 1, "kids": 1},
    "technology": {"tech_enthusiasts": 4, "professionals": 2, "gamers": 2, "young_adults": 1.5, "teens": 1},
    "fashion": {"fashion_followers": 4, "young_adults": 2, "teens": 1.5, "general": 0.5},
    "beauty": {"young_adults": 2, "fashion_followers": 2, "general": 1.5, "seniors": 0.5},
    "automotive": {"professionals": 2, "parents": 2, "general": 1.5, "young_adults": 1},
    "travel": {"travelers": 4, "young_adults": 1.5, "seniors": 1.5, "parents": 1},
    "finance": {"professionals": 3, "seniors": 2, "young_adults": 1.5, "general": 1},
    "health": {"seniors": 3, "general": 2, "parents": 1.5, "professionals": 0.5},
    "entertainment": {"teens": 2, "young_adults": 2, "gamers": 1.5, "kids": 1, "general": 1.5},
    "politics": {"citizens": 6, "seniors": 1, "general": 1},
    "education": {"young_adults": 3, "parents": 2, "professionals": 1.5, "teens": 1.5, "kids": 1},
    "home": {"parents": 3, "general": 2, "seniors": 1.5, "professionals": 1},
}
OFF_TARGET = 0.15
CTA_PRIOR: dict[str, dict[str, float]] = {
    "food": {"order_now": 4, "buy_now": 1, "shop_now": 1, "download": 0.5},
    "technology": {"buy_now": 3, "shop_now": 2, "learn_more": 1.5, "download": 1, "try_free": 1, "get_started": 0.5},
    "fashion": {"shop_now": 4, "buy_now": 2, "learn_more": 0.5},
    "beauty": {"shop_now": 3, "buy_now": 2, "try_free": 1, "learn_more": 0.5},
    "automotive": {"book_now": 2, "learn_more": 2, "call_now": 1.5, "buy_now": 0.5},
    "travel": {"book_now": 4, "learn_more": 1, "sign_up": 0.5},
    "finance": {"sign_up": 2.5, "get_started": 2, "learn_more": 2, "call_now": 1, "download": 1},
    "health": {"call_now": 2, "book_now": 2, "learn_more": 1.5, "subscribe": 1, "buy_now": 1},
    "entertainment": {"buy_now": 2, "subscribe": 2, "download": 1.5, "try_free": 1.5, "book_now": 1},
    "politics": {"donate": 3, "support_us": 3, "sign_up": 1.5, "learn_more": 1},
    "education": {"sign_up": 3, "get_started": 2, "learn_more": 2, "subscribe": 1, "try_free": 1},
    "home": {"shop_now": 3, "call_now": 1.5, "learn_more": 1.5, "buy_now": 1, "book_now": 0.5},
}
GENERIC_CTA = {"shop_now": 2, "buy_now": 2, "learn_more": 2, "sign_up": 1, "get_started": 1, "subscribe": 0.5}
MONETARY_PRIOR: dict[str, dict[str, float]] = {
    "food": {"none": 1.2, "bogo": 1.2, "percent_off": 1, "price": 1.2, "free": 1, "discount": 0.5},
    "technology": {"none": 1.2, "price": 1.5, "percent_off": 1, "discount": 1, "cashback": 0.6, "free": 0.6},
    "fashion": {"none": 1, "percent_off": 2, "free": 1, "bogo": 0.8, "price": 0.8, "discount": 0.5},
    "beauty": {"none": 1, "percent_off": 1.2, "free": 1.2, "bogo": 0.8, "price": 1},
    "automotive": {"none": 1.5, "price": 1.5, "discount": 1, "cashback": 0.6, "free": 0.5},
    "travel": {"none": 1, "price": 2, "percent_off": 1, "discount": 1, "free": 0.5},
    "finance": {"none": 1.3, "cashback": 2, "free": 1, "discount": 0.5, "price": 0.5},
    "health": {"none": 1.5, "percent_off": 1, "price": 1, "free": 1, "bogo": 0.5},
    "entertainment": {"none": 1.2, "price": 1.2, "free": 1, "percent_off": 1, "bogo": 0.5},
    "politics": {"none": 6, "free": 1},
    "education": {"none": 1.2, "price": 1, "percent_off": 1, "free": 1, "discount": 0.5, "cashback": 0.3},
    "home": {"none": 1.2, "percent_off": 1.5, "price": 1.2, "discount": 1, "free": 0.8},
}
MODALITIES = ("both", "picture_only", "text_only")


def _check() -> None:
    themes = set(schema.THEMES)
    for name, d in (("EMOTION_PRIOR", EMOTION_PRIOR), ("AUDIENCE_AFFINITY", AUDIENCE_AFFINITY),
                    ("CTA_PRIOR", CTA_PRIOR), ("MONETARY_PRIOR", MONETARY_PRIOR)):
        if set(d) != themes:
            raise RuntimeError(f"scenario.{name} keys != schema.THEMES")
    heads = {"emotion": EMOTION_PRIOR, "audience": AUDIENCE_AFFINITY, "cta": CTA_PRIOR, "monetary": MONETARY_PRIOR}
    for h, d in heads.items():
        labels = set(schema.head(h).labels)
        for sub in d.values():
            if not set(sub) <= labels:
                raise RuntimeError(f"scenario: unknown {h} labels {sorted(set(sub) - labels)}")
    if set(SENTIMENT_GIVEN_EMOTION) != set(EMOTIONS):
        raise RuntimeError("scenario.SENTIMENT_GIVEN_EMOTION keys != schema emotions")


_check()


@dataclass(frozen=True)
class Scenario:
    theme: str
    modality: str  # both | picture_only | text_only
    trust_safety: str
    emotion: str
    sentiment: str
    audience: str
    cta: str  # intended; the record's label is what is rendered
    monetary: str  # intended
    layout: str
    heading_font: str
    body_font: str


def _pick(rng: random.Random, weights: dict[str, float], floor_over: tuple[str, ...] = (), floor: float = 0.0) -> str:
    keys = list(dict.fromkeys(list(weights) + list(floor_over)))
    return rng.choices(keys, [weights.get(k, 0.0) + floor for k in keys])[0]


def sample(rng: random.Random, cfg: SynthConfig, split: str) -> Scenario:
    theme = rng.choice(schema.THEMES)
    u = rng.random()
    modality = ("picture_only" if u < cfg.generic_copy_share
                else "text_only" if u < cfg.generic_copy_share + cfg.generic_picture_share else "both")
    safety = rng.choices(SAFETY, SAFETY_PRIOR.get(theme, DEFAULT_SAFETY))[0]
    if safety == "unsafe":
        emotion = _pick(rng, UNSAFE_EMOTIONS)
    else:
        emotion = _pick(rng, EMOTION_PRIOR[theme], EMOTIONS, EMOTION_FLOOR)
    sentiment = _pick(rng, SENTIMENT_GIVEN_EMOTION[emotion])
    if rng.random() < OFF_TARGET:
        audience = rng.choice(AUDIENCES)
    else:
        audience = _pick(rng, AUDIENCE_AFFINITY[theme])
    if rng.random() >= cfg.p_cta:
        cta = "none"
    else:
        cta = _pick(rng, GENERIC_CTA if modality == "picture_only" else CTA_PRIOR[theme])
    if cfg.p_offer is None:
        monetary = _pick(rng, MONETARY_PRIOR[theme])
    elif rng.random() < cfg.p_offer:
        monetary = _pick(rng, {k: w for k, w in MONETARY_PRIOR[theme].items() if k != "none"})
    else:
        monetary = "none"
    fonts = cfg.fonts_for(split)
    heading = rng.choice(fonts)
    body = heading if rng.random() < 0.4 else rng.choice(fonts)
    return Scenario(theme, modality, safety, emotion, sentiment, audience, cta, monetary,
                    rng.choice(cfg.layouts_for(split)), heading, body)


def audience_match(theme: str, audience: str) -> float:
    """1 for a theme-affine audience, 0.5 for general, 0 for off-target (engagement model input)."""
    if audience in AUDIENCE_AFFINITY[theme] and audience != "general":
        return 1.0
    return 0.5 if audience == "general" else 0.0
