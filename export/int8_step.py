"""The INT8 step of an export: quantize, gate, and (CPU ONNX) keep the fastest passing recipe.

Which INT8 recipe is fastest depends on the model: dynamic INT8 on the text / fusion MatMuls
pays; static QLinearConv pays on the wider CNN blocks but can lose to ORT's NCHWc float kernel on a
narrow first block, hence the "static from the n-th conv on" recipes. On a trained student the
order also depends on which nodes the sensitivity search keeps in float, and bundle.json records
the race of the shipped model. So
when no QuantConfig is forced, every CPU recipe below is built (only the first with ``measure``
off), and in each the nodes a probe finds sensitive are kept in float (export/sensitivity.py; the
probe is calibration-split ads the calibrator did not see). Each is checked for batch
independence (a mixed batch vs the same ads one at a time) and gated on the held-out ads; with
``measure`` on, the passing ones race FP32 in paired rounds at batch 1
(export/timing.py measure_latency), the one with the highest paired speed-up ships, and every figure goes
into the bundle's metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adfusion_edge.export import parity
from adfusion_edge.export.calibration import AdSet
from adfusion_edge.export.onnx_tools import ort_outputs
from adfusion_edge.export.quantize import QuantConfig, quantize_onnx
from adfusion_edge.export.sensitivity import keep_sensitive_in_float
from adfusion_edge.export.timing import measure_latency

CPU_RECIPES: dict[str, QuantConfig] = {
    "static-conv+dynamic-matmul": QuantConfig(),
    "static-conv-after-2+dynamic-matmul": QuantConfig(float_prefix_convs=2),
    "static-conv-after-4+dynamic-matmul": QuantConfig(float_prefix_convs=4),
    "dynamic-matmul": QuantConfig(static_ops=()),
    # Static only: every scale is fixed at calibration, so an ad's answer cannot depend on the other
    # ads of its batch (DynamicQuantizeLinear computes one scale over the whole batch). A server that
    # micro-batches needs this; the race below prefers it whenever it passes the gate.
    "static-conv": QuantConfig(dynamic_ops=()),
}
RACE_THREADS = 2  # the product's CPU target (README: 2 threads, batch 1)


@dataclass
class Int8Result:
    """What the INT8 step decided.

    Attributes:
        path: Model file to ship (the FP32 file after a fallback).
        precision: ``int8``, or ``fp32`` after a fallback.
        metrics: int8_candidates (per recipe: config, node counts, sensitivity, parity),
            parity_int8, and when a recipe shipped: int8_recipe, quantization, latency (the race).
        notes: Human-readable remarks (fallback reason, INT8 not faster).
    """

    path: Path
    precision: str
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def int8_step(fmt: str, fp32_path: Path, fp32_out: dict, calib_set: AdSet, holdout: AdSet, probe: AdSet | None,
              tmpdir: Path, quant_config: QuantConfig | None, fallback: bool, measure: bool,
              say: Callable[[str], None]) -> Int8Result:
    """Quantize, gate and (CPU ONNX with ``measure``) race the INT8 recipes.

    Args:
        probe: Calibration-split ads the calibrator does not see, for the sensitivity search
            (calibration.load_probe); None probes the calibration ads themselves (optimistic).

    Raises:
        ParityError: no recipe passed the gate and ``fallback`` is off.
    """
    metrics: dict[str, Any] = {}
    notes: list[str] = []
    if fmt == "tensorrt":
        from adfusion_edge.export.tensorrt_writer import TENSORRT_QUANT

        recipes = {"tensorrt-qdq": quant_config or TENSORRT_QUANT}
    elif quant_config is not None:
        recipes = {"custom": quant_config}
    else:
        recipes = CPU_RECIPES if measure else dict(list(CPU_RECIPES.items())[:1])
    passed: dict[str, Path] = {}
    failure: parity.ParityError | None = None
    metrics["int8_candidates"] = {}
    # The built-in CPU recipes keep measured-sensitive nodes in float; a forced config is used as given.
    search = fmt == "onnx" and quant_config is None
    probe = probe if probe is not None else calib_set
    probe_fp32 = ort_outputs(fp32_path, probe.feeds) if search else None
    for i, (name, cfg) in enumerate(recipes.items()):
        say(f"INT8 {name}: calibration on {len(calib_set)} ads")
        sensitivity = None
        if probe_fp32 is not None:
            q, sens = keep_sensitive_in_float(fp32_path, cfg, calib_set.batches(8), probe.feeds, probe_fp32,
                                              tmpdir / f"int8-{i}", ort_outputs, say)
            sensitivity = sens.to_dict()
        else:
            q = quantize_onnx(fp32_path, tmpdir / f"int8-{i}" / "model.onnx", calib_set.batches(8), cfg)
        entry = {"config": q.config, "static_nodes": len(q.static_nodes), "dynamic_nodes": len(q.dynamic_nodes),
                 "excluded": q.excluded, "sensitivity": sensitivity}
        say(f"INT8 {name}: batch independence and parity vs FP32 on {len(holdout)} held-out ads")
        batched = ort_outputs(q.path, holdout.feeds)
        one_by_one = ort_outputs(q.path, holdout.feeds, batch=1)
        independence = parity.check_batch_independence(batched, one_by_one)
        entry["batch_independence"] = independence.to_dict()
        try:
            # A recipe that mixes the ads of a batch is run one ad at a time by the runtime:
            # gate what users will get.
            gated = batched if independence.ok else one_by_one
            entry["parity"] = parity.check_int8(fp32_out, gated, holdout.targets).to_dict()
            passed[name] = q.path
        except parity.ParityError as e:
            entry["parity"] = e.result.to_dict() if e.result is not None else {"ok": False}
            failure = failure or e
        metrics["int8_candidates"][name] = entry
    if not passed:
        metrics["parity_int8"] = next(iter(metrics["int8_candidates"].values()))["parity"]
        if not fallback:
            raise failure  # type: ignore[misc]
        notes.append(f"INT8 failed the parity gate; shipping {'fp16' if fmt == 'tensorrt' else 'fp32'}:\n"
                     f"{failure.table if failure else ''}")
        return Int8Result(fp32_path, "fp32", metrics, notes)
    # Batch-independent recipes first: one that mixes the ads of a batch is run ad by ad at serving
    # time (no batching gain, and a different answer per batch would be worse). Only when none passes
    # does a batch-dependent recipe compete.
    independent = {n: p for n, p in passed.items()
                   if metrics["int8_candidates"][n]["batch_independence"]["ok"]}
    passed = independent or passed
    chosen = next(iter(passed))
    if measure and fmt == "onnx":
        say(f"timing FP32 vs INT8 recipes (batch 1, {RACE_THREADS} threads, paired rounds)")
        lat = measure_latency({"fp32": fp32_path, **passed}, holdout.feeds, threads=RACE_THREADS)
        metrics["latency"] = lat
        chosen = max(passed, key=lambda n: lat[n]["speedup"])
        lat["int8"] = lat[chosen]
        if lat[chosen]["speedup"] <= 1.0:
            notes.append(f"INT8 is not faster than FP32 on this CPU (paired speed-up {lat[chosen]['speedup']:.2f}x, "
                         f"p50 {lat[chosen]['p50_ms']:.3f} ms vs {lat['fp32']['p50_ms']:.3f} ms): the model may be "
                         f"too small for int8 kernels to pay off")
    metrics["int8_recipe"] = chosen
    metrics["batch_independent"] = bool(metrics["int8_candidates"][chosen]["batch_independence"]["ok"])
    if not metrics["batch_independent"]:
        bi = metrics["int8_candidates"][chosen]["batch_independence"]
        notes.append(f"INT8 recipe {chosen} mixes the ads of a batch (batched vs one-at-a-time: max |diff| "
                     f"{bi['max_abs']:.3g}, label flips {bi['label_flips'] or 'none'} on {bi['n']} ads); the bundle "
                     f"says batch_independent: false and the runtime runs it one ad at a time")
    metrics["parity_int8"] = metrics["int8_candidates"][chosen]["parity"]
    metrics["quantization"] = {k: v for k, v in metrics["int8_candidates"][chosen].items() if k != "parity"}
    return Int8Result(passed[chosen], "int8", metrics, notes)
