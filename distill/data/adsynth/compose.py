"""The ad's copy: which words go in which text block, expressing the sampled labels.

How labels are expressed in words:
  * emotion (+ sentiment): the ``hook`` line comes from copybank.HOOKS[emotion][sentiment];
  * sentiment: also a body sentence from SENTIMENT_LINES[sentiment];
  * audience: a body sentence from AUDIENCE_LINES (general: "For everyone." half the time,
    else nothing); small print when the layout has no body;
  * trust_safety: sensitive -> advocacy headline (politics) and a sensitive small-print line;
    unsafe -> a scam headline and a scam body line ("!!!", "guaranteed", "urgent");
  * theme: product name in the headline and a theme body sentence, except picture-only ads
    (GENERIC_* copy, theme-revealing audience lines dropped, neutral CTA and offer wording).
Blocks that cannot fit their slot are shortened or dropped by the renderer; the record's labels
are computed from what was actually drawn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from adfusion_edge.distill.data.adsynth import copybank as cb
from adfusion_edge.distill.data.adsynth import offers, real_priors
from adfusion_edge.distill.data.adsynth.layouts import Plan
from adfusion_edge.distill.data.adsynth.scenario import Scenario


@dataclass
class Copy:
    hook: list[str]  # candidates, preferred first
    headline: list[str]
    body: list[tuple[str, int]]  # (sentence, keep priority: higher is dropped last), reading order
    offer: offers.Offer | None
    offer_compact: offers.Offer | None  # the mention alone, fallback when the block does not fit
    cta: str | None
    legal: list[str]  # small-print candidates, preferred first (empty: none)
    product: tuple[str, str]  # (name, object class)
    objects: list[str] = field(default_factory=list)  # object classes to draw, main first


def _case(rng: random.Random, s: str, p_upper: float) -> str:
    return s.upper() if rng.random() < p_upper else s


def compose(rng: random.Random, sc: Scenario, plan: Plan, p_number: float = 0.0) -> Copy:
    """The copy of one ad; ``p_number``: chance of a body line with a non-price number (real_priors)."""
    generic = sc.modality == "picture_only"
    theme = sc.theme
    product = rng.choice(cb.PRODUCTS[theme])
    # Fallbacks (shorter texts) keep what the headline expresses: scam stays scam, advocacy stays advocacy.
    if sc.trust_safety == "unsafe":
        pool = (cb.SCAM_HEADLINES.get(theme, []) if not generic else []) + cb.GENERIC_SCAM_HEADLINES
        headline = rng.choice(pool if rng.random() < 0.6 else cb.GENERIC_SCAM_HEADLINES)
        short = [min(pool, key=len)]
    elif theme == "politics" and sc.trust_safety == "sensitive" and not generic:
        headline = rng.choice(cb.ADVOCACY_HEADLINES)
        short = [min(cb.ADVOCACY_HEADLINES, key=len)]
    elif generic:
        headline = rng.choice(cb.GENERIC_HEADLINES)
        short = [min(cb.GENERIC_HEADLINES, key=len)]
    else:
        headline = rng.choice(cb.HEADLINES[theme]).format(p=product[0])
        short = [product[0], min(cb.GENERIC_HEADLINES, key=len)]
    upper = rng.random() < 0.25
    headlines = [h.upper() if upper else h for h in dict.fromkeys([headline, *short])]

    hooks = cb.HOOKS[sc.emotion][sc.sentiment]
    hook = rng.choice(hooks)
    hook_alts = sorted(hooks, key=len)[:1]
    up_hook = rng.random() < 0.15
    hook_list = [h.upper() if up_hook else h for h in dict.fromkeys([hook, *hook_alts])]

    body: list[tuple[str, int]] = []
    if sc.trust_safety == "unsafe":
        body.append((rng.choice(cb.SCAM_BODY), 4))
    body.append((rng.choice(cb.GENERIC_BODY if generic else cb.BODY[theme]), 1))
    body.append((rng.choice(cb.SENTIMENT_LINES[sc.sentiment]), 3))
    audience_line = None
    if not (generic and sc.audience in cb.THEME_REVEALING_AUDIENCES):
        if sc.audience != "general" or rng.random() < 0.5:
            audience_line = rng.choice(cb.AUDIENCE_LINES[sc.audience])
    if audience_line:
        body.append((audience_line, 2))
    if p_number and rng.random() < p_number:
        # Real copy is full of numbers that are not prices (years, models, dates, phones): the
        # monetary head must learn that "Since 1921" or "800% more followers" is no offer.
        body.append((real_priors.number_phrase(rng)[1], 2))

    offer = compact = None
    if sc.monetary != "none":
        badge = plan.slots["offer"].style == "circle"
        offer = offers.make_offer(rng, sc.monetary, theme, generic, compact=badge, obj=product[1])
        compact = offers.Offer(offer.label, offer.mention, offer.mention, 0, offer.strength)

    cta = offers.cta_text(rng, sc.cta) if sc.cta != "none" else None

    legal: list[str] = []
    if sc.trust_safety == "sensitive":
        pool = cb.SENSITIVE_LINES.get(theme, []) if not generic else []
        pool = pool or cb.GENERIC_SENSITIVE
        legal = [rng.choice(pool), min(pool, key=len)]
    elif sc.trust_safety == "unsafe" and "body" not in plan.slots:
        legal = [body[0][0], min(cb.SCAM_BODY, key=len)]  # the scam line must show somewhere
    elif "body" not in plan.slots and audience_line:
        legal = [audience_line]
    elif sc.trust_safety == "safe" and rng.random() < 0.35:
        legal = [rng.choice(cb.LEGAL_SAFE)]
    legal = list(dict.fromkeys(legal))

    objects: list[str] = []
    if sc.modality != "text_only":
        main = product[1] if not generic else rng.choice(cb.PRODUCTS[theme])[1]
        pool = [o for o in dict.fromkeys([p[1] for p in cb.PRODUCTS[theme]] + list(cb.EXTRA_OBJECTS[theme]))
                if o != main]
        rng.shuffle(pool)
        objects = [main, *pool]
    return Copy(hook_list, headlines, body, offer, compact, cta, legal, product, objects)
