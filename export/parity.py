"""Parity gate at export: exported graphs must match PyTorch (FP32) and FP32 (INT8).

* FP32 ONNX / TorchScript vs PyTorch: every output within ``atol + rtol * |ref|`` on real ads.
* INT8 vs FP32 on a held-out set: agreement >= 99 % on every head: top-1 on the single-label
  heads (single and ordinal kinds), the same label set at ``MULTI_THRESHOLD`` on the multi-label
  ones (objects, keywords), and when labels are known the paper's overall Table 1 score (schema.
  TABLE1_COLUMNS, computed by distill/evaluate/metrics.py) drops by at most 0.5 points.

A failure raises ParityError carrying the per-head table (the CLI prints it and, with
``--fallback``, ships FP32 instead).

* Batch independence (INT8 candidates): outputs of a mixed batch vs the same ads one at a time,
  labels equal and probabilities within ``BATCH_ATOL``. A recipe that fails it (dynamic
  quantization takes one activation scale over the whole batch) is recorded as
  ``batch_independent: false``; the runtime then runs it one ad at a time, so the parity gate
  is applied to its one-at-a-time outputs, which are what users get.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from adfusion_edge import schema
from adfusion_edge.errors import ParityError

# Probabilities are in [0, 1]; float32 reassociation across runtimes stays far below 1e-4.
DEFAULT_ATOL = 1e-4
DEFAULT_RTOL = 1e-3
MIN_AGREEMENT = 0.99
MAX_OVERALL_DROP = 0.005  # 0.5 points of a score expressed as a fraction
# Batched vs one-at-a-time probabilities of a batch-independent graph differ only by float
# reassociation in kernels chosen per batch size (~1e-6); dynamic INT8 moves them by ~1e-2.
BATCH_ATOL = 1e-4
MULTI_THRESHOLD = 0.5  # label decision of multi-label heads (postprocess default)


@dataclass
class OutputParity:
    name: str
    max_abs: float
    max_excess: float  # max of |a - b| - (atol + rtol |b|); > 0 means out of tolerance
    ok: bool


def check_outputs(reference: Mapping[str, np.ndarray], candidate: Mapping[str, np.ndarray], what: str,
                  atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL,
                  per_output: Mapping[str, tuple[float, float]] | None = None) -> list[OutputParity]:
    """Compare every output of ``candidate`` with ``reference`` (FP32 gate).

    Args:
        reference: PyTorch outputs, name -> array.
        candidate: Exported-model outputs on the same inputs.
        what: Label for the error message ("onnx fp32", "torchscript").
        atol, rtol: Default tolerances.
        per_output: Optional name -> (atol, rtol) overrides.

    Returns:
        One row per output.

    Raises:
        ParityError: an output missing, of another shape, or out of tolerance.
    """
    rows = []
    for name in schema.output_names():
        a_tol, r_tol = (per_output or {}).get(name, (atol, rtol))
        if name not in candidate:
            rows.append(OutputParity(name, float("inf"), float("inf"), False))
            continue
        ref, got = np.asarray(reference[name], np.float64), np.asarray(candidate[name], np.float64)
        if ref.shape != got.shape:
            rows.append(OutputParity(name, float("inf"), float("inf"), False))
            continue
        diff = np.abs(ref - got)
        excess = float((diff - (a_tol + r_tol * np.abs(ref))).max(initial=-np.inf))
        finite = bool(np.isfinite(got).all())
        rows.append(OutputParity(name, float(diff.max(initial=0.0)), excess, finite and excess <= 0))
    if not all(r.ok for r in rows):
        table = "\n".join(f"  {r.name:16s} max|diff| {r.max_abs:.3g}  {'ok' if r.ok else 'FAIL'}" for r in rows)
        raise ParityError(f"{what} does not match PyTorch (atol {atol}, rtol {rtol})", table)
    return rows


def _overall(probs: Mapping[str, np.ndarray], targets: Mapping[str, np.ndarray]) -> float | None:
    from adfusion_edge.distill.evaluate.metrics import classification_metrics, summary_scores

    heads = {}
    for h in schema.HEADS:
        if h.kind == "multi":
            continue
        mask = np.asarray(targets[f"m/{h.name}"], bool)
        heads[h.name] = classification_metrics(np.asarray(probs[h.name])[mask].argmax(-1),
                                               np.asarray(targets[f"y/{h.name}"])[mask], h.num_labels)
    return summary_scores(heads)["overall"]


@dataclass
class Int8Parity:
    """Result of the INT8 gate.

    Attributes:
        agreement: head -> agreement with FP32 (top-1, or the label set of a multi-label head).
        overall_fp32, overall_int8: Table 1 overall score (fractions) when labels were given.
        n: Held-out ads compared.
        ok: Whether the gate passed.
    """

    agreement: dict[str, float] = field(default_factory=dict)
    overall_fp32: float | None = None
    overall_int8: float | None = None
    n: int = 0
    ok: bool = True

    def table(self, min_agreement: float = MIN_AGREEMENT) -> str:
        lines = [f"  {'head':16s} agreement (>= {min_agreement:.0%})"]
        for name, a in self.agreement.items():
            lines.append(f"  {name:16s} {a:8.2%}  {'ok' if a >= min_agreement else 'FAIL'}")
        if self.overall_fp32 is not None and self.overall_int8 is not None:
            lines.append(f"  overall score    fp32 {100 * self.overall_fp32:.2f}  int8 {100 * self.overall_int8:.2f}  "
                         f"(drop {100 * (self.overall_fp32 - self.overall_int8):+.2f} points)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"agreement": self.agreement, "overall_fp32": self.overall_fp32, "overall_int8": self.overall_int8,
                "n": self.n, "ok": self.ok}


def same_decision(head: schema.Head, ref: np.ndarray, got: np.ndarray) -> np.ndarray:
    """Per ad, whether both outputs decide alike: the same top-1 label (single-label heads) or the
    same label set at MULTI_THRESHOLD (multi-label heads)."""
    if head.kind == "multi":
        return ((ref >= MULTI_THRESHOLD) == (got >= MULTI_THRESHOLD)).all(-1)
    return np.argmax(ref, -1) == np.argmax(got, -1)


def head_agreement(head: schema.Head, ref: np.ndarray, got: np.ndarray) -> float:
    """Share of ads with the same decision (same_decision)."""
    return float(same_decision(head, ref, got).mean())


def check_int8(fp32: Mapping[str, np.ndarray], int8: Mapping[str, np.ndarray],
               targets: Mapping[str, np.ndarray] | None = None, min_agreement: float = MIN_AGREEMENT,
               max_overall_drop: float = MAX_OVERALL_DROP) -> Int8Parity:
    """The INT8 gate (see module docstring).

    Raises:
        ParityError: agreement below ``min_agreement`` on any head, or overall score
            dropping by more than ``max_overall_drop``.
    """
    res = Int8Parity(n=int(next(iter(fp32.values())).shape[0]))
    for h in schema.HEADS:
        res.agreement[h.name] = head_agreement(h, fp32[h.name], int8[h.name])
    if targets is not None:
        res.overall_fp32, res.overall_int8 = _overall(fp32, targets), _overall(int8, targets)
    drop_ok = (res.overall_fp32 is None or res.overall_int8 is None
               or res.overall_fp32 - res.overall_int8 <= max_overall_drop + 1e-12)
    res.ok = drop_ok and all(a >= min_agreement for a in res.agreement.values())
    if not res.ok:
        raise ParityError(f"INT8 model fails the parity gate on {res.n} held-out ads", res.table(min_agreement), res)
    return res


@dataclass
class BatchIndependence:
    """Batched vs one-at-a-time outputs of the same ads.

    Attributes:
        max_abs: Largest probability difference over every output.
        label_flips: head -> ads whose label(s) differ (argmax; multi-label heads at 0.5).
        n: Ads compared.
        ok: No label flips and ``max_abs <= atol``.
    """

    max_abs: float
    label_flips: dict[str, int]
    n: int
    ok: bool
    atol: float = BATCH_ATOL

    def to_dict(self) -> dict:
        return {"max_abs": self.max_abs, "label_flips": self.label_flips, "n": self.n, "ok": self.ok,
                "atol": self.atol}


def check_batch_independence(batched: Mapping[str, np.ndarray], single: Mapping[str, np.ndarray],
                             atol: float = BATCH_ATOL) -> BatchIndependence:
    """Compare a model's outputs on mixed batches with its outputs one ad at a time (no raise)."""
    max_abs = 0.0
    for name in schema.output_names():
        diff = np.abs(np.asarray(batched[name], np.float64) - np.asarray(single[name], np.float64))
        max_abs = max(max_abs, float(diff.max(initial=0.0)))
    flips: dict[str, int] = {}
    for h in schema.HEADS:
        differ = ~same_decision(h, np.asarray(batched[h.name]), np.asarray(single[h.name]))
        if differ.any():
            flips[h.name] = int(differ.sum())
    n = int(np.asarray(batched[schema.HEADS[0].name]).shape[0])
    return BatchIndependence(max_abs, flips, n, not flips and max_abs <= atol, atol)
