"""Mention text rows: real ad copy with one offer or one call to action inserted.

Real ads mostly carry no offer and no CTA (about 7% and 13% of real ad text, ``realtext_priors``),
and AdSynth follows those priors, so a whole AdSynth corpus holds a few dozen offers per type and
the real text rows teach only ``none``. The shipped student then missed both outside AdSynth's
exact layout: "BOGO", "2 for 1" and "Buy one, get one free" read as monetary ``none`` (0.73-0.99);
"Download the app today", "Donate today" and "Learn more at example.com" as CTA ``none``
(0.98-1.00). AdSynth test bogo ads were never right (0 of 3).

These rows put offers and CTAs in real surroundings. Each takes a real training text with neither
(a realtext train row labelled ``monetary = none`` and ``cta = none``: Pitt slogans, OCR of Pitt
ads, Facebook ads) and inserts, at its start, its end or between two of its sentences, either

* an offer block from AdSynth's generator (``adsynth/offers.py``: the six types, their formats,
  prefixes and suffixes), labelled ``monetary`` with its span; or
* a CTA button text (``offers.CTA_TEXTS``), sometimes with a short tail ("today", "online"),
  labelled ``cta``.

The casing is varied (as written, upper, lower) and, half the time, commas are dropped, as OCR and
hand-typed copy do. Only the inserted head is labelled; the other heads stay unlabelled on these
rows, so the copies of real text do not re-weight the theme or sentiment.

    python -m adfusion_edge.distill.data.mention_rows --rows runs/realtext_v1/train.jsonl \\
        --out runs/realtext_v1/mention_rows.jsonl --offers 3000 --ctas 2000 --seed 0
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path
from typing import Any

from tqdm import tqdm

from adfusion_edge import schema
from adfusion_edge.distill.data.adsynth import offers
from adfusion_edge.distill.data.manifest import read_manifest
from adfusion_edge.errors import ConfigError

OFFER_TYPES = tuple(label for label in schema.head("monetary").labels if label != "none")
CTA_TYPES = tuple(label for label in schema.head("cta").labels if label != "none")
CTA_TAILS = ("", "", "", "!", " today", " online", " here", " now!")
SOURCE = "mention_rows"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def base_texts(path: Path) -> list[tuple[str, str, str | None]]:
    """(id, text, theme) of the rows of the text manifest ``path`` labelled ``monetary = none`` and
    ``cta = none``.

    Raises:
        ManifestError: A malformed line (file and line named, by read_manifest).
        ConfigError: No such rows.
    """
    out = [(r.id, r.text, r.labels.get("theme")) for r in read_manifest(path, text_only=True)
           if r.labels.get("monetary") == "none" and r.labels.get("cta") == "none" and r.text.strip()]
    if not out:
        raise ConfigError(f"{path}: no rows labelled monetary = none and cta = none to insert mentions into")
    return out


def _surface(rng: random.Random, block: str, start: int, end: int) -> tuple[str, int, int]:
    """The offer block in another casing and, half the time, without commas; span kept on the mention."""
    case = rng.choices(("as is", "upper", "lower"), (0.6, 0.2, 0.2))[0]
    if case == "upper":
        block = block.upper()
    elif case == "lower":
        block = block.lower()
    if rng.random() < 0.5:
        before, mention, after = block[:start], block[start:end], block[end:]
        # commas inside a number (1,299) stay: only commas followed by a space go
        before, mention, after = (re.sub(r",(?=\s)", "", s) for s in (before, mention, after))
        block, start, end = before + mention + after, len(before), len(before) + len(mention)
    return block, start, end


def _insert(rng: random.Random, text: str, block: str) -> tuple[str, int, str]:
    """``block`` put at the start, the end or between two sentences of ``text``: (new text, block offset,
    where)."""
    cuts = [m.end() for m in _SENTENCE_END.finditer(text)]
    where = rng.choice(["start", "end"] + (["middle"] if cuts else []))
    sep = rng.choice((" ", ". ", "\n", " - ", "! "))
    if where == "start":
        head, tail = "", sep + text
    elif where == "end":
        head, tail = text + sep, ""
    else:
        cut = rng.choice(cuts)
        head, tail = text[:cut] + ("" if text[:cut].endswith((" ", "\n")) else " "), sep + text[cut:]
    return head + block + tail, len(head), where


def offer_row(rng: random.Random, index: int, base: tuple[str, str, str | None]) -> dict[str, Any]:
    """One row: ``base``'s text with an offer of a uniformly drawn type inserted (module docstring)."""
    base_id, text, theme = base
    label = rng.choice(OFFER_TYPES)
    theme = theme if theme in schema.head("theme").labels else rng.choice(schema.head("theme").labels)
    offer = offers.make_offer(rng, label, theme, generic=rng.random() < 0.3, compact=rng.random() < 0.3)
    block, s, e = _surface(rng, offer.text, offer.start, offer.start + len(offer.mention))
    out, at, where = _insert(rng, text, block)
    return {"id": f"{SOURCE}/offer/{index}", "text": out, "labels": {"monetary": label}, "monetary_span": [at + s, at + e],
            "meta": {"source": SOURCE, "kind": "offer", "base": base_id, "position": where}}


def cta_row(rng: random.Random, index: int, base: tuple[str, str, str | None]) -> dict[str, Any]:
    """One row: ``base``'s text with a CTA of a uniformly drawn type inserted (module docstring)."""
    base_id, text, _ = base
    label = rng.choice(CTA_TYPES)
    button = offers.cta_text(rng, label) + rng.choice(CTA_TAILS)
    block, _, _ = _surface(rng, button, 0, len(button))
    out, _, where = _insert(rng, text, block)
    return {"id": f"{SOURCE}/cta/{index}", "text": out, "labels": {"cta": label},
            "meta": {"source": SOURCE, "kind": "cta", "base": base_id, "position": where}}


def write_rows(rows_path: Path, out: Path, n_offers: int, n_ctas: int, seed: int = 0,
               progress: bool = True) -> dict[str, Any]:
    """Write ``n_offers`` offer rows and ``n_ctas`` CTA rows made from ``rows_path`` to ``out`` (JSON
    lines, shuffled together); returns counts."""
    if n_offers < 0 or n_ctas < 0 or n_offers + n_ctas < 1:
        raise ConfigError(f"mention rows: --offers and --ctas must be >= 0, not both 0 (got {n_offers}, {n_ctas})")
    bases = base_texts(rows_path)
    rng = random.Random(seed)
    kinds = ["offer"] * n_offers + ["cta"] * n_ctas
    rng.shuffle(kinds)
    counts: dict[str, dict[str, int]] = {"monetary": dict.fromkeys(OFFER_TYPES, 0), "cta": dict.fromkeys(CTA_TYPES, 0)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for i, kind in enumerate(tqdm(kinds, desc="mention rows", disable=not progress)):
            row = (offer_row if kind == "offer" else cta_row)(rng, i, rng.choice(bases))
            head, label = next(iter(row["labels"].items()))
            counts[head][label] += 1
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(out)
    return {"rows": len(kinds), "base_rows": len(bases), "by_label": counts, "out": str(out)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m adfusion_edge.distill.data.mention_rows",
                                description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=Path, required=True, help="realtext train rows (adfusion-edge data realtext)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--offers", type=int, default=3000, help="rows with an offer inserted")
    p.add_argument("--ctas", type=int, default=2000, help="rows with a call to action inserted")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    print(json.dumps(write_rows(a.rows, a.out, a.offers, a.ctas, a.seed), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
