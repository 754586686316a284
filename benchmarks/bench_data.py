"""Sample ads for the benchmarks: real JPEG creatives with known printed text, rendered with PIL.

The AdSynth generator makes richer creatives, but the suites only need realistic bytes (JPEG
entropy, text strokes for OCR) and known text; rendering a handful here keeps the benchmark inputs
stable while the generator's output evolves.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class AdCopy:
    """What one sample ad shows and its labels (schema names), so training steps have real targets."""

    headline: str
    cta: str
    colour: tuple[int, int, int]
    labels: dict
    money: str | None = None  # the monetary mention as printed, for the span target


def _labels(theme, sentiment, emotion, keywords, monetary, cta, objects, colour, attention, safety, audience,
            ctr, shares) -> dict:
    return {"theme": theme, "sentiment": sentiment, "emotion": emotion, "keywords": keywords,
            "monetary": monetary, "cta": cta, "objects": objects, "dominant_colour": colour,
            "attention": attention, "trust_safety": safety, "audience": audience, "ctr": ctr, "shares": shares}


AD_COPY: tuple[AdCopy, ...] = (
    AdCopy("PIZZA 50% OFF", "Order Now", (200, 40, 30), _labels(
        "food", "positive", "excitement", ["pizza", "offer", "discount"], "percent_off", "order_now", ["pizza"],
        "red", "high", "safe", "food_lovers", "high", "low"), "50% OFF"),
    AdCopy("New Smartphone $499", "Buy Now", (20, 20, 30), _labels(
        "technology", "positive", "joy", ["smartphone", "new", "launch"], "price", "buy_now", ["phone"], "black",
        "medium", "safe", "tech_enthusiasts", "medium", "high"), "$499"),
    AdCopy("Vote For Change", "Support Us", (30, 70, 160), _labels(
        "politics", "negative", "anger", ["vote", "election", "support"], "none", "support_us", ["person"], "blue",
        "high", "sensitive", "citizens", "low", "medium")),
    AdCopy("Flights From $99", "Book Now", (20, 140, 170), _labels(
        "travel", "positive", "excitement", ["flight", "travel", "deal"], "price", "book_now", ["plane"], "blue",
        "medium", "safe", "travelers", "medium", "medium"), "$99"),
    AdCopy("Glow Skincare BOGO", "Shop Now", (230, 120, 170), _labels(
        "beauty", "positive", "joy", ["skincare", "glow", "beauty"], "bogo", "shop_now", ["lotion"], "pink",
        "medium", "safe", "young_adults", "medium", "medium"), "BOGO"),
    AdCopy("Free Shipping Today", "Sign Up", (40, 130, 60), _labels(
        "fashion", "positive", "trust", ["free", "shipping", "today"], "free", "sign_up", ["shoe"], "green", "low",
        "safe", "general", "low", "low"), "Free Shipping"),
    AdCopy("10% Cashback Card", "Learn More", (90, 60, 140), _labels(
        "finance", "neutral", "trust", ["cashback", "credit_card", "bank"], "cashback", "learn_more",
        ["credit_card"], "purple", "low", "safe", "professionals", "low", "low"), "10% Cashback"),
    AdCopy("Learn To Code Online", "Get Started", (240, 170, 20), _labels(
        "education", "positive", "calm", ["learn", "online_class", "course"], "none", "get_started", ["laptop"],
        "yellow", "medium", "safe", "young_adults", "medium", "medium")),
)


@dataclass(frozen=True)
class SampleAd:
    """One rendered ad: JPEG bytes, the text printed on it (what OCR should read) and its labels."""

    jpeg: bytes
    text: str
    size: int
    ad_copy: AdCopy

    def record(self, index: int = 0):
        """This ad as an AdRecord (the data contract), for building training batches."""
        from adfusion_edge.distill.data.records import AdRecord

        span = None
        if self.ad_copy.money:
            start = self.text.index(self.ad_copy.money)
            span = (start, start + len(self.ad_copy.money))
        ctr = {"low": 0.01, "medium": 0.03, "high": 0.08}[self.ad_copy.labels["ctr"]]
        return AdRecord(f"bench-{index:04d}", self.jpeg, self.text, dict(self.ad_copy.labels), span, ctr)


def _font(px: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf", px)
    except OSError:  # font not installed: PIL's bundled scalable font still draws real glyphs
        return ImageFont.load_default(size=px)


def render_ad(ad: AdCopy, size: int = 320, quality: int = 90) -> SampleAd:
    """Draw a square ad: coloured background, a product-like shape, headline and a CTA button."""
    headline, cta, colour = ad.headline, ad.cta, ad.colour
    img = Image.new("RGB", (size, size), colour)
    d = ImageDraw.Draw(img)
    s = size / 320
    # A simple "product": concentric shapes give the image branch edges and texture to chew on.
    d.ellipse((90 * s, 110 * s, 230 * s, 230 * s), fill=(245, 220, 160), outline=(60, 30, 10), width=max(1, int(4 * s)))
    d.rectangle((130 * s, 150 * s, 190 * s, 190 * s), fill=(180, 60, 40))
    d.text((16 * s, 24 * s), headline, fill=(255, 255, 255), font=_font(int(26 * s)))
    d.rounded_rectangle((80 * s, 250 * s, 240 * s, 296 * s), radius=int(10 * s), fill=(255, 255, 255))
    d.text((100 * s, 260 * s), cta, fill=colour, font=_font(int(22 * s)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return SampleAd(buf.getvalue(), f"{headline} {cta}", size, ad)


def sample_ads(size: int = 320, n: int | None = None) -> list[SampleAd]:
    """``n`` distinct ads (all of AD_COPY by default) at ``size`` px."""
    copy = AD_COPY if n is None else AD_COPY[:n]
    return [render_ad(ad, size) for ad in copy]


def tile(items: list, n: int) -> list:
    """``n`` items cycling through ``items`` (batch 64 from 8 distinct ads)."""
    return [items[i % len(items)] for i in range(n)]
