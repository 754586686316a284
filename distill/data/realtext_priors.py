"""Measure how often real ad text carries a CTA, an offer / price and numbers that are not prices.

Per source of ``datasets/realtext/`` (detectors: :mod:`realtext_patterns`). AdSynth's copy and
label priors (``adsynth.real_priors``) are the mean of the two sources that are printed ad copy
(Pitt OCR text and the Facebook ads); the Pitt slogans are annotators' paraphrases, reported but
not used for the priors.

CLI: ``python -m adfusion_edge.distill.data.realtext_priors [--src datasets/realtext]`` prints JSON.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from adfusion_edge.distill.data.realtext import DEFAULT_SRC, FACEBOOK, OCR, SLOGANS, BuildStats, iter_jsonl
from adfusion_edge.distill.data.realtext_patterns import facts

SOURCES = {"pitt_slogans": (SLOGANS, "text"), "pitt_ocr": (OCR, "ocr_text"), "facebook": (FACEBOOK, "text")}
PRIOR_SOURCES = ("pitt_ocr", "facebook")
NUMBER_KINDS = ("year", "model", "date", "percent", "phone", "other")


def measure(src: str | Path = DEFAULT_SRC) -> dict:
    """{"sources": {name: rates}, "priors": mean rates of PRIOR_SOURCES} (rates are shares of texts)."""
    stats = BuildStats()
    out: dict = {"sources": {}}
    for name, (file, key) in SOURCES.items():
        texts = [o.get(key) for _, o in iter_jsonl(Path(src) / file, stats)]
        fs = [facts(t) for t in texts if isinstance(t, str) and t.strip()]
        n = len(fs)
        kinds = Counter(k for f in fs for k in set(f.non_price_numbers))
        out["sources"][name] = {
            "texts": n, "cta": sum(f.cta for f in fs) / n, "cta_in_vocabulary": sum(f.cta_vocab for f in fs) / n,
            "offer": sum(f.offer for f in fs) / n, "price": sum(f.price for f in fs) / n,
            "non_price_number": sum(bool(f.non_price_numbers) for f in fs) / n,
            "number_kinds": {k: kinds[k] / n for k in NUMBER_KINDS},
        }
    srcs = [out["sources"][s] for s in PRIOR_SOURCES]
    out["priors"] = {k: sum(s[k] for s in srcs) / len(srcs) for k in ("cta", "offer", "non_price_number")}
    out["priors"]["number_kinds"] = {k: sum(s["number_kinds"][k] for s in srcs) / len(srcs) for k in NUMBER_KINDS}
    out["bad_lines"] = len(stats.bad_lines)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", default=str(DEFAULT_SRC))
    print(json.dumps(measure(p.parse_args(argv).src), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
