"""Add the face detector to a lite_student checkpoint, its threshold set from AdSynth's false positives.

The ``person`` object gets MediaPipe's BlazeFace (distill/models/face_detector.py) as a third piece
of evidence (``person`` = the larger of its own probability and the face's). MediaPipe's own default reports a face at probability 0.5. On ad layouts
(flat colour, big type, product shots) a detector that never saw them may fire more often than on
photos, and nothing in AdSynth is a photographed face, so its ads bound that rate:

Rule (fixed before any figure was read): threshold = max(0.5, the ``QUANTILE`` (object_thresholds.py's,
0.98) of the face probability over the AdSynth val ads that are not labelled ``person``). AdSynth's
people are emoji; the detector may rightly find a face in one, so those ads are left out of the
false-positive count rather than counted against it. Nothing here reads real ads.

    python -m adfusion_edge.distill.evaluate.face_threshold --checkpoint RUN_calibrated \\
        --corpus CORPUS --out RUN_faces --report RUN_faces.json

writes a copy of the checkpoint with ``face_detector`` and ``face_threshold`` in its config, and
reports objects micro-F1, the any-right rate and person precision / recall on AdSynth test before /
after (the split the rule did not read).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from adfusion_edge import schema
from adfusion_edge.distill.evaluate.evaluator import collect
from adfusion_edge.distill.evaluate.json_report import emit
from adfusion_edge.distill.evaluate.object_thresholds import QUANTILE, _loader, object_scores, open_checkpoint

DETECTOR = "blazeface_short_range"
FLOOR = 0.5  # MediaPipe's default min_detection_confidence
FACE_LOGIT = "aux/face_logit"


def face_threshold(face_prob: np.ndarray, person: np.ndarray, quantile: float = QUANTILE,
                   floor: float = FLOOR) -> float:
    """The rule of the module docstring: max(floor, quantile of the face probability on non-person ads)."""
    neg = face_prob[~person]
    t = float(np.quantile(neg, quantile)) if len(neg) else floor
    return round(min(max(t, floor), 0.99), 4)


def _collect(model: torch.nn.Module, loader: Any) -> dict[str, np.ndarray]:
    c = collect(model, loader, keep_aux=(FACE_LOGIT,) if model.config.face_detector else ())
    m = c.targets["m/objects"].astype(bool)
    out = {"prob": 1.0 / (1.0 + np.exp(-c.outputs["objects"][m])), "y": c.targets["y/objects"][m] > 0.5}
    if FACE_LOGIT in c.outputs:
        shift = np.log(model.config.face_threshold / (1 - model.config.face_threshold))
        out["face_prob"] = 1.0 / (1.0 + np.exp(-(c.outputs[FACE_LOGIT][m] + shift)))
    return out


def person_scores(prob: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Precision / recall of ``person`` at 0.5 and how often it is reported."""
    j = schema.OBJECTS.index("person")
    pred, true = prob[:, j] >= 0.5, y[:, j]
    tp = float((pred & true).sum())
    return {"precision": tp / max(float(pred.sum()), 1.0), "recall": tp / max(float(true.sum()), 1.0),
            "reported_share": float(pred.mean()), "labelled_share": float(true.mean())}


def main(argv: list[str] | None = None) -> int:
    from adfusion_edge.distill.evaluate.calibrate import with_config, write_calibrated
    from adfusion_edge.distill.models.checkpoint import load_model

    args, ckpt, model, tok = open_checkpoint(__doc__, "face detector", argv)
    probe = with_config(model, face_detector=DETECTOR, face_threshold=0.5)  # face_prob = the detector's own
    val = _collect(probe, _loader(model, args.corpus, "val", tok))
    person = val["y"][:, schema.OBJECTS.index("person")]
    t = face_threshold(val["face_prob"], person)
    out = write_calibrated(ckpt, Path(args.out), dict(model.config.temperatures), face_detector=DETECTOR,
                           face_threshold=t)
    test = _loader(model, args.corpus, "test", tok)
    before, after = _collect(model, test), _collect(load_model(out), test)
    neg = val["face_prob"][~person]
    result: dict[str, Any] = {
        "checkpoint": str(ckpt), "out": str(out), "detector": DETECTOR, "quantile": QUANTILE, "floor": FLOOR,
        "threshold": t, "val_ads_without_person": int(len(neg)),
        "val_face_prob_quantiles": {q: float(np.quantile(neg, q)) for q in (0.5, 0.9, 0.98, 0.99)} if len(neg) else {},
        "test_before": {**object_scores(before["prob"], before["y"]), "person": person_scores(before["prob"], before["y"])},
        "test_after": {**object_scores(after["prob"], after["y"]), "person": person_scores(after["prob"], after["y"])},
    }
    emit(result, args.report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
