"""Text-dense ad pages rendered here, for choosing OCR settings without the real-ad dev images.

The dev images are mostly print flyers and web ads of 700-1,000 px with a large headline, a price
or offer, a call to action and dense body copy and fine print. AdSynth's ads are sparser, so the
race also runs on pages drawn here to that shape: a portrait or landscape page in a flat or
two-tone colour, a headline (a Pitt slogan), an offer line, a CTA button, two to four paragraphs of
body copy (real ad text from the shared Facebook-ads file, or AdSynth copy where that file is
absent) in 11-18 px type, and a footer of fine print. Fonts are the system's DejaVu / Liberation
faces. The printed text is returned, but the race compares engines with each other (agreement),
not with it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation2"))
OFFERS = ("50% OFF", "Save $20 today", "From $19.99", "2 for $5", "Only $499", "Free shipping over $35",
          "Buy 1 Get 1 Free", "Up to 70% off", "$9.99/month", "30% off all week")
CTAS = ("Shop Now", "Order Now", "Learn More", "Sign Up", "Book Now", "Call Today", "Get Started",
        "Download Now", "Visit us", "Apply Now")


def _fonts() -> tuple[list[Path], list[Path]]:
    files = [f for d in FONT_DIRS if d.is_dir() for f in sorted(d.glob("*.ttf")) if "Mono" not in f.name
             and "Math" not in f.name]
    bold = [f for f in files if "Bold" in f.name] or files
    return files, bold


def _copy_texts() -> tuple[list[str], list[str]]:
    """(body copy, headlines) from the shared real-ad text (allowed for training), else AdSynth copy."""
    from adfusion_edge.distill.data.realdata import realdata_dir

    body, heads = [], []
    fb = realdata_dir() / "text" / "facebook_ads.jsonl"
    sl = realdata_dir() / "text" / "pitt_slogans.jsonl"
    if fb.is_file():
        body = [t for t in (json.loads(line).get("text") or "" for line in fb.open()) if len(t) > 80]
    if sl.is_file():
        heads = [t for t in (json.loads(line).get("text") or "" for line in sl.open()) if 10 < len(t) < 40]
    if not body or not heads:
        from adfusion_edge.distill.data.adsynth.offers import CTA_TEXTS

        words = sorted({w for texts in CTA_TEXTS.values() for t in texts for w in t.split()})
        body = body or [" ".join(random.Random(i).choices(words, k=40)) for i in range(50)]
        heads = heads or ["Big Summer Sale", "Fresh Every Day", "New Season Styles"]
    return body, heads


def _wrap(d: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    lines, cur = [], ""
    for w in text.split():
        nxt = f"{cur} {w}".strip()
        if d.textlength(nxt, font=font) <= width or not cur:
            cur = nxt
        else:
            lines.append(cur)
            cur = w
    return lines + ([cur] if cur else [])


def render_page(i: int, body: list[str], heads: list[str]) -> tuple[np.ndarray, str, str]:
    """One text-dense page (RGB pixels, printed text, its headline + offer + CTA), fixed by ``i``."""
    rng = random.Random(1000 + i)
    regular, bold = _fonts()
    w, h = rng.choice(((707, 1000), (1000, 707), (800, 800), (913, 1000), (600, 900)))
    bg = tuple(rng.randint(170, 255) for _ in range(3)) if rng.random() < 0.7 else tuple(rng.randint(0, 70) for _ in range(3))
    ink = (20, 20, 20) if sum(bg) > 380 else (245, 245, 245)
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    if rng.random() < 0.5:  # a picture-like block behind part of the page
        x0, y0 = rng.randint(0, w // 2), rng.randint(h // 5, h // 2)
        d.rectangle((x0, y0, x0 + w // 3, y0 + h // 4), fill=tuple(rng.randint(0, 255) for _ in range(3)))
    m = int(0.05 * w)
    printed = []

    def put(text: str, font, y: int, fill=ink, centre=False) -> int:
        for line in _wrap(d, text, font, w - 2 * m):
            x = (w - d.textlength(line, font=font)) / 2 if centre else m
            d.text((x, y), line, font=font, fill=fill)
            printed.append(line)
            y += int(font.size * 1.25)
        return y

    y = m
    head, offer = rng.choice(heads), rng.choice(OFFERS)
    y = put(head, ImageFont.truetype(str(rng.choice(bold)), rng.randint(40, 72)), y, centre=True) + 10
    y = put(offer, ImageFont.truetype(str(rng.choice(bold)), rng.randint(28, 48)), y,
            fill=(200, 20, 20) if sum(bg) > 380 else (255, 220, 0), centre=True) + 14
    for _ in range(rng.randint(2, 4)):
        if y > 0.8 * h:
            break
        y = put(rng.choice(body), ImageFont.truetype(str(rng.choice(regular)), rng.randint(11, 18)), y) + 8
    cta_font = ImageFont.truetype(str(rng.choice(bold)), rng.randint(22, 34))
    cta = rng.choice(CTAS)
    tw = d.textlength(cta, font=cta_font)
    by = min(max(y + 10, int(0.78 * h)), h - 3 * cta_font.size - m)
    bx = (w - tw) / 2
    d.rounded_rectangle((bx - 18, by - 8, bx + tw + 18, by + cta_font.size + 14), 10, fill=(30, 90, 200))
    d.text((bx, by), cta, font=cta_font, fill=(255, 255, 255))
    printed.append(cta)
    fine = ImageFont.truetype(str(rng.choice(regular)), rng.randint(9, 12))
    put("Offer valid while supplies last. Terms and conditions apply. " + rng.choice(body)[:160], fine,
        h - m - 2 * int(fine.size * 1.25))
    return np.ascontiguousarray(np.asarray(img)), "\n".join(printed), f"{head}\n{offer}\n{cta}"


def dense_pages(n: int, start: int = 0) -> list[tuple[str, np.ndarray, str, str]]:
    """(id, RGB pixels, printed text, key text) of ``n`` pages from ``start`` (fixed, reproducible).

    The key text is what the heads need: the headline, the offer and the CTA.
    """
    body, heads = _copy_texts()
    return [(f"page_{i:03d}", *render_page(i, body, heads)) for i in range(start, start + n)]
