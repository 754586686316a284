"""Where the text is unreadable, the sentiment answers what real ads say (lite_student ``unreadable_priors``).

Sentiment is a text-only head: it reads the words and nothing else. On text the model cannot read
(German or Vietnamese copy, OCR garbage) it still answers, and what it answers is what AdSynth copy
taught it, whose sentiments are spread over positive, neutral and negative; real ads are nearly all
positive. With no words it can read, the best answer is the real-ad label prior, so below the
readability threshold the head's (temperature-scaled) logits move to the log prior in proportion:
``w * logits + (1 - w) * log prior``, ``w = min(1, readability / unreadable_prior_at)``.

Rule (fixed before any figure was read):
* the prior is the sentiment label share over the distinct real ads among the realtext train rows
  that carry a sentiment label (Pitt slogans and Pitt OCR; ``meta.ad_id``: one vote per ad, not per
  slogan), with one added count per label so that no label is impossible;
* the threshold is the theme's (``readability_gate.readable_at``: the 25th percentile of readability
  over the real English OCR train rows), so both heads hand over to their fallback on the same texts.
Nothing here reads real-ad images.

Adoption rule (fixed with it): the gated checkpoint ships if sentiment accuracy falls by at most
``TOLERANCE`` (0.5 points) on the Pitt test rows (real English text) and on AdSynth test, and
AdSynth test sentiment macro-F1 (the paper's Table-1 term) by at most as much. Every other output is
unchanged by construction (tested). Exit code 3: not adopted.

    python -m adfusion_edge.distill.evaluate.unreadable_prior --checkpoint RUN --corpus CORPUS \\
        --train-rows REALTEXT/train.jsonl --test-rows REALTEXT/pitt_test.jsonl --out RUN_prior \\
        --report RUN_prior.json
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adfusion_edge import schema
from adfusion_edge.distill.data.manifest import read_manifest
from adfusion_edge.distill.evaluate.evaluator import collect, head_figures, labelled, text_rows_loader
from adfusion_edge.distill.evaluate.json_report import emit
from adfusion_edge.distill.evaluate.object_thresholds import _loader
from adfusion_edge.distill.evaluate.readability_gate import (
    OCR_SOURCE,
    TOLERANCE,
    by_bin,
    readable_at,
    rows_of_source,
    text_readability,
)
from adfusion_edge.errors import ConfigError

HEAD = "sentiment"


def real_prior(path: Path, head: str = HEAD) -> dict[str, Any]:
    """The rule's label prior of ``head``: {"probs": schema order, "ads": count per label}.

    Raises:
        ManifestError: A malformed line (file and line named, by read_manifest).
        ConfigError: No row of ``path`` labels ``head``.
    """
    votes: dict[str, str] = {}
    for r in read_manifest(path, text_only=True):
        label = r.labels.get(head)
        if isinstance(label, str):
            votes.setdefault(str(r.meta.get("ad_id", r.id)), label)  # every row of an ad has its label
    if not votes:
        raise ConfigError(f"{path}: no row labels {head!r}")
    labels = schema.head(head).labels
    counts = Counter(votes.values())
    smoothed = np.array([counts.get(label, 0) + 1.0 for label in labels])
    return {"probs": [round(float(p), 6) for p in smoothed / smoothed.sum()],
            "ads": {label: int(counts.get(label, 0)) for label in labels}}


def head_scores(model: torch.nn.Module, loader: Any, head: str = HEAD) -> dict[str, Any]:
    """{"right": per labelled row, "accuracy", "macro_f1", "texts"} of ``head`` on ``loader``'s rows."""
    c = collect(model, loader)
    z, y = labelled(c, head)
    f = head_figures(c, head)
    keep = c.targets[f"m/{head}"].astype(bool)
    return {"right": z.argmax(1) == y, "accuracy": f["accuracy"], "macro_f1": f["macro_f1"],
            "texts": [t for t, k in zip(c.texts, keep, strict=True) if k] if c.texts else []}


def adopted(pitt: dict[str, dict[str, Any]], synth: dict[str, dict[str, Any]], tolerance: float = TOLERANCE) -> bool:
    """The module docstring's adoption rule on the before / after scores."""
    return (pitt["after"]["accuracy"] >= pitt["before"]["accuracy"] - tolerance
            and synth["after"]["accuracy"] >= synth["before"]["accuracy"] - tolerance
            and synth["after"]["macro_f1"] >= synth["before"]["macro_f1"] - tolerance)


def main(argv: list[str] | None = None) -> int:
    from adfusion_edge.distill.evaluate.calibrate import write_calibrated
    from adfusion_edge.distill.models.checkpoint import TOKENIZER, find_checkpoint, load_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="lite_student checkpoint or run directory")
    p.add_argument("--corpus", required=True, help="AdSynth corpus with a test split")
    p.add_argument("--train-rows", required=True, type=Path, help="realtext train rows (the rule's prior and OCR text)")
    p.add_argument("--test-rows", required=True, type=Path, help="realtext Pitt test rows (the adoption check)")
    p.add_argument("--out", required=True, help="write the checkpoint with the fallback here")
    p.add_argument("--report", help="write the prior, the threshold and the checks as JSON here")
    a = p.parse_args(argv)
    ckpt = find_checkpoint(a.checkpoint)
    model, tok = load_model(ckpt), str(ckpt / TOKENIZER)
    max_tokens = model.preprocess.max_tokens
    prior = real_prior(a.train_rows)
    t = readable_at(text_readability(rows_of_source(a.train_rows, OCR_SOURCE), tok, max_tokens))
    out = write_calibrated(ckpt, Path(a.out), dict(model.config.temperatures),
                           unreadable_priors={HEAD: prior["probs"]}, unreadable_prior_at=t)
    gated = load_model(out)
    rows = text_rows_loader(a.test_rows, tok, model.preprocess)
    pitt = {"before": head_scores(model, rows), "after": head_scores(gated, rows)}
    r = text_readability(pitt["before"]["texts"], tok, max_tokens)
    bins = by_bin(pitt["before"]["right"], pitt["after"]["right"], r)
    test = _loader(model, a.corpus, "test", tok)
    synth = {"before": head_scores(model, test), "after": head_scores(gated, test)}
    adopt = adopted(pitt, synth)

    def brief(s: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {k: {"accuracy": v["accuracy"], "macro_f1": v["macro_f1"]} for k, v in s.items()}

    emit({"checkpoint": str(ckpt), "out": str(out), "head": HEAD, "prior": prior, "unreadable_prior_at": t,
          "pitt_test": {"rows": int(len(pitt["before"]["right"])), **brief(pitt), "by_readability": bins},
          "adsynth_test": brief(synth), "tolerance": TOLERANCE, "adopt": bool(adopt)}, a.report)
    return 0 if adopt else 3


if __name__ == "__main__":
    raise SystemExit(main())
