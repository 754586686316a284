"""CPU INT8: ONNX Runtime static quantization of the convolutions + dynamic quantization of the
token-stream matrix multiplies, with the sensitive / overhead-dominated nodes left in float.

Why not plain ``quantize_static`` over the whole graph: on the registry's default student
(1.46 M params, 160 px, 64 tokens, batch 1, 1 ORT thread, AVX-512 VNNI, ORT 1.32) a naive QDQ
model (all Conv/Gemm/MatMul, s8/s8, per-channel, nothing excluded) ran p50 4.4 ms vs 1.9 ms FP32.
ORT profiling (``SessionOptions.enable_profiling``) showed where:

* in-graph normalisation Mul/Sub 0.7 ms each (25 us in FP32): a QuantizeLinear behind them blocks
  ORT's transpose / NCHWc rewrites (see graph_rules);
* QLinearConv of the 3-channel stem: 3x its float time;
* depthwise QLinearConv 70-80 us vs 27 us for ORT's NCHWc float depthwise kernel;
* QLinearSoftmax, QLinearMatMul on attention scores, Q/DQ pairs around every small Gemm.

Per node, what does pay off: 1x1 convs (35 -> 21 us) and every constant-weight MatMul with
dynamic quantization (DynamicQuantizeMatMul, 30-53 -> 20-33 us). Recipes (same machine, 2 shared
cores under load, interleaved runs, p50 / min ms): FP32 1.91 / 1.21; static QOperator conv+ReLU +
dynamic MatMul (the default here) 1.82 / 1.19; dynamic MatMul only 1.70 / 1.08; QDQ conv only
2.25 / 1.43; naive 4.37 / 2.52. QOperator beat QDQ for the static part (1.10 vs 1.29 ms in a
quieter run): ORT keeps the stem in NCHWc and folds the ReLU into QLinearConv. Because the best
recipe depends on the model (plain convs vs depthwise), export/int8_step.py builds every recipe,
gates each and ships the fastest (timed against FP32 at export).

On the pruned default student (534 k params, 14 M MACs, 2 ORT threads, AMD EPYC, paired rounds;
sibling Linears merged, export/graph_merge.py), 2026-12: dynamic MatMul only 1.06-1.20x FP32
(the spread is between runs on a shared machine), static conv + dynamic MatMul 1.05-1.12x. Static
convs also cost accuracy there: convs alone (text in float) gave 98.75 % ctr agreement on held-out
ads against the 99 % gate, text MatMuls alone >= 99.6 % on every head, so the export's sensitivity
search (export/sensitivity.py) has to keep 8-10 nodes of the static recipes in float, and what is
left of their speed-up then loses the race. Most of a ~0.5 ms batch-1 run is per-node overhead and
float ops INT8 does not touch (layout, softmax, LayerNorm, the stem, the colour pool): that caps
INT8's gain at batch 1; at batch 64 it is larger (benchmarks/REPORT.md).

Defaults of QuantConfig:

* static (u8 activations / s8 per-channel weights, no reduce_range: VNNI runs u8 x s8 at full
  range), QOperator, on Conv (+ the ReLU/Clip folded into it); stem and normalisation excluded;
* dynamic quantization on the MatMuls whose weight is constant (text / fusion Linear layers;
  non-head Gemms are first rewritten as MatMul + Add, since ORT dynamic-quantizes MatMul only);
* heads, attention-score MatMuls, Softmax, LayerNorm, GELU, Sigmoid stay FP32.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnx

from adfusion_edge.errors import ConfigError
from adfusion_edge.export import graph_rules

_QUANT_TYPES = {"int8": "QInt8", "uint8": "QUInt8"}
_METHODS = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile"}


@dataclass(frozen=True)
class QuantConfig:
    """INT8 settings (defaults = the fastest measured on an AVX-512 VNNI CPU, see module docs).

    Attributes:
        static_ops: Op types quantized statically with calibrated activation ranges.
        dynamic_ops: Op types quantized dynamically (constant weights only).
        gemm_as_matmul: Rewrite non-head Gemms as MatMul + Add so dynamic quantization reaches them.
        quant_format: ``qoperator`` (QLinearConv with the ReLU folded in: measured fastest on the
            CPU) or ``qdq`` (QuantizeLinear/DequantizeLinear pairs: portable, what TensorRT needs).
        activation_type: ``uint8`` or ``int8`` static activations.
        weight_type: ``int8`` or ``uint8`` weights.
        per_channel: Per-output-channel weight scales.
        reduce_range: 7-bit weights (only for CPUs without VNNI, where u8s8 can overflow).
        calibrate_method: ``minmax``, ``entropy`` or ``percentile``.
        exclude_normalisation, exclude_stem, exclude_heads, exclude_activation_matmuls: The
            rules of export/graph_rules.py.
        float_prefix_convs: Keep the first N convolutions after the stem in float
            (graph_rules.leading_convs): the INT8 part of the CNN then starts where it pays.
        exclude_nodes: Extra node names to keep in float.
        symmetric_activations: Zero-point-0 activations (TensorRT's explicit-quantization
            requirement; see tensorrt_writer.TENSORRT_QUANT).
    """

    static_ops: tuple[str, ...] = ("Conv", "Relu", "Clip")
    dynamic_ops: tuple[str, ...] = ("MatMul",)
    gemm_as_matmul: bool = True
    quant_format: str = "qoperator"
    activation_type: str = "uint8"
    weight_type: str = "int8"
    per_channel: bool = True
    reduce_range: bool = False
    calibrate_method: str = "minmax"
    exclude_normalisation: bool = True
    exclude_stem: bool = True
    exclude_heads: bool = True
    exclude_activation_matmuls: bool = True
    float_prefix_convs: int = 0
    exclude_nodes: tuple[str, ...] = ()
    symmetric_activations: bool = False

    def __post_init__(self) -> None:
        if self.quant_format not in ("qdq", "qoperator"):
            raise ConfigError(f"quant_format must be qdq or qoperator, got {self.quant_format!r}")
        for name in ("activation_type", "weight_type"):
            if getattr(self, name) not in _QUANT_TYPES:
                raise ConfigError(f"{name} must be one of {sorted(_QUANT_TYPES)}, got {getattr(self, name)!r}")
        if self.calibrate_method not in _METHODS:
            raise ConfigError(f"calibrate_method must be one of {sorted(_METHODS)}")
        if not isinstance(self.float_prefix_convs, int) or self.float_prefix_convs < 0:
            raise ConfigError(f"float_prefix_convs must be a non-negative int, got {self.float_prefix_convs!r}")
        if not self.static_ops and not self.dynamic_ops:
            raise ConfigError("nothing to quantize: static_ops and dynamic_ops are both empty")
        for name in ("static_ops", "dynamic_ops", "exclude_nodes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass
class QuantResult:
    """What quantization did.

    Attributes:
        path: The INT8 model file.
        static_nodes: Nodes quantized statically.
        dynamic_nodes: Nodes quantized dynamically.
        excluded: Node name -> why it stays float.
        calibration_batches: Batches the calibrator saw.
        config: The QuantConfig as a dict.
    """

    path: Path
    static_nodes: list[str] = field(default_factory=list)
    dynamic_nodes: list[str] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)
    calibration_batches: int = 0
    config: dict = field(default_factory=dict)


def _excluded(model: onnx.ModelProto, cfg: QuantConfig) -> dict[str, str]:
    out: dict[str, str] = {}
    norm, stems = graph_rules.normalisation_nodes(model)
    if cfg.exclude_normalisation:
        out.update({n: "in-graph normalisation" for n in norm})
    if cfg.exclude_stem:
        out.update({n: "stem conv (<= 4 input channels)" for n in stems})
    if cfg.exclude_heads:
        out.update({n: "head layer" for n in graph_rules.head_nodes(model)})
    if cfg.exclude_activation_matmuls:
        out.update({n: "activation x activation MatMul (attention)" for n in graph_rules.activation_matmuls(model)})
    if cfg.float_prefix_convs and cfg.static_ops:
        out.update({n: "leading conv (float prefix)" for n in graph_rules.leading_convs(model, cfg.float_prefix_convs)
                    if n not in out})
    out.update({n: "excluded by config" for n in cfg.exclude_nodes})
    return out


class _Reader:
    """CalibrationDataReader over an iterable of feed dicts (each a batch of model inputs)."""

    def __init__(self, batches: Iterable[Mapping[str, np.ndarray]], input_names: list[str]):
        self._batches = [{k: np.ascontiguousarray(b[k]) for k in input_names} for b in batches]
        if not self._batches:
            raise ConfigError("INT8 calibration needs at least one batch of real ads (got none)")
        self._it = iter(self._batches)

    def __len__(self) -> int:
        return len(self._batches)

    def get_next(self) -> dict | None:
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter(self._batches)


def quantize_onnx(fp32_path: str | os.PathLike, out_path: str | os.PathLike,
                  calibration: Iterable[Mapping[str, np.ndarray]], config: QuantConfig | None = None,
                  calibration_cache: str | os.PathLike | None = None) -> QuantResult:
    """Quantize an FP32 ONNX model to INT8 for the CPU.

    Args:
        fp32_path: FP32 model from onnx_writer.export_onnx.
        out_path: Where to write the INT8 model.
        calibration: Batches of real, preprocessed ads (see export/calibration.py): dicts with
            ``image``, ``input_ids``, ``attention_mask``.
        config: Settings; QuantConfig() when None.
        calibration_cache: JSON file of activation ranges (ORT's ``calibration_cache_path``): written
            by the first call, read by later ones instead of running the calibration ads again. Only
            for calls on the same model and calibration ads whose configs differ in which nodes
            stay float (the sensitivity search): the FP32 activations, and so their ranges, are the same.

    Returns:
        A QuantResult naming what was quantized and what was kept in float, and why.

    Raises:
        ConfigError: empty calibration data or bad settings.
    """
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    cfg = config or QuantConfig()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    result = QuantResult(path=out_path, config=cfg.to_dict())
    with tempfile.TemporaryDirectory(prefix="adfusion-int8-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        # Symbolic shape inference cannot resolve the reshapes of dynamic-batch attention; ONNX
        # shape inference plus ORT's basic fusions (what the quantizer needs) still run.
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        model = onnx.load_model(str(pre))
        excluded = _excluded(model, cfg)
        if cfg.gemm_as_matmul and "MatMul" in cfg.dynamic_ops:
            graph_rules.gemm_to_matmul(model, keep=set(excluded))
            onnx.save_model(model, str(pre))
            excluded.update({n: why for n, why in _excluded(model, cfg).items() if n not in excluded})
        result.excluded = excluded
        current = pre
        if cfg.static_ops:
            reader = _Reader(calibration, [i.name for i in model.graph.input])
            result.calibration_batches = len(reader)
            static_out = Path(tmp) / "static.onnx"
            targets = [n.name for n in model.graph.node if n.op_type in cfg.static_ops and n.name not in excluded]
            quantize_static(
                str(current), str(static_out), reader,
                quant_format=QuantFormat.QDQ if cfg.quant_format == "qdq" else QuantFormat.QOperator,
                nodes_to_quantize=targets or None, op_types_to_quantize=list(cfg.static_ops),
                nodes_to_exclude=list(excluded), per_channel=cfg.per_channel, reduce_range=cfg.reduce_range,
                activation_type=getattr(QuantType, _QUANT_TYPES[cfg.activation_type]),
                weight_type=getattr(QuantType, _QUANT_TYPES[cfg.weight_type]),
                calibrate_method=getattr(CalibrationMethod, _METHODS[cfg.calibrate_method]),
                extra_options={"ActivationSymmetric": cfg.symmetric_activations,
                               "WeightSymmetric": True},
                calibration_cache_path=calibration_cache,
            )
            result.static_nodes = targets
            current = static_out
        if cfg.dynamic_ops:
            m = onnx.load_model(str(current))
            graph = m.graph
            inits = {t.name for t in graph.initializer}
            targets = [n.name for n in graph.node if n.op_type in cfg.dynamic_ops and n.name not in excluded
                       and len(n.input) > 1 and n.input[1] in inits]
            if targets:
                dyn_out = Path(tmp) / "dynamic.onnx"
                # ORT warns "model already quantized?" on any model holding QLinear ops; here that
                # is by design (static convs first, dynamic matmuls second).
                root = logging.getLogger()
                level = root.level
                root.setLevel(max(level, logging.ERROR))
                try:
                    quantize_dynamic(
                        str(current), str(dyn_out), op_types_to_quantize=list(cfg.dynamic_ops),
                        nodes_to_quantize=targets, nodes_to_exclude=list(excluded), per_channel=cfg.per_channel,
                        reduce_range=cfg.reduce_range, weight_type=getattr(QuantType, _QUANT_TYPES[cfg.weight_type]),
                        extra_options={"MatMulConstBOnly": True},
                    )
                finally:
                    root.setLevel(level)
                result.dynamic_nodes = targets
                current = dyn_out
        final = onnx.load_model(str(current))
        final.producer_name = "adfusion-edge"
        onnx.checker.check_model(final)
        onnx.save_model(final, str(out_path))
    return result
