"""Is the picture's theme evidence better when ImageNet classes are read with their WordNet gloss?

The image-side theme prior maps each ImageNet class to the themes by the MiniLM similarity of the
class's text to the theme descriptions (``imagenet_themes``). With lemmas only, words that mean
something else mislead it: "shopping cart" and "butcher shop" land on fashion, "bakery" on home.
``source="glosses"`` embeds "lemmas: WordNet definition" instead (``imagenet_glosses``); the
lite_student config field ``theme_prior_text`` picks the source, so a checkpoint keeps the prior
it was checked with.

Rule (fixed 2026-12-03 14:12 UTC, before any figure of the gloss prior was computed): set
``theme_prior_text: glosses`` if
1. **object-class agreement** rises: over the ImageNet classes that ``imagenet_objects`` maps to an
   object label whose theme is plain (:data:`OBJECT_THEMES`, written from the label names: pizza
   -> food, laptop -> technology, lipstick -> beauty, ...), the share whose prior argmax is that
   theme. Both mappings were written by meaning, independently; neither reads an ad;
2. AdSynth test theme accuracy falls by at most ``ADSYNTH_TOLERANCE`` (1 point);
3. Pitt test theme accuracy (real English text, blank picture: the prior of a blank picture moves
   with the matrix) falls by at most ``PITT_TOLERANCE`` (0.5 points);
4. every output other than the theme is bit-identical on both.

    python -m adfusion_edge.distill.evaluate.theme_prior_check --checkpoint RUN --corpus CORPUS \\
        --test-rows REALTEXT/pitt_test.jsonl --out RUN_glosses --report RUN_glosses.json

Exit code 3: not adopted (the checkpoint is still written, for inspection).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from adfusion_edge import schema
from adfusion_edge.distill.evaluate.evaluator import collect, head_figures, others_identical, text_rows_loader
from adfusion_edge.distill.evaluate.json_report import emit
from adfusion_edge.distill.evaluate.object_thresholds import _loader
from adfusion_edge.distill.models.imagenet_objects import OBJECT_CLASSES, _resolve
from adfusion_edge.errors import ConfigError

ADSYNTH_TOLERANCE = 0.01
PITT_TOLERANCE = 0.005
HEAD = "theme"

# Object labels whose theme is plain from the label alone. Left out: bicycle (sport or transport),
# megaphone (politics or a sale), gift (any theme), person.
OBJECT_THEMES: dict[str, str] = {
    **dict.fromkeys(("pizza", "burger", "coffee", "cake", "apple"), "food"),
    **dict.fromkeys(("phone", "laptop", "headphones", "camera"), "technology"),
    **dict.fromkeys(("watch", "shoe", "dress", "handbag", "sunglasses"), "fashion"),
    **dict.fromkeys(("lipstick", "lotion"), "beauty"),
    "car": "automotive",
    **dict.fromkeys(("plane", "suitcase"), "travel"),
    **dict.fromkeys(("money_bag", "credit_card"), "finance"),
    **dict.fromkeys(("pill", "stethoscope"), "health"),
    **dict.fromkeys(("game_controller", "ticket", "clapperboard", "music_note"), "entertainment"),
    "ballot_box": "politics",
    **dict.fromkeys(("book", "graduation_cap"), "education"),
    **dict.fromkeys(("house", "sofa"), "home"),
}


def object_class_agreement(matrix: np.ndarray) -> dict[str, Any]:
    """Share of the object-mapped ImageNet classes (of :data:`OBJECT_THEMES`' labels) whose row argmax
    in ``matrix`` (1000, n_themes) is the label's theme; also per theme."""
    themes = schema.head(HEAD).labels
    right: dict[str, list[bool]] = {}
    for label, theme in OBJECT_THEMES.items():
        for i in _resolve(OBJECT_CLASSES[label], label):
            right.setdefault(theme, []).append(themes[int(matrix[i].argmax())] == theme)
    every = [r for rs in right.values() for r in rs]
    return {"classes": len(every), "agreement": round(float(np.mean(every)), 4),
            "by_theme": {t: f"{sum(rs)}/{len(rs)}" for t, rs in sorted(right.items())}}


def decide(before: dict[str, Any], after: dict[str, Any], moved: list[str]) -> dict[str, bool]:
    """The module docstring's rule, part by part."""
    return {"object_class_agreement_rises": after["objects"]["agreement"] > before["objects"]["agreement"],
            "adsynth_theme_holds": after["adsynth_theme"] >= before["adsynth_theme"] - ADSYNTH_TOLERANCE,
            "pitt_theme_holds": after["pitt_theme"] >= before["pitt_theme"] - PITT_TOLERANCE,
            "other_outputs_identical": not moved}


def main(argv: list[str] | None = None) -> int:
    from adfusion_edge.distill.evaluate.calibrate import write_calibrated
    from adfusion_edge.distill.models.checkpoint import TOKENIZER, find_checkpoint, load_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="lite_student checkpoint or run directory (lemma prior)")
    p.add_argument("--corpus", required=True, help="AdSynth corpus with a test split")
    p.add_argument("--test-rows", required=True, type=Path, help="realtext Pitt test rows")
    p.add_argument("--out", required=True, help="write the checkpoint with the gloss prior here")
    p.add_argument("--report", help="write the figures and the decision as JSON here")
    a = p.parse_args(argv)
    ckpt = find_checkpoint(a.checkpoint)
    model, tok = load_model(ckpt), str(ckpt / TOKENIZER)
    if model.config.theme_prior_text != "lemmas":
        raise ConfigError(f"{ckpt}: its theme prior already reads {model.config.theme_prior_text!r}; "
                          "check from a checkpoint with the lemma prior")
    out = write_calibrated(ckpt, Path(a.out), dict(model.config.temperatures), theme_prior_text="glosses")
    figures, collected = {}, {}
    for role, m in (("before", model), ("after", load_model(out))):
        pitt = collect(m, text_rows_loader(a.test_rows, tok, m.preprocess))
        synth = collect(m, _loader(m, a.corpus, "test", tok))
        collected[role] = (pitt, synth)
        figures[role] = {"theme_prior_text": m.config.theme_prior_text,
                         "objects": object_class_agreement(m.priors.theme_matrix.numpy()),
                         "pitt_theme": head_figures(pitt, HEAD)["accuracy"],
                         "adsynth_theme": head_figures(synth, HEAD)["accuracy"]}
    moved = sorted({f"{where}:{k}" for i, where in enumerate(("pitt", "adsynth"))
                    for k in others_identical(collected["before"][i], collected["after"][i], HEAD)})
    parts = decide(figures["before"], figures["after"], moved)
    adopt = all(parts.values())
    emit({"checkpoint": str(ckpt), "out": str(out), **figures, "moved_outputs": moved,
          "rule": parts, "adopt": adopt}, a.report)
    return 0 if adopt else 3


if __name__ == "__main__":
    raise SystemExit(main())
