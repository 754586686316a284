"""Detectors for what real ad text carries: a call to action, an offer / price, numbers that are not prices.

Used twice: to measure those rates on the real ad text (``distill.data.realtext_priors``), which
AdSynth's copy and label priors are set to, and to pick *negatives* from real text (a line with
no CTA and no offer is a real ``cta = none`` / ``monetary = none`` example).

The patterns are English (the real text corpora are English). They lean towards *finding* a
CTA / offer: a negative must really be one, so a borderline line ("Visit us") counts as a CTA.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Calls to action: the schema's CTA phrases plus the generic ones real ads use ("visit", "follow us").
_CTA_VOCAB = (
    r"buy (?:it |them |one |yours )?(?:now|today|online)", r"order (?:now|today|online|yours)", r"shop (?:now|today|online|the)",
    r"sign up", r"register (?:now|today)", r"learn more", r"find out (?:more|how)", r"read more", r"discover more",
    r"download(?: now| the app| it| today)?", r"get the app", r"book (?:now|today|online|your)", r"reserve (?:now|today|your)",
    r"call (?:now|today|us|toll[- ]free|1-?800)", r"subscribe", r"donate", r"support us", r"get started",
    r"start (?:now|today|your free)", r"try (?:it )?(?:for )?free", r"free trial", r"apply (?:now|today|online)",
)
_CTA_GENERIC = (
    r"visit (?:us|our|www|the|\w+\.com)", r"click (?:here|now|the|to)", r"follow(?: us)?!", r"follow us", r"like (?:us|our page)",
    r"join (?:us|now|today|the)", r"share (?:this|if)", r"go to \w+\.\w+", r"see (?:store|dealer)", r"ask your (?:doctor|dealer)",
    r"stop by", r"come in", r"get yours", r"pick (?:one|yours) up", r"act now", r"don'?t miss",
)
CTA_RE = re.compile(r"\b(?:" + "|".join(_CTA_VOCAB + _CTA_GENERIC) + r")", re.I)
CTA_VOCAB_RE = re.compile(r"\b(?:" + "|".join(_CTA_VOCAB) + r")", re.I)

_CUR = r"(?:[$€£¥]\s?\d[\d,.]*|\d[\d,.]*\s?(?:€|eur|usd|dollars?|cents?|¢|rub(?:les)?)\b)"
PRICE_RE = re.compile(_CUR, re.I)
PERCENT_OFF_RE = re.compile(r"\d{1,2}\s?%\s?(?:off|discount|savings?)|(?:save|up to|extra)\s\d{1,2}\s?%|-\d{1,2}\s?%", re.I)
FREE_OFFER_RE = re.compile(r"\bfree (?:shipping|delivery|gift|sample|trial|returns|consultation|estimate|quote)|\bfor free\b"
                           r"|\bbuy (?:one|1|2|two),? get (?:one|1)|\bbogo\b|\b2 for 1\b|\bcash ?back\b", re.I)
SALE_RE = re.compile(r"\b(?:sale|discount|coupon|clearance|rebate)\b|\bspecial offer\b|\b\d+ off\b", re.I)

# Numbers that are not prices, by kind (first match wins per number).
_YEAR = re.compile(r"\b(?:1[89]\d\d|20[0-4]\d)\b")
_PHONE = re.compile(r"\b1?[-. ]?\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4}\b|\b1-800-[A-Z0-9-]{4,}\b", re.I)
_DATE = re.compile(r"\b\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b"
                   r"|\b\d{1,2}(?:st|nd|rd|th)\b", re.I)
_PERCENT = re.compile(r"\d[\d,.]*\s?%")
_MODEL = re.compile(r"\b[A-Z]+-?\d+[A-Z0-9]*\b|\b\d+[A-Z]{1,3}\b")
_NUMBER = re.compile(r"\d[\d,.]*")


@dataclass(frozen=True)
class TextFacts:
    """What one text carries (see the module docstring)."""

    cta: bool
    cta_vocab: bool  # a CTA the schema's vocabulary names (buy now, learn more, ...)
    offer: bool  # price, percent off, free offer / bogo / cashback, or a sale word
    price: bool
    non_price_numbers: tuple[str, ...]  # kinds: year, phone, date, percent, model, other


def non_price_number_kinds(text: str) -> tuple[str, ...]:
    """Kinds of the numbers in ``text`` that are not part of a price or percent-off mention."""
    masked = text
    for rx in (PRICE_RE, PERCENT_OFF_RE):
        masked = rx.sub(lambda m: " " * len(m.group(0)), masked)
    kinds: list[str] = []
    for kind, rx in (("phone", _PHONE), ("date", _DATE), ("year", _YEAR), ("percent", _PERCENT), ("model", _MODEL)):
        for m in rx.finditer(masked):
            kinds.append(kind)
            masked = masked[: m.start()] + " " * (m.end() - m.start()) + masked[m.end():]
    kinds += ["other"] * len(_NUMBER.findall(masked))
    return tuple(kinds)


def facts(text: str) -> TextFacts:
    """Detect CTA / offer / non-price numbers in one text."""
    price = bool(PRICE_RE.search(text))
    offer = price or bool(PERCENT_OFF_RE.search(text) or FREE_OFFER_RE.search(text) or SALE_RE.search(text))
    return TextFacts(cta=bool(CTA_RE.search(text)), cta_vocab=bool(CTA_VOCAB_RE.search(text)), offer=offer,
                     price=price, non_price_numbers=non_price_number_kinds(text))
