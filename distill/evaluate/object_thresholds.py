"""Per-label thresholds of the ImageNet object prior, set where it stops firing on ads without the object.

The lite_student's objects head is a noisy-OR of a learned detector and the ImageNet prior, whose
probability passes 0.5 where a label's ImageNet mass passes one threshold (0.05). Flat creatives
push some classes over it on any ad: on AdSynth val the sunscreen / lotion classes hold 5% or more
of the (medium-free) mass on 21% of the ads that show no lotion, so "Lotion" is reported on plain
colour fields. A noisy-OR can only add evidence, so the learned part cannot cancel it.

Rule, per object label: threshold = max(default, the QUANTILE of the prior's mass over the AdSynth
val ads that do not show the label). Labels whose prior is quiet on such ads keep the default.
``person`` is left out: AdSynth draws no photographed people, so its ads say nothing about the
person prior, which exists for real photos (the person-implying classes of imagenet_objects.py).

    python -m adfusion_edge.distill.evaluate.object_thresholds --checkpoint RUN_calibrated \\
        --corpus CORPUS --out RUN_thresholds --report RUN_thresholds.json

writes a copy of the checkpoint with ``object_prior_thresholds`` in its config, and reports objects
micro-F1 and the any-right rate on AdSynth test before / after (the split the rule did not read).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from adfusion_edge import schema
from adfusion_edge.distill.data.dataset import AdCollate, AdDataset
from adfusion_edge.distill.evaluate.evaluator import collect
from adfusion_edge.distill.evaluate.json_report import emit

QUANTILE = 0.98
EXCLUDED = ("person",)
OBJECT_MASS = "aux/object_mass"  # the lite_student's prior mass per object label


def prior_masses(model: torch.nn.Module, loader: Any) -> dict[str, np.ndarray]:
    """{"mass": (N, objects) prior mass, "prob": (N, objects) head probability, "y": (N, objects) labels,
    "m": (N,) labelled} over the loader's batches (eval mode)."""
    c = collect(model, loader, keep_aux=(OBJECT_MASS,))
    return {"mass": c.outputs[OBJECT_MASS], "prob": 1.0 / (1.0 + np.exp(-c.outputs["objects"])),
            "y": c.targets["y/objects"] > 0.5, "m": c.targets["m/objects"].astype(bool)}


def thresholds(mass: np.ndarray, y: np.ndarray, default: float, quantile: float = QUANTILE,
               excluded: tuple[str, ...] = EXCLUDED) -> dict[str, float]:
    """{label: threshold} for the labels whose rule gives more than ``default`` (see module docstring)."""
    out: dict[str, float] = {}
    for j, label in enumerate(schema.OBJECTS):
        neg = mass[~y[:, j], j]
        if label in excluded or len(neg) == 0:
            continue
        t = float(np.quantile(neg, quantile))
        if t > default:
            out[label] = round(min(t, 0.99), 4)
    return out


def object_scores(prob: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Micro precision / recall / F1 at 0.5, and the share of ads with objects where any prediction is right."""
    pred = prob >= 0.5
    tp, fp, fn = float((pred & y).sum()), float((pred & ~y).sum()), float((~pred & y).sum())
    p = tp / max(tp + fp, 1.0)
    r = tp / max(tp + fn, 1.0)
    has = y.any(axis=1)
    any_right = float((pred & y)[has].any(axis=1).mean()) if has.any() else float("nan")
    return {"micro_precision": p, "micro_recall": r, "micro_f1": 2 * p * r / max(p + r, 1e-12),
            "any_right": any_right, "ads_with_objects": int(has.sum()), "predicted_per_ad": float(pred.sum(1).mean())}


def _loader(model: torch.nn.Module, corpus: str, split: str, tokenizer: str) -> DataLoader:
    ds = AdDataset.from_corpus(corpus, split, cfg=model.preprocess)
    return DataLoader(ds, batch_size=64, shuffle=False, collate_fn=AdCollate(tokenizer, model.preprocess))


def _scores(model: torch.nn.Module, loader: Any) -> dict[str, float]:
    got = prior_masses(model, loader)
    return object_scores(got["prob"][got["m"]], got["y"][got["m"]])


def open_checkpoint(doc: str, what: str, argv: list[str] | None) -> tuple[argparse.Namespace, Path, Any, str]:
    """The command line shared by the post-training checkpoint tools (--checkpoint, --corpus, --out,
    --report): (arguments, checkpoint directory, its model, its tokenizer file)."""
    from adfusion_edge.distill.models.checkpoint import TOKENIZER, find_checkpoint, load_model

    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="lite_student checkpoint or run directory")
    p.add_argument("--corpus", required=True, help="AdSynth corpus with val and test splits")
    p.add_argument("--out", required=True, help=f"write the checkpoint with the {what} here")
    p.add_argument("--report", help=f"write the {what} and the test scores as JSON here")
    args = p.parse_args(argv)
    ckpt = find_checkpoint(args.checkpoint)
    return args, ckpt, load_model(ckpt), str(ckpt / TOKENIZER)


def main(argv: list[str] | None = None) -> int:
    from adfusion_edge.distill.evaluate.calibrate import write_calibrated
    from adfusion_edge.distill.models.checkpoint import load_model

    args, ckpt, model, tok = open_checkpoint(__doc__, "thresholds", argv)
    val = prior_masses(model, _loader(model, args.corpus, "val", tok))
    found = thresholds(val["mass"][val["m"]], val["y"][val["m"]], model.config.object_prior_threshold)
    out = write_calibrated(ckpt, Path(args.out), dict(model.config.temperatures), object_prior_thresholds=found)
    after_model = load_model(out)
    test = _loader(model, args.corpus, "test", tok)
    result: dict[str, Any] = {"checkpoint": str(ckpt), "out": str(out), "quantile": QUANTILE, "excluded": EXCLUDED,
                              "thresholds": found, "test_before": _scores(model, test),
                              "test_after": _scores(after_model, test)}
    emit(result, args.report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

