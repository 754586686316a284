"""Does a candidate checkpoint find more offers and CTAs without inventing them on real text?

The adoption check of the mention text rows (``distill/data/mention_rows.py``, build v3o). It
compares a candidate with the baseline on data the rule may read (never the real-ad dev images):

* AdSynth test, for ``monetary`` and ``cta``: accuracy, and recall: the ads with an offer (a CTA)
  whose type is predicted.
* Pitt test rows (real English ad text; their ``monetary`` and ``cta`` labels are all ``none``,
  negatives by ``realtext_patterns``): the share answered ``none``. Offers and CTAs invented on real
  text are what the rows could cost.
* Pitt test rows: theme accuracy (the rows label only monetary or CTA, so the theme must not move).

Rule (fixed before any figure was read): adopt if offer recall rises, CTA recall does not fall,
and AdSynth monetary and CTA accuracy, the two Pitt ``none`` shares and Pitt theme accuracy each
fall by at most ``TOLERANCE`` (0.5 points).

    python -m adfusion_edge.distill.evaluate.mention_check --baseline runs/student_real_v3tr \\
        --candidate runs/student_real_v3or --corpus runs/synth_v1 --test-rows runs/realtext_v1/pitt_test.jsonl \\
        --report runs/mention_check.json

Exit status 0 = adopt, 3 = keep the baseline.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adfusion_edge import schema
from adfusion_edge.distill.evaluate.evaluator import collect, labelled, text_rows_loader
from adfusion_edge.distill.evaluate.json_report import emit
from adfusion_edge.distill.evaluate.object_thresholds import _loader

TOLERANCE = 0.005
HEADS = ("monetary", "cta")


def _predicted(c: Any, head: str) -> tuple[np.ndarray, np.ndarray]:
    z, y = labelled(c, head)
    return z.argmax(1), y


def adsynth_mentions(model: torch.nn.Module, corpus: str, tokenizer: str) -> dict[str, Any]:
    """Per head (monetary, cta) on AdSynth test: accuracy, recall of the ads that have one, recall by label."""
    c = collect(model, _loader(model, corpus, "test", tokenizer))
    out = {}
    for head in HEADS:
        pred, y = _predicted(c, head)
        labels, none = schema.head(head).labels, schema.head(head).labels.index("none")
        has = y != none
        out[head] = {"ads": int(len(y)), "accuracy": round(float((pred == y).mean()), 4), "with_one": int(has.sum()),
                     "recall": round(float((pred[has] == y[has]).mean()), 4),
                     "recall_by_label": {labels[k]: f"{int((pred[y == k] == k).sum())}/{int((y == k).sum())}"
                                         for k in range(len(labels)) if k != none and (y == k).any()},
                     "none_ads_answered_none": round(float((pred[~has] == none).mean()), 4)}
    return out


def pitt_rows(model: torch.nn.Module, rows: Path, tokenizer: str) -> dict[str, Any]:
    """Share of the labelled Pitt test rows answered ``none`` per head, and theme accuracy."""
    c = collect(model, text_rows_loader(rows, tokenizer, model.preprocess))
    out: dict[str, Any] = {}
    for head in HEADS:
        pred, y = _predicted(c, head)
        none = schema.head(head).labels.index("none")
        out[head] = {"rows": int(len(y)), "labelled_none_share": round(float((y == none).mean()), 4),
                     "answered_none": round(float((pred == none).mean()), 4)}
    theme_pred, theme_y = _predicted(c, "theme")
    out["theme"] = {"rows": int(len(theme_y)), "accuracy": round(float((theme_pred == theme_y).mean()), 4)}
    return out


def decide(base: dict[str, Any], cand: dict[str, Any], tolerance: float = TOLERANCE) -> dict[str, bool]:
    """The rule of the module docstring, part by part."""
    b, c = base, cand
    return {
        "offer_recall_rises": c["adsynth"]["monetary"]["recall"] > b["adsynth"]["monetary"]["recall"],
        "cta_recall_holds": c["adsynth"]["cta"]["recall"] >= b["adsynth"]["cta"]["recall"],
        **{f"adsynth_{h}_accuracy_holds": c["adsynth"][h]["accuracy"] >= b["adsynth"][h]["accuracy"] - tolerance
           for h in HEADS},
        **{f"pitt_{h}_none_holds": c["pitt"][h]["answered_none"] >= b["pitt"][h]["answered_none"] - tolerance
           for h in HEADS},
        "pitt_theme_holds": c["pitt"]["theme"]["accuracy"] >= b["pitt"]["theme"]["accuracy"] - tolerance,
    }


def main(argv: list[str] | None = None) -> int:
    from adfusion_edge.distill.models.checkpoint import TOKENIZER, find_checkpoint, load_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", required=True, help="checkpoint or run directory shipped now")
    p.add_argument("--candidate", required=True, help="checkpoint or run directory to adopt or not")
    p.add_argument("--corpus", required=True, help="AdSynth corpus with a test split")
    p.add_argument("--test-rows", required=True, type=Path, help="realtext Pitt test rows")
    p.add_argument("--report", help="write the figures and the decision as JSON here")
    a = p.parse_args(argv)
    figures = {}
    for role, path in (("baseline", a.baseline), ("candidate", a.candidate)):
        ckpt = find_checkpoint(path)
        model, tok = load_model(ckpt), str(ckpt / TOKENIZER)
        figures[role] = {"checkpoint": str(ckpt), "adsynth": adsynth_mentions(model, a.corpus, tok),
                         "pitt": pitt_rows(model, a.test_rows, tok)}
    parts = decide(figures["baseline"], figures["candidate"])
    adopt = all(parts.values())
    emit({**figures, "tolerance": TOLERANCE, "rule": parts, "adopt": adopt}, a.report)
    return 0 if adopt else 3


if __name__ == "__main__":
    raise SystemExit(main())
