"""Copy and label priors measured on real ad text, and the non-price numbers real copy carries.

Measured by ``python -m adfusion_edge.distill.data.realtext_priors`` (mean of the Pitt OCR text and
the Facebook ads in ``datasets/realtext/``; figures and method in reports/real_ads/TEXT.md):
real ads mostly carry no call to action and no offer, and four in ten carry numbers that are not
prices (years, model numbers, dates, phone numbers, "800% more followers").

The constants are rounded to 2 places; a test checks them against a fresh measurement. The
priors AdSynth used before (a CTA on 88% and an offer on about 80% of ads) stay available as
``LEGACY_*`` (``SynthConfig(p_cta=LEGACY_P_CTA, p_offer=None, p_number=0.0)``).
``SynthConfig.p_number`` is the chance of the *extra* number line (P_NUMBER_LINE), see below.
"""

from __future__ import annotations

import random

P_CTA = 0.11  # share of real ads with a call to action
P_OFFER = 0.07  # share with a price or an offer (percent off, free, bogo, cashback, sale)
P_NUMBER = 0.41  # share with at least one number that is not a price
# Kinds of non-price numbers, as shares of ads (an ad can have several kinds).
NUMBER_KINDS: dict[str, float] = {"other": 0.33, "date": 0.10, "year": 0.09, "model": 0.08, "percent": 0.04,
                                  "phone": 0.01}

# AdSynth's own copy already carries non-price numbers in 12.9% of ads ("in 30 minutes", "4K Action
# Camera", "Only 3 spots left"; measured on 3,000 composed ads without extra lines), so the extra
# number line goes into (P_NUMBER - 0.129) / (1 - 0.129) of the ads: the total is then P_NUMBER.
ADSYNTH_BASE_NUMBER = 0.129
P_NUMBER_LINE = round((P_NUMBER - ADSYNTH_BASE_NUMBER) / (1 - ADSYNTH_BASE_NUMBER), 3)

LEGACY_P_CTA = 0.88  # AdSynth before the real-text priors (scenario.NO_CTA was 0.12)

_MONTHS = ("January", "March", "April", "May", "June", "September", "October", "November", "December")


def number_phrase(rng: random.Random) -> tuple[str, str]:
    """(kind, sentence) of one non-price number in real-ad style; no currency sign, no "off", no CTA words."""
    kind = rng.choices(list(NUMBER_KINDS), list(NUMBER_KINDS.values()))[0]
    if kind == "year":
        y = rng.randint(1870, 2026)
        s = rng.choice((f"Since {y}.", f"Est. {y}", f"The {y} collection.", f"Family owned since {y}.", f"Winner {y}"))
    elif kind == "model":
        s = rng.choice((f"Model {rng.choice('XSTV')}{rng.randint(1, 9)}", f"Series {rng.randint(2, 9)}",
                        f"V{rng.choice((6, 8, 12))} engine.", f"Now in {rng.choice((4, 8))}K.",
                        f"Pro {rng.randint(2, 15)} Max", f"{rng.randint(100, 900)}i edition"))
    elif kind == "date":
        m, d = rng.choice(_MONTHS), rng.randint(1, 28)
        s = rng.choice((f"Opens {m} {d}.", f"{m} {d}-{d + 2} only.", f"Until {rng.randint(1, 12)}/{d}.",
                        f"In stores {m} {d}th.", f"On air {m} {d}."))
    elif kind == "percent":
        s = rng.choice((f"{rng.choice((100, 98, 95, 99))}% natural.", f"{rng.randint(70, 99)}% of users agree.",
                        f"{rng.choice((200, 500, 800))}% more followers.", "100% cotton.", "0% sugar."))
    elif kind == "phone":
        s = rng.choice((f"Info: {rng.randint(200, 989)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
                        f"Hotline 0800 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"))
    else:
        s = rng.choice((f"Over {rng.choice((50, 200, 500, 1200))} stores.", f"Open {rng.choice((6, 7))} days a week.",
                        f"{rng.choice((3, 4, 5, 12))} flavours.", "24 hours a day.", f"{rng.randint(2, 40)} years of craft.",
                        f"No. {rng.randint(1, 99)}", f"{rng.choice((2, 3, 10))} million customers."))
    return kind, s
