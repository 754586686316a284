"""The ``keywords`` label: which vocabulary keywords (schema.KEYWORDS) an ad actually expresses.

Rule (applied to the finished ad, so it is true of what is rendered):

1. Text: keyword ``k`` is on if one of its surface forms occurs in the ad ``text`` as a whole
   word or phrase, case-insensitively. Forms: ``k`` with "_" read as a space ("test drive"), its
   plural (+s / +es), and the extra forms in EXTRA_FORMS ("voting" -> vote). OVERRIDE_FORMS
   replaces the automatic forms where they would misfire ("Book Now" must not mean ``books``).
   The CTA button is part of the text: "Support Us" expresses ``support``.
2. Offer type: the monetary label adds OFFER_KEYWORDS (percent_off and discount -> discount,
   bogo -> deal, cashback -> cashback, free -> free).
3. Shown product: each drawn object class adds OBJECT_KEYWORDS (pizza -> pizza, plane -> flight,
   lotion -> skincare, ...). Decorations and abstract shapes add nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from adfusion_edge import schema

EXTRA_FORMS: dict[str, tuple[str, ...]] = {
    "drive": ("driving",), "bike": ("bicycle", "bicycles"), "travel": ("traveling", "travelling", "travelers"),
    "bank": ("banking",), "invest": ("investing", "investment", "investments"), "cashback": ("cash back",),
    "health": ("healthy",), "vitamins": ("vitamin",), "tickets": ("ticket",), "streaming": ("stream",),
    "vote": ("voting", "voter", "voters"), "rally": ("rallies",), "learn": ("learning",),
    "launch": ("launching",), "headphones": ("headphone",), "smartwatch": ("smartwatches",),
    "gaming": ("gamer", "gamers"), "sneakers": ("sneaker",), "save": ("saving",),
    "donate": ("donation", "donations"), "support": ("supporting",), "guaranteed": ("guarantee",),
    "premiere": ("premieres",), "delivery": ("deliveries",),
}
OVERRIDE_FORMS: dict[str, tuple[str, ...]] = {
    "books": ("books", "ebook", "ebooks", "textbook", "textbooks"),
    "new": ("new",),
}
OFFER_KEYWORDS: dict[str, str] = {
    "percent_off": "discount", "discount": "discount", "bogo": "deal", "cashback": "cashback", "free": "free",
}
OBJECT_KEYWORDS: dict[str, str] = {
    "pizza": "pizza", "burger": "burger", "coffee": "coffee", "cake": "dessert", "phone": "smartphone",
    "laptop": "laptop", "headphones": "headphones", "camera": "camera", "watch": "smartwatch",
    "game_controller": "gaming", "car": "car", "bicycle": "bike", "plane": "flight", "suitcase": "travel",
    "dress": "dress", "handbag": "handbag", "sunglasses": "sunglasses", "lipstick": "lipstick",
    "lotion": "skincare", "house": "home", "sofa": "sofa", "credit_card": "credit_card", "book": "books",
    "graduation_cap": "degree", "stethoscope": "doctor", "ballot_box": "vote", "ticket": "tickets",
    "clapperboard": "movie", "gift": "gift", "music_note": "music",
}


def _check() -> None:
    kw, objs = set(schema.KEYWORDS), set(schema.OBJECTS)
    bad = (set(EXTRA_FORMS) | set(OVERRIDE_FORMS) | set(OFFER_KEYWORDS.values()) | set(OBJECT_KEYWORDS.values())) - kw
    bad |= set(OBJECT_KEYWORDS) - objs
    bad |= set(OFFER_KEYWORDS) - set(schema.head("monetary").labels)
    if bad:
        raise RuntimeError(f"keywords.py names labels that are not in the schema: {sorted(bad)}")


_check()


def forms(keyword: str) -> tuple[str, ...]:
    if keyword in OVERRIDE_FORMS:
        return OVERRIDE_FORMS[keyword]
    base = keyword.replace("_", " ")
    plural = base + ("es" if base.endswith(("s", "x", "ch", "sh")) else "s")
    return (base, plural) + EXTRA_FORMS.get(keyword, ())


_TOKEN = re.compile(r"[a-z0-9]+")
_MAX_N = 3  # longest form in words


def _norm(s: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(s.lower()))


@lru_cache(maxsize=1)
def _form_index() -> dict[tuple[str, ...], frozenset[str]]:
    """Tokenised surface form -> keywords it expresses."""
    idx: dict[tuple[str, ...], set[str]] = {}
    for k in schema.KEYWORDS:
        for f in forms(k):
            toks = _norm(f)
            if not 0 < len(toks) <= _MAX_N:
                raise RuntimeError(f"keyword form {f!r} must have 1..{_MAX_N} words")
            idx.setdefault(toks, set()).add(k)
    return {t: frozenset(v) for t, v in idx.items()}


def text_keywords(text: str) -> set[str]:
    """Keywords expressed by the words of ``text`` (rule 1).

    Words are the lower-cased runs of ASCII letters and digits, so "E-Bike" holds "bike" and
    matching is by whole word / word sequence (equivalent to a case-insensitive \\b...\\b search).
    """
    idx = _form_index()
    toks = _norm(text)
    found: set[str] = set()
    for n in range(1, _MAX_N + 1):
        for i in range(len(toks) - n + 1):
            hit = idx.get(toks[i : i + n])
            if hit:
                found |= hit
    return found


def ad_keywords(text: str, monetary: str, objects: Iterable[str]) -> list[str]:
    """The full rule; returned in schema order."""
    found = text_keywords(text)
    if monetary in OFFER_KEYWORDS:
        found.add(OFFER_KEYWORDS[monetary])
    found |= {OBJECT_KEYWORDS[o] for o in objects if o in OBJECT_KEYWORDS}
    return [k for k in schema.KEYWORDS if k in found]
