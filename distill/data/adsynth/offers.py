"""Monetary mentions (the ``monetary`` head) and call-to-action button texts (the ``cta`` head).

Each monetary type has several surface formats; every generated mention matches its type's
pattern in FORMAT_PATTERNS (tested), and the record's ``monetary_span`` covers exactly the mention:

    percent_off  "50% OFF", "-30%", "Up to 70% off", "Extra 15% off", "Save 20%"
    price        "$9.99", "Only £4.99", "From $499", "Just €19/mo", "Now $1,299"
    discount     "Save €20", "$10 off", "Get £5 off", "Save up to $200", "€15 discount"
    free         "Free shipping", "FREE delivery", "Free 30-day trial", "Free gift with purchase"
    bogo         "Buy 1 Get 1 Free", "BOGO", "2 for 1", "Buy one, get one free", "Buy 2 Get 1 Free"
    cashback     "10% cashback", "5% cash back", "$50 cashback", "Earn 3% cash back"

The offer block around the mention may add a prefix ("Flash Sale:") and a suffix ("today"),
which are outside the span. CTA labels map to button texts in CTA_TEXTS ("Order Now" -> order_now);
``cta = none`` means no button.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from adfusion_edge import schema

MONETARY: tuple[str, ...] = schema.head("monetary").labels
CTAS: tuple[str, ...] = schema.head("cta").labels

CTA_TEXTS: dict[str, tuple[str, ...]] = {
    "buy_now": ("Buy Now", "BUY NOW", "Buy now"),
    "order_now": ("Order Now", "ORDER NOW", "Order now"),
    "shop_now": ("Shop Now", "SHOP NOW", "Shop now"),
    "sign_up": ("Sign Up", "SIGN UP", "Sign up"),
    "learn_more": ("Learn More", "LEARN MORE", "Learn more"),
    "download": ("Download", "Download Now", "DOWNLOAD"),
    "book_now": ("Book Now", "BOOK NOW", "Book now"),
    "call_now": ("Call Now", "CALL NOW", "Call now"),
    "subscribe": ("Subscribe", "Subscribe Now", "SUBSCRIBE"),
    "donate": ("Donate", "Donate Now", "DONATE"),
    "support_us": ("Support Us", "SUPPORT US", "Support us"),
    "get_started": ("Get Started", "GET STARTED", "Get started"),
    "try_free": ("Try Free", "Try It Free", "Try for Free", "TRY FREE"),
}
if set(CTA_TEXTS) != set(CTAS) - {"none"}:
    raise RuntimeError(f"CTA_TEXTS must cover the schema's cta labels except none: {sorted(set(CTA_TEXTS) ^ set(CTAS))}")

# Regex of the mention of each monetary type (full match, case-insensitive).
_CUR = r"[$€£]\d{1,3}(?:,\d{3})*(?:\.\d\d)?"
FORMAT_PATTERNS: dict[str, re.Pattern[str]] = {
    "percent_off": re.compile(r"(?:(?:up to|extra|save) )?-?\d{1,2}%(?: off)?", re.I),
    "price": re.compile(rf"(?:(?:only|from|just|now) )?{_CUR}(?:/mo)?", re.I),
    "discount": re.compile(rf"(?:save (?:up to )?{_CUR}|(?:get )?{_CUR} (?:off|discount))", re.I),
    "free": re.compile(r"free\b[\w\- ]*", re.I),
    "bogo": re.compile(r"(?:buy (?:1|one|2),? get (?:1|one) free|bogo|2[- ]for[- ]1)", re.I),
    "cashback": re.compile(rf"(?:(?:earn|get) )?(?:\d{{1,2}}%|{_CUR}) cash ?back", re.I),
}
if set(FORMAT_PATTERNS) != set(MONETARY) - {"none"}:
    raise RuntimeError("FORMAT_PATTERNS must cover the schema's monetary labels except none")

# theme -> (low, high) price range in currency units, and whether "/mo" pricing is natural.
_PRICE_RANGE: dict[str, tuple[float, float, bool]] = {
    "food": (3, 30, False), "technology": (49, 1999, True), "fashion": (15, 250, False),
    "beauty": (8, 90, False), "automotive": (9999, 59999, True), "travel": (49, 999, False),
    "finance": (2, 15, True), "health": (5, 60, True), "entertainment": (5, 120, True),
    "politics": (5, 50, False), "education": (29, 999, True), "home": (99, 2999, False),
}
# Products priced unlike the rest of their theme (an e-bike is not a car).
_PRICE_BY_OBJECT: dict[str, tuple[float, float, bool]] = {
    "bicycle": (299, 2999, True), "coffee": (2, 8, False), "cake": (3, 40, False), "apple": (2, 20, False),
    "ticket": (10, 150, False), "music_note": (5, 15, True), "book": (9, 60, False), "pill": (5, 40, True),
    "sunglasses": (20, 250, False), "lipstick": (8, 40, False),
}
_FREE_THEME: dict[str, tuple[str, ...]] = {
    "food": ("Free delivery", "Free dessert", "FREE delivery"), "technology": ("Free shipping", "Free case"),
    "fashion": ("Free returns", "Free shipping"), "beauty": ("Free gift with purchase", "Free samples"),
    "automotive": ("Free first service", "Free winter tires"), "travel": ("Free cancellation", "Free breakfast"),
    "finance": ("Free checking", "Free credit report"), "health": ("Free consultation", "Free health check"),
    "entertainment": ("Free 30-day trial", "Free popcorn"), "politics": ("Free rides to the polls", "Free entry"),
    "education": ("Free first lesson", "Free textbooks"), "home": ("Free assembly", "Free delivery"),
}
_FREE_GENERIC = ("Free shipping", "Free returns", "Free gift", "Free trial", "FREE shipping", "Free 30-day trial")
_PREFIXES = ("Today only:", "Flash Sale:", "Limited time:", "This week:", "Exclusive:", "Special offer:",
             "Weekend deal:", "Hot deal:")
_SUFFIXES = ("on everything", "this weekend", "for new customers", "on your first order", "today", "sitewide",
             "on selected items", "this month")


@dataclass(frozen=True)
class Offer:
    label: str  # monetary label
    mention: str  # the span text
    text: str  # the whole offer block (prefix + mention + suffix)
    start: int  # mention's offset in ``text``
    strength: float  # 0..1, how attractive the offer is (engagement model input)


def _currency(rng: random.Random) -> str:
    return rng.choices(("$", "€", "£"), (0.6, 0.2, 0.2))[0]


def _amount(rng: random.Random, lo: float, hi: float) -> str:
    v = rng.uniform(lo, hi)
    if v >= 1000:
        return f"{int(v) // 100 * 100 - 1:,}" if rng.random() < 0.5 else f"{int(v):,}"
    if v < 100 and rng.random() < 0.6:
        return f"{int(v)}.{rng.choice(('99', '49', '95', '90'))}"
    return str(int(v))


def _range(theme: str, obj: str | None) -> tuple[float, float, bool]:
    return _PRICE_BY_OBJECT.get(obj or "", _PRICE_RANGE[theme])


def mention(rng: random.Random, label: str, theme: str, generic: bool, obj: str | None = None) -> tuple[str, float]:
    """(mention text, offer strength) of monetary type ``label`` for a ``theme`` product (object ``obj``)."""
    c = _currency(rng)
    if label == "percent_off":
        p = rng.choice((10, 15, 20, 25, 30, 40, 50, 60, 70))
        fmt = rng.choice(("{p}% OFF", "{p}% off", "-{p}%", "Up to {p}% OFF", "Extra {p}% off", "Save {p}%"))
        return fmt.format(p=p), min(0.95, 0.25 + p / 100 * (0.8 if fmt.startswith("Up") else 1.0))
    if label == "price":
        lo, hi, monthly = _range(theme, obj)
        lead = rng.choice(("", "", "Only ", "From ", "Just ", "Now "))
        per = "/mo" if monthly and rng.random() < 0.3 else ""
        if per:  # monthly plans: a fraction of the one-off price
            lo, hi = max(2.0, lo / 20), min(999.0, max(5.0, hi / 40))
        return f"{lead}{c}{_amount(rng, lo, hi)}{per}", 0.3 + (0.2 if lead.strip() in ("Only", "Just", "Now") else 0)
    if label == "discount":
        lo, hi, _ = _range(theme, obj)
        a = max(5, int(round(rng.uniform(lo, hi) * rng.uniform(0.1, 0.3) / 5)) * 5)
        fmt = rng.choice(("Save {c}{a}", "{c}{a} off", "{c}{a} OFF", "Get {c}{a} off", "Save up to {c}{a}",
                          "{c}{a} discount"))
        return fmt.format(c=c, a=f"{a:,}"), 0.55
    if label == "free":
        pool = _FREE_GENERIC if generic else _FREE_THEME[theme] + _FREE_GENERIC[:2]
        return rng.choice(pool), 0.6
    if label == "bogo":
        return rng.choice(("Buy 1 Get 1 Free", "BUY 1 GET 1 FREE", "BOGO", "2 for 1", "Buy one, get one free",
                           "Buy 2 Get 1 Free")), 0.85
    if label == "cashback":
        if rng.random() < 0.7:
            amt = f"{rng.choice((2, 3, 5, 10, 15, 20))}%"
        else:
            amt = f"{c}{rng.choice((10, 20, 25, 50, 100))}"
        fmt = rng.choice(("{a} cashback", "{a} cash back", "Earn {a} cash back", "Get {a} cashback", "{a} CASHBACK"))
        return fmt.format(a=amt), 0.45
    raise ValueError(label)


def make_offer(rng: random.Random, label: str, theme: str, generic: bool, compact: bool,
               obj: str | None = None) -> Offer:
    """An offer block; ``compact`` (badges) keeps only the mention."""
    m, strength = mention(rng, label, theme, generic, obj)
    prefix = "" if compact or rng.random() < 0.5 else rng.choice(_PREFIXES) + " "
    suffix = "" if compact or rng.random() < 0.55 else " " + rng.choice(_SUFFIXES)
    return Offer(label, m, prefix + m + suffix, len(prefix), strength)


def cta_text(rng: random.Random, label: str) -> str:
    return rng.choice(CTA_TEXTS[label])


def cta_pattern() -> re.Pattern[str]:
    """Matches any CTA button text as a whole phrase (case-insensitive)."""
    texts = sorted({t.lower() for v in CTA_TEXTS.values() for t in v}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(t) for t in texts) + r")\b", re.I)
