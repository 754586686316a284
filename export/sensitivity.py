"""Sensitive nodes for INT8: which quantized nodes to keep in float so the parity gate passes.

The static rules (export/graph_rules.py) keep the nodes in float that are slow or fragile on any
model. What is left can still be too coarse for a particular checkpoint: on the pruned student the
static-conv recipe measured 98.9 % / 98.75 % top-1 agreement on the ctr and shares heads against
the gate's 99 % (three ordinal buckets of a latent engagement score: many ads sit near a bucket
edge, and a little INT8 noise flips them). Which nodes cause it depends on the weights, so it is
measured, leave-one-out, the way TensorRT / ORT users hunt "sensitive layers":

1. quantize with the recipe and compare INT8 with FP32 on a *probe* set: ads of the calibration
   split that the calibrator did not see (no labels needed; the held-out set that gates the export
   plays no part in the choice). Not the calibration ads themselves: their activations never
   exceed the ranges fitted to them, so they under-state the error. On the pruned student they
   read 99.6-99.75 % ctr agreement where the held-out ads read 98.6-98.75 %;
2. if every single-label head agrees on at least ``probe_agreement`` of the probe ads (a margin
   above the gate's 99 %), nothing more is kept in float;
3. otherwise quantize once per quantized node with just that node kept in float, and rank the
   nodes by how much probe error that removes. The error is the mean over single-label heads of
   the total-variation distance between the FP32 and INT8 probabilities: continuous, so it ranks
   nodes where top-1 flips on a few hundred ads would mostly tie;
4. keep the top 1, 2, 4, ... nodes in float until the probe target is met.

Each step is one ORT quantization plus one probe inference (about a second each on the student).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import onnx

from adfusion_edge import schema
from adfusion_edge.export.quantize import QuantConfig, QuantResult, quantize_onnx

_COMPUTE_OPS = {"Conv", "MatMul", "Gemm"}
PROBE_AGREEMENT = 0.995  # the gate asks 0.99 on held-out ads; the probe keeps a margin above it

Outputs = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class ProbeScore:
    """INT8 vs FP32 on the probe ads.

    Attributes:
        error: Mean over single-label heads of the mean total-variation distance of probabilities.
        agreement: Head -> top-1 agreement.
    """

    error: float
    agreement: dict[str, float]

    @property
    def min_agreement(self) -> float:
        return min(self.agreement.values())


def probe_score(fp32: Outputs, int8: Outputs) -> ProbeScore:
    """Compare INT8 with FP32 probabilities on the single-label heads."""
    errors, agreement = [], {}
    for h in schema.HEADS:
        if h.kind == "multi":
            continue
        a, b = np.asarray(fp32[h.name], np.float64), np.asarray(int8[h.name], np.float64)
        errors.append(float(0.5 * np.abs(a - b).sum(-1).mean()))
        agreement[h.name] = float((a.argmax(-1) == b.argmax(-1)).mean())
    return ProbeScore(float(np.mean(errors)), agreement)


@dataclass
class SensitivityReport:
    """What the search measured (goes into bundle.json's export metrics).

    Attributes:
        base: Probe score of the recipe as given.
        ranking: (node, probe error removed by keeping it in float), most useful first; empty
            when the recipe met the probe target as it was.
        kept_float: Nodes the returned config keeps in float.
        final: Probe score of the returned config.
        quantizations: ORT quantizations run by the search.
        probe_ads: Ads in the probe set.
    """

    base: ProbeScore
    ranking: list[tuple[str, float]] = field(default_factory=list)
    kept_float: list[str] = field(default_factory=list)
    final: ProbeScore | None = None
    quantizations: int = 1
    probe_ads: int = 0

    def to_dict(self) -> dict:
        def score(s: ProbeScore | None) -> dict | None:
            return None if s is None else {"error": s.error, "min_agreement": s.min_agreement,
                                           "agreement": s.agreement}

        return {"base": score(self.base), "ranking": [[n, g] for n, g in self.ranking], "kept_float": self.kept_float,
                "final": score(self.final), "quantizations": self.quantizations, "probe_ads": self.probe_ads}


def keep_sensitive_in_float(fp32_path: Path, cfg: QuantConfig, calibration: Sequence[Mapping[str, np.ndarray]],
                            probe: Mapping[str, np.ndarray], probe_fp32: Outputs, workdir: Path,
                            run: Callable[[Path, Mapping[str, np.ndarray]], Outputs],
                            say: Callable[[str], None] = lambda _m: None,
                            probe_agreement: float = PROBE_AGREEMENT) -> tuple[QuantResult, SensitivityReport]:
    """Quantize with ``cfg``, keeping in float the fewest measured-sensitive nodes (module docs).

    Args:
        fp32_path: The FP32 model.
        cfg: The recipe.
        calibration: Calibration batches (feed dicts).
        probe: Feeds of the probe ads (calibration-split ads the calibrator does not see).
        probe_fp32: FP32 outputs on ``probe``.
        workdir: Scratch directory for the candidate models.
        run: ``run(model_path, feeds) -> outputs`` (ORT CPU inference).
        say: Progress callback.
        probe_agreement: Per-head top-1 agreement the probe must reach.

    Returns:
        (the quantization to use, what the search measured). When no set of ranked nodes reaches
        the target, the best found (all useful nodes in float) is returned; the parity gate on
        the held-out ads then decides.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    count = 0

    def attempt(config: QuantConfig, tag: str) -> tuple[QuantResult, ProbeScore]:
        nonlocal count
        count += 1
        # Every candidate is "model.onnx" in its own folder: the bundle ships the file under its name.
        # One calibration per recipe: the leave-one-out candidates reuse its activation ranges (on
        # EfficientNet-Lite0 with 800 calibration ads, 75 s per candidate without the cache).
        q = quantize_onnx(fp32_path, workdir / tag / "model.onnx", calibration, config,
                          calibration_cache=workdir / "calibration_ranges.json")
        score = probe_score(probe_fp32, run(q.path, probe))
        if tag.startswith("loo-"):  # scored and never shipped: do not keep one model file per node
            shutil.rmtree(workdir / tag, ignore_errors=True)
        return q, score

    base_q, base = attempt(cfg, "base")
    report = SensitivityReport(base=base, final=base, probe_ads=int(len(next(iter(probe.values())))))
    if base.min_agreement >= probe_agreement:
        return base_q, report
    # Compute nodes only: a Relu/Clip in the static list runs folded into its Conv.
    op_of = {n.name: n.op_type for n in onnx.load_model(str(fp32_path), load_external_data=False).graph.node}
    candidates = [n for n in [*base_q.static_nodes, *base_q.dynamic_nodes]
                  if op_of.get(n, "MatMul") in _COMPUTE_OPS]
    gains: list[tuple[str, float]] = []
    for i, node in enumerate(candidates):
        say(f"INT8 sensitivity {i + 1}/{len(candidates)}: {node}")
        _, score = attempt(replace(cfg, exclude_nodes=(*cfg.exclude_nodes, node)), f"loo-{i}")
        gains.append((node, base.error - score.error))
    report.ranking = sorted(gains, key=lambda g: -g[1])
    useful = [n for n, g in report.ranking if g > 0]
    best_q, best = base_q, base
    k = 1
    while useful:
        chosen = useful[:k]
        say(f"INT8 sensitivity: {len(chosen)} node(s) kept in float")
        q, score = attempt(replace(cfg, exclude_nodes=(*cfg.exclude_nodes, *chosen)), f"keep-{k}")
        if (score.min_agreement, -score.error) > (best.min_agreement, -best.error):
            best_q, best, report.kept_float = q, score, chosen
        if score.min_agreement >= probe_agreement or k >= len(useful):
            break
        k = min(2 * k, len(useful))
    report.final, report.quantizations = best, count
    return best_q, report
