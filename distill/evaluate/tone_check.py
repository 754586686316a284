"""Does a candidate read the ad's tone better on real text, at no cost elsewhere?

The adoption check of the tone labels (``distill/data/ad_tone.py``, build v3s). It compares a
candidate with the baseline on data the rule may read (never the real-ad dev images):

* Pitt test rows relabelled by tone (real English ad text; ``pitt_test_tone.jsonl``): sentiment
  accuracy and macro-F1, and the share of each answer.
* AdSynth test: sentiment accuracy and macro-F1 (the paper's Table-1 term).
* AdSynth test and the Pitt rows: every other output (theme, CTA, objects, ...) must be bit-identical;
  a v3s fine-tune trains only the sentiment classifier and its temperature, so anything else moving
  is a bug.

Rule (fixed 2026-12-03 13:37 UTC, before any figure of a tone-trained model was read): adopt if on
the Pitt tone rows both sentiment accuracy and macro-F1 rise, AdSynth test sentiment accuracy and
macro-F1 each fall by at most ``TOLERANCE`` (1 point: the relabel changes what "neutral" means for
plain ad copy, and AdSynth's own copy may pay a little for it), and no other output moves.

    python -m adfusion_edge.distill.evaluate.tone_check --baseline runs/student_real_v3m2c \\
        --candidate runs/student_real_v3sc --corpus runs/synth_v1 \\
        --test-rows runs/realtext_v1/pitt_test_tone.jsonl --report runs/student_real_v3sc.json

Exit status 0 = adopt, 3 = keep the baseline.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from adfusion_edge.distill.evaluate.evaluator import collect, head_figures, others_identical, text_rows_loader
from adfusion_edge.distill.evaluate.json_report import emit
from adfusion_edge.distill.evaluate.object_thresholds import _loader

TOLERANCE = 0.01
HEAD = "sentiment"


def decide(base: dict[str, Any], cand: dict[str, Any], moved: list[str], tolerance: float = TOLERANCE) -> dict[str, bool]:
    """The rule of the module docstring, part by part."""
    bp, cp, bs, cs = base["pitt"], cand["pitt"], base["adsynth"], cand["adsynth"]
    return {"pitt_accuracy_rises": cp["accuracy"] > bp["accuracy"],
            "pitt_macro_f1_rises": cp["macro_f1"] > bp["macro_f1"],
            "adsynth_accuracy_holds": cs["accuracy"] >= bs["accuracy"] - tolerance,
            "adsynth_macro_f1_holds": cs["macro_f1"] >= bs["macro_f1"] - tolerance,
            "other_outputs_identical": not moved}


def main(argv: list[str] | None = None) -> int:
    from adfusion_edge.distill.models.checkpoint import TOKENIZER, find_checkpoint, load_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", required=True, help="checkpoint or run directory shipped now")
    p.add_argument("--candidate", required=True, help="checkpoint or run directory to adopt or not")
    p.add_argument("--corpus", required=True, help="AdSynth corpus with a test split")
    p.add_argument("--test-rows", required=True, type=Path, help="realtext Pitt test rows relabelled by ad_tone")
    p.add_argument("--report", help="write the figures and the decision as JSON here")
    a = p.parse_args(argv)
    figures, collected = {}, {}
    for role, path in (("baseline", a.baseline), ("candidate", a.candidate)):
        ckpt = find_checkpoint(path)
        model, tok = load_model(ckpt), str(ckpt / TOKENIZER)
        pitt = collect(model, text_rows_loader(a.test_rows, tok, model.preprocess))
        synth = collect(model, _loader(model, a.corpus, "test", tok))
        collected[role] = (pitt, synth)
        figures[role] = {"checkpoint": str(ckpt), "pitt": head_figures(pitt, HEAD),
                         "adsynth": head_figures(synth, HEAD)}
    moved = sorted({f"{where}:{k}" for i, where in enumerate(("pitt", "adsynth"))
                    for k in others_identical(collected["baseline"][i], collected["candidate"][i], HEAD)})
    parts = decide(figures["baseline"], figures["candidate"], moved)
    adopt = all(parts.values())
    emit({**figures, "moved_outputs": moved, "tolerance": TOLERANCE, "rule": parts, "adopt": adopt}, a.report)
    return 0 if adopt else 3


if __name__ == "__main__":
    raise SystemExit(main())
