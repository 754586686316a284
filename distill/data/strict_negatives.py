"""Stricter CTA / monetary negatives: unlabel the ``none`` rows whose text may well hold an offer or a CTA.

``realtext`` labels a real text ``monetary = none`` / ``cta = none`` when ``realtext_patterns`` finds
no offer / CTA. Those patterns want a full phrase ("free shipping", "buy now"), so real offers and
CTAs in other words pass as negatives. Reading the realtext **train** rows that build v3m answered an
offer or a CTA on (session 12; v3h's CTAs in session 11) found them: "2 for the price of 1!",
"FREE eBooks RULE!", "Quiznos and free cookies", "Buy coffee today get free coffee forever",
"Buy Almay and get that ... look", "Shop Lane Bryant ...". A head that learns to find offers and CTAs
is then taught (and scored) that they are none.

This module drops the ``monetary`` (``cta``) label of a row labelled ``none`` when a broad pattern
says it *may* hold one. Nothing is relabelled (the patterns do not tell the exact label, and a maybe
is no positive); the row keeps its other labels. The patterns are broad on purpose: an ambiguous row
("feel free", "Get the look") costs one negative, a wrong negative costs a wrong lesson.

* maybe an offer: "free" as a word of its own (not "sugar-free" / "free-range"), "N for (the price
  of) M", "buy ... get", "save", "deal", "prize", "cash", "win".
* maybe a CTA: a sentence that starts with an action verb (buy, shop, order, call, visit, download,
  subscribe, donate, book, try, join, register, apply, sign up, learn, discover, click, go, see, ask,
  get, come, stop by, find, start), or a web address.

Numbers that are not prices ("800% more followers", years, phone numbers) stay negatives: they are
what the monetary head must learn to pass over.

A pass of its own over ``realtext``'s rows, not a change to ``realtext.negatives``: the build's
earlier steps (v3t to v3ts) were trained and checked on the rows as they are, and the build script
must still rebuild them byte for byte. Only the steps that read the strict rows see the difference.

    python -m adfusion_edge.distill.data.strict_negatives --rows runs/realtext_v1/train.jsonl \\
        --out runs/realtext_v1/train_strict.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from adfusion_edge.distill.data.manifest import rewrite_text_manifest
from adfusion_edge.distill.data.records import AdRecord

_NUM = r"(?:\d+|one|two|three|four)"
MAYBE_OFFER_RE = re.compile(
    r"(?<![-\w])free\b(?!-)|\b" + _NUM + r" for (?:the price of )?" + _NUM + r"\b|\bbuy\b[^.!?\n]{0,40}\bget\b"
    r"|\bsav(?:e|es|ings?)\b|\bdeals?\b|\bprizes?\b|\bcash\b|\bwin\b", re.I)
_ACTION_VERBS = ("buy", "shop", "order", "call", "visit", "download", "subscribe", "donate", "book", "try", "join",
                 "register", "apply", "sign up", "learn", "discover", "click", "go", "see", "ask", "get", "come",
                 "stop by", "find", "start")
MAYBE_CTA_RE = re.compile(r"(?:^|[.!?\n]\s*|[-\u2013\u2014:]\s+)[\"'(]*(?:" + "|".join(_ACTION_VERBS) + r")\b"
                          r"|\bwww\.|\b\w+\.(?:com|org|net)\b", re.I)
HEADS = {"monetary": MAYBE_OFFER_RE, "cta": MAYBE_CTA_RE}


def unlabelled_heads(text: str, labels: dict) -> list[str]:
    """The heads whose ``none`` label ``text`` does not support by the broad patterns."""
    return [h for h, pattern in HEADS.items() if labels.get(h) == "none" and pattern.search(text)]


def strict(rows: Path, out: Path) -> Counter:
    """Write the manifest ``rows`` to ``out`` with the doubtful ``none`` labels dropped.

    Returns:
        Counts: ``rows``, and per head ``<head>_none`` (negatives read) and ``<head>_dropped``.

    Raises:
        ConfigError: ``out`` is ``rows`` (the input would be overwritten while read).
        ManifestError: A malformed line (file and line named, by read_manifest).
    """
    counts: Counter = Counter()

    def drop_doubtful(_line_no: int, rec: AdRecord) -> None:
        counts["rows"] += 1
        for h in HEADS:
            counts[f"{h}_none"] += rec.labels.get(h) == "none"
        for h in unlabelled_heads(rec.text, rec.labels):
            del rec.labels[h]
            counts[f"{h}_dropped"] += 1

    rewrite_text_manifest(rows, out, drop_doubtful, "strict")
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", required=True, type=Path, help="text-only manifest (realtext train or test rows)")
    p.add_argument("--out", required=True, type=Path, help="where to write the strict manifest")
    a = p.parse_args(argv)
    print(json.dumps(strict(a.rows, a.out), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
