"""``generate_ad(cfg, split, index) -> AdRecord``: one complete, labelled synthetic ad.

Deterministic per (cfg, split, index): all randomness comes from one ``random.Random`` seeded with
a hash of (seed, split, index), so any ad can be regenerated alone, in any process, in any order.

Pipeline: scenario (labels to express) -> layout plan -> palette -> copy -> render -> labels
measured on the result -> JPEG. Labels that depend on what was drawn are computed afterwards:

* text: the drawn text blocks in reading order (render.reading_order: rows top-to-bottom,
  left-to-right within a row), joined with "\\n"; a block's wrapped lines are joined with " ".
* monetary / monetary_span: the drawn offer's type and the exact character span of its mention.
* cta: the drawn button's label (none if no button).
* objects: classes of the drawn object sprites; keywords: keywords.ad_keywords.
* dominant_colour: colours.dominant_colour of the final rendered pixels (before JPEG).
* attention / ctr / shares / ctr_value: engagement.py on measured attributes.
* theme, sentiment, emotion, audience, trust_safety: the scenario's, expressed by the copy and
  styling (compose.py, style.py).

``meta`` records the provenance: layout, fonts, modality (both / picture_only / text_only),
background kind, colour family and shares, clutter, text contrast, dropped blocks, engagement
features and latent scores.
"""

from __future__ import annotations

import hashlib
import io
import random

from adfusion_edge import schema
from adfusion_edge.distill.data.adsynth import (
    colours,
    compose,
    engagement,
    fonts,
    keywords,
    layouts,
    render,
    scenario,
    style,
)
from adfusion_edge.distill.data.adsynth.config import SPLITS, SynthConfig
from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.errors import ConfigError

OBJECT_ORDER = {o: i for i, o in enumerate(schema.OBJECTS)}
DESIGN_MIN = 320  # canvases smaller than this are rendered at this size, then downscaled


def ad_seed(seed: int, split: str, index: int) -> int:
    """Stable 64-bit seed of one ad (independent of Python's hash randomisation)."""
    digest = hashlib.blake2b(f"adsynth/{seed}/{split}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def ad_id(split: str, index: int) -> str:
    return f"{split}-{index:09d}"


def generate_ad(cfg: SynthConfig, split: str, index: int) -> AdRecord:
    if split not in SPLITS:
        raise ConfigError(f"split: {split!r} is not one of {', '.join(SPLITS)}")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ConfigError(f"index: must be a non-negative integer, got {index!r}")
    rng = random.Random(ad_seed(cfg.seed, split, index))
    sc = scenario.sample(rng, cfg, split)
    # Small canvases are designed at DESIGN_MIN px and downscaled, so layouts keep legible proportions.
    design = max(cfg.size, DESIGN_MIN)
    plan = layouts.make(sc.layout, rng, design)
    pal = style.palette(rng, sc, plan.solid_only)
    cp = compose.compose(rng, sc, plan, cfg.p_number)
    heading, body = fonts.family(sc.heading_font), fonts.family(sc.body_font)
    out = render.render(rng, design, plan, pal, cp, sc, heading, body, cfg.max_clutter)
    if design != cfg.size:
        render.downscale(out, cfg.size)

    dom, shares = colours.dominant_colour(out.image)  # the final rendered pixels
    blocks = render.reading_order(out.blocks)
    parts: list[str] = []
    pos = 0
    span = None
    for b in blocks:
        if b.role == "offer" and cp.offer is not None:
            offer = cp.offer if b.text == cp.offer.text else cp.offer_compact
            assert offer is not None and b.text == offer.text
            span = (pos + offer.start, pos + offer.start + len(offer.mention))
        parts.append(b.text)
        pos += len(b.text) + 1
    text = "\n".join(parts)
    roles = {b.role: b for b in blocks}
    monetary = cp.offer.label if "offer" in roles and cp.offer is not None else "none"
    if monetary == "none":
        span = None
    cta = sc.cta if "cta" in roles else "none"
    drawn = sorted({label for label, _ in out.objects}, key=OBJECT_ORDER.__getitem__)

    buf = io.BytesIO()
    out.image.save(buf, "JPEG", quality=cfg.jpeg_quality)
    jpeg = buf.getvalue()
    head = roles.get("headline") or roles.get("hook")
    feats = engagement.features(
        cta=cta != "none", offer=cp.offer.strength if monetary != "none" and cp.offer else 0.0,
        headline_contrast=head.contrast if head else 1.0, headline_px=head.px if head else 0, size=cfg.size,
        clutter=out.clutter, picture_area=out.picture_area, match=scenario.audience_match(sc.theme, sc.audience),
        emotion=sc.emotion, sentiment=sc.sentiment, audience=sc.audience, trust_safety=sc.trust_safety,
    )
    z = engagement.latent(feats, rng)
    labels = {
        "theme": sc.theme, "sentiment": sc.sentiment, "emotion": sc.emotion,
        "keywords": keywords.ad_keywords(text, monetary, drawn), "monetary": monetary, "cta": cta,
        "objects": drawn, "dominant_colour": dom, "trust_safety": sc.trust_safety, "audience": sc.audience,
        **engagement.labels(z),
    }

    top = shares.argsort()[::-1][:3]
    meta = {
        "generator": "adsynth", "split": split, "index": index, "seed": cfg.seed, "size": cfg.size,
        "layout": sc.layout, "fonts": sorted({sc.heading_font, sc.body_font}),
        "heading_font": sc.heading_font, "body_font": sc.body_font, "modality": sc.modality,
        "background": pal.bg_kind, "colour_family": pal.family,
        "colour_shares": {colours.COLOUR_NAMES[i]: round(float(shares[i]), 4) for i in top},
        "clutter": out.clutter, "dropped": out.dropped,
        "intended": {"cta": sc.cta, "monetary": sc.monetary},
        "contrast": {b.role: round(b.contrast, 2) for b in blocks},
        "text_px": {b.role: b.px for b in blocks},
        "engagement": {"features": {k: round(v, 4) for k, v in feats.items()},
                       **{k: round(v, 5) for k, v in z.items()}},
    }
    return AdRecord(
        id=ad_id(split, index), image=jpeg, text=text, labels=labels, monetary_span=span,
        ctr_value=round(z["ctr_value"], 6),
        text_boxes=[{"text": b.text, "box": list(b.box), "role": b.role, "style": b.style,
                     "lines": [{"text": t, "box": list(lb)} for t, lb in zip(b.lines, b.line_boxes, strict=True)]}
                    for b in blocks],
        object_boxes=[{"label": label, "box": list(box)} for label, box in out.objects],
        meta=meta,
    )
