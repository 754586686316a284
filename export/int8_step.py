"""The INT8 step of an export: quantize, gate, and (CPU ONNX) keep the fastest passing recipe.

Which INT8 recipe is fastest depends on the model: on the tiny test model (plain convs) static
QLinearConv pays off; on the MobileNet-style student its depthwise convs run *slower* as
QLinearConv than as ORT's NCHWc float kernels, so quantizing only the text/fusion MatMuls
(dynamic) wins. So when no QuantConfig is forced and ``measure`` is on, both recipes are built,
gated, and timed against FP32 (interleaved, batch 1); the fastest passing one ships, and every
figure goes into the bundle's metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from adfusion_edge.export import parity
from adfusion_edge.export.calibration import AdSet
from adfusion_edge.export.exporter import measure_latency, ort_outputs
from adfusion_edge.export.quantize import QuantConfig, quantize_onnx

CPU_RECIPES: dict[str, QuantConfig] = {
    "static-conv+dynamic-matmul": QuantConfig(),
    "dynamic-matmul": QuantConfig(static_ops=()),
}


def int8_step(fmt: str, fp32_path: Path, fp32_out: dict, calib_set: AdSet, holdout: AdSet, tmpdir: Path,
              quant_config: QuantConfig | None, fallback: bool, measure: bool, metrics: dict, notes: list[str],
              say: Callable[[str], None]) -> tuple[Path, str]:
    """Returns (model file to ship, precision). Raises ParityError unless ``fallback``."""
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
    for i, (name, cfg) in enumerate(recipes.items()):
        say(f"INT8 {name}: calibration on {len(calib_set)} ads")
        q = quantize_onnx(fp32_path, tmpdir / f"int8-{i}" / "model.onnx", calib_set.batches(8), cfg)
        entry = {"config": q.config, "static_nodes": len(q.static_nodes), "dynamic_nodes": len(q.dynamic_nodes),
                 "excluded": q.excluded}
        say(f"INT8 {name}: parity vs FP32 on {len(holdout)} held-out ads")
        try:
            entry["parity"] = parity.check_int8(fp32_out, ort_outputs(q.path, holdout.feeds), holdout.targets).to_dict()
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
        return fp32_path, "fp32"
    chosen = next(iter(passed))
    if measure and fmt == "onnx":
        say("timing FP32 vs INT8 recipes (batch 1, 1 thread, interleaved)")
        lat = measure_latency({"fp32": fp32_path, **passed}, holdout.feeds)
        metrics["latency"] = lat
        chosen = min(passed, key=lambda n: lat[n]["p50_ms"])
        lat["int8"] = lat[chosen]
        if lat[chosen]["p50_ms"] >= lat["fp32"]["p50_ms"]:
            notes.append(f"INT8 is not faster than FP32 on this CPU (p50 {lat[chosen]['p50_ms']:.3f} ms vs "
                         f"{lat['fp32']['p50_ms']:.3f} ms): the model may be too small for int8 kernels to pay off")
    metrics["int8_recipe"] = chosen
    metrics["parity_int8"] = metrics["int8_candidates"][chosen]["parity"]
    metrics["quantization"] = {k: v for k, v in metrics["int8_candidates"][chosen].items() if k != "parity"}
    return passed[chosen], "int8"
