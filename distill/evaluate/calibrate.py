"""Temperature scaling per head (Guo et al. 2017) on held-out rows, with expected calibration error.

One scalar T per single-label / ordinal head divides that head's logits; T is the value that
minimises the negative log-likelihood of the held-out labels (log-spaced grid, then a finer one
around the best). It changes confidences, never the predicted label.

Held-out rows (none of them trains the model, and the real-ad dev images are not used):

* the AdSynth **val** split of the corpus (image + text heads);
* the **even** rows of the real-text test file (Pitt test texts, blank image: theme, sentiment and the
  CTA / monetary negatives). The odd rows are kept out of the fit: the ECE after scaling is
  reported on them (and on AdSynth test), so the figure is not read on the rows T was fitted on.

A model that takes ``temperatures`` in its config (lite_student) gets them written into a copy of
the checkpoint, so export puts the calibrated probabilities into the graph:

    python -m adfusion_edge.distill.evaluate.calibrate --checkpoint RUN --corpus CORPUS \
        --rows REALTEXT/pitt_test.jsonl --out RUN_calibrated
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from adfusion_edge import schema
from adfusion_edge.distill.data.dataset import AdCollate, AdDataset
from adfusion_edge.distill.data.text_rows import TextRowDataset
from adfusion_edge.distill.evaluate.evaluator import collect, labelled
from adfusion_edge.distill.evaluate.json_report import emit
from adfusion_edge.distill.evaluate.metrics import log_softmax, nll
from adfusion_edge.distill.models.lite_student import TEMPERATURE_RANGE
from adfusion_edge.errors import ConfigError

SCALED_KINDS = ("single", "ordinal")
_GRID = np.exp(np.linspace(np.log(0.1), np.log(10.0), 121))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The T in [0.1, 10] minimising NLL (coarse log grid, then a 1% grid around the best)."""
    if len(y) == 0:
        raise ConfigError("fit_temperature: no labelled rows")
    best = min(_GRID, key=lambda t: nll(logits, y, t))
    fine = best * np.exp(np.linspace(-0.04, 0.04, 9))
    return float(min(fine, key=lambda t: nll(logits, y, t)))


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """ECE: |accuracy - confidence| of the top label, averaged over equal-width confidence bins."""
    if len(y) == 0:
        return float("nan")
    conf = probs.max(axis=1)
    right = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            ece += inside.mean() * abs(right[inside].mean() - conf[inside].mean())
    return float(ece)


def _collect_sets(model: torch.nn.Module, corpus: str, rows: str, tokenizer: str, batch_size: int) -> dict[str, Any]:
    collate = AdCollate(tokenizer, model.preprocess)
    text = TextRowDataset.from_text_manifests(rows, cfg=model.preprocess)
    sets = {
        "adsynth_val": AdDataset.from_corpus(corpus, "val", cfg=model.preprocess),
        "adsynth_test": AdDataset.from_corpus(corpus, "test", cfg=model.preprocess),
        "realtext_fit": Subset(text, range(0, len(text), 2)),
        "realtext_report": Subset(text, range(1, len(text), 2)),
    }
    return {k: collect(model, DataLoader(ds, batch_size=batch_size, shuffle=False, collate_fn=collate))
            for k, ds in sets.items()}


def calibrate(model: torch.nn.Module, collected: Mapping[str, Any], heads: tuple[str, ...] = ()) -> dict[str, Any]:
    """Fit T per head on adsynth_val + realtext_fit; ECE before / after on every set.

    Args:
        heads: Refit only these heads; every other head keeps the temperature the model has
            (e.g. after a fine-tune of two heads, the others' logits did not change). Empty = all.

    Returns:
        {"temperatures": {head: T}, "ece": {set: {head: {"n", "before", "after"}}}}

    Raises:
        ConfigError: A head in ``heads`` is not a single-label or ordinal schema head.
    """
    temps: dict[str, float] = {}
    old = dict(getattr(model, "temperature", {}))
    for name in heads:
        if schema.head(name).kind not in SCALED_KINDS:
            raise ConfigError(f"calibrate --heads: {name!r} is a {schema.head(name).kind} head; temperatures "
                              f"scale {' and '.join(SCALED_KINDS)} heads")
    for h in schema.HEADS:
        if h.kind not in SCALED_KINDS:
            continue
        if heads and h.name not in heads:
            if h.name in old:
                temps[h.name] = old[h.name]
            continue
        parts = [labelled(collected[k], h.name) for k in ("adsynth_val", "realtext_fit")]
        z = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        if len(y):
            # Logits already carry the model's current T; the new one multiplies it. A head refitted
            # at its grid's edge (a second calibration of a head that wants T < 0.1) can leave the
            # range a model config takes: clamped, so the chain goes on (the ECE shows the cost).
            lo, hi = TEMPERATURE_RANGE
            temps[h.name] = round(min(max(fit_temperature(z, y) * old.get(h.name, 1.0), lo), hi), 4)
    ece: dict[str, dict[str, Any]] = {}
    for name, c in collected.items():
        ece[name] = {}
        for head, t in temps.items():
            if heads and head not in heads:  # kept as it was: nothing refit to report
                continue
            z, y = labelled(c, head)
            if len(y) < 20:
                continue
            scale = t / old.get(head, 1.0)
            ece[name][head] = {"n": int(len(y)), "before": round(expected_calibration_error(np.exp(log_softmax(z)), y), 4),
                               "after": round(expected_calibration_error(np.exp(log_softmax(z / scale)), y), 4)}
    return {"temperatures": temps, "ece": ece}


def with_config(model: torch.nn.Module, state: Mapping[str, torch.Tensor] | None = None, **changes: Any
                ) -> torch.nn.Module:
    """A copy of ``model`` (eval mode) with ``changes`` to its config dataclass, holding ``state``
    (default: the model's own weights; loaded strictly)."""
    import dataclasses

    from adfusion_edge.distill.models.registry import create_model

    config = dataclasses.replace(model.config, **changes)
    copy = create_model(model.name, preprocess=model.preprocess,
                        **{f.name: getattr(config, f.name) for f in dataclasses.fields(config)})
    copy.load_state_dict(model.state_dict() if state is None else state, strict=True)
    return copy.eval()


def write_calibrated(checkpoint: Path, out: Path, temperatures: Mapping[str, float], **config: Any) -> Path:
    """Save a copy of ``checkpoint`` with ``temperatures`` (and any other ``config`` fields, e.g.
    ``colour_from_pixels``) in its model config (a lite_student) at ``out``."""
    import dataclasses

    from adfusion_edge.distill.models.checkpoint import TOKENIZER, load_model, read_meta, save_model

    model = load_model(checkpoint)
    if not any(f.name == "temperatures" for f in dataclasses.fields(model.config)):
        raise ConfigError(f"{checkpoint}: model {model.name!r} has no temperatures in its config")
    state = model.state_dict()
    if getattr(model.config, "token_table", None) == "train":
        # The trained token table ships as int8 rows with a scale each (4x smaller than float).
        from adfusion_edge.static_text import quantize_rows

        q, scale = quantize_rows(state.pop("token_embed.weight").numpy())
        state["tok_q"], state["tok_scale"] = torch.from_numpy(q), torch.from_numpy(scale).unsqueeze(-1)
        config = {**config, "token_table": "tuned"}
    calibrated = with_config(model, state, temperatures=tuple(sorted(temperatures.items())), **config)
    info = dict(read_meta(checkpoint).get("info", {}))
    info["calibrated_from"] = str(checkpoint)
    tok = checkpoint / TOKENIZER
    return save_model(calibrated, out, info, tokenizer=tok if tok.is_file() else None)


def main(argv: list[str] | None = None) -> int:
    from adfusion_edge.distill.models.checkpoint import TOKENIZER, find_checkpoint, load_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="checkpoint or run directory")
    p.add_argument("--corpus", required=True, help="AdSynth corpus with val and test splits")
    p.add_argument("--rows", required=True, help="real-text test rows (pitt_test.jsonl)")
    p.add_argument("--out", help="write a calibrated copy of the checkpoint here (lite_student)")
    p.add_argument("--report", help="write the temperatures and ECE as JSON here")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--colour-from-pixels", action="store_true",
                   help="the calibrated copy computes dominant_colour from the pixels (lite_student)")
    p.add_argument("--theme-head-weight", type=float, default=None, metavar="W",
                   help="set the lite_student's theme_head_weight first (0: the theme is the zero-shot cosine "
                        "plus the image prior), so the theme temperature is fitted to the logit that ships")
    p.add_argument("--heads", nargs="+", default=(), metavar="HEAD",
                   help="refit only these heads' temperatures (the others keep theirs); default: every head")
    a = p.parse_args(argv)
    ckpt = find_checkpoint(a.checkpoint)
    model = load_model(ckpt)
    changed: dict[str, Any] = {}
    if a.theme_head_weight is not None:
        changed["theme_head_weight"] = a.theme_head_weight
        model = with_config(model, **changed)
    result = calibrate(model, _collect_sets(model, a.corpus, a.rows, str(ckpt / TOKENIZER), a.batch_size),
                       tuple(a.heads))
    result["checkpoint"] = str(ckpt)
    if a.out:
        extra = {**changed, **({"colour_from_pixels": True} if a.colour_from_pixels else {})}
        result["calibrated_checkpoint"] = str(write_calibrated(ckpt, Path(a.out), result["temperatures"], **extra))
    emit(result, a.report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
