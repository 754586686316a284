"""One export, end to end: model -> file(s) -> parity gate -> bundle directory.

Used by ``adfusion-edge export`` (export/cli.py) and by tests. Steps:

1. write the FP32 graph (ONNX) or the trace (TorchScript);
2. FP32 parity vs PyTorch on held-out ads (or deterministic example inputs without a corpus);
3. ``int8`` (int8_step.py): calibrate + quantize, INT8 gate vs FP32 on held-out ads, and for
   CPU ONNX time the candidate INT8 recipes against FP32, keeping the fastest that passes;
   a failure raises ParityError, or with ``fallback`` ships FP32 and records why;
4. write the bundle (bundle_writer.py).
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adfusion_edge import schema
from adfusion_edge.errors import BackendUnavailableError, ConfigError
from adfusion_edge.export import parity
from adfusion_edge.export.calibration import AdSet, load_ads, load_probe
from adfusion_edge.export.formats import get_format
from adfusion_edge.export.wrapper import INPUT_NAMES, example_inputs, wrap_for_export
from adfusion_edge.tokenizer import AdTokenizer


@dataclass
class ExportResult:
    """What an export produced.

    Attributes:
        bundle: The bundle directory.
        precision: Precision actually shipped (fp32 after an INT8 fallback).
        metrics: Parity rows, INT8 agreement, latency figures.
        notes: Human-readable remarks (fallback reasons, latency warnings).
    """

    bundle: Path
    precision: str
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def torch_outputs(model: torch.nn.Module, feeds: Mapping[str, np.ndarray], batch: int = 32) -> dict[str, np.ndarray]:
    """Reference probabilities from PyTorch (the ExportWrapper in eval mode)."""
    wrapper = wrap_for_export(model)
    n = len(feeds["image"])
    parts: list[tuple[torch.Tensor, ...]] = []
    with torch.no_grad():
        for i in range(0, n, batch):
            parts.append(wrapper(*(torch.from_numpy(np.ascontiguousarray(feeds[k][i:i + batch])) for k in INPUT_NAMES)))
    return {name: torch.cat([p[j] for p in parts]).numpy() for j, name in enumerate(schema.output_names())}


def ort_outputs(path: str | os.PathLike, feeds: Mapping[str, np.ndarray], batch: int = 32) -> dict[str, np.ndarray]:
    """Outputs of an ONNX file on the CPU provider, batched."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    n = len(feeds["image"])
    parts = [sess.run(names, {k: feeds[k][i:i + batch] for k in INPUT_NAMES}) for i in range(0, n, batch)]
    return {name: np.concatenate([p[j] for p in parts]) for j, name in enumerate(names)}


def measure_latency(paths: Mapping[str, str | os.PathLike], feeds: Mapping[str, np.ndarray], threads: int = 2,
                    rounds: int = 20, per_round: int = 30, reference: str = "fp32") -> dict[str, dict[str, float]]:
    """Batch-1 latency of each model, measured in paired rounds so machine load hits all alike.

    Each round runs every model once, in a shuffled order, as a block of ``per_round`` timed calls
    (after one untimed call that re-warms its caches: a serving process runs one model back to
    back, so alternating call by call would time cache misses the deployment never has). The
    speed-up of a model is the median over rounds of ``reference p50 / model p50`` within the
    same round: drift in the machine's load cancels out of each ratio.

    Args:
        paths: Label -> ONNX file.
        feeds: Input batch; its first row is the batch-1 input.
        threads: Intra-op threads (2: the product's CPU target). Idle workers sleep instead of
            spinning, so one session's spinning cannot slow the next one timed.
        rounds, per_round: Rounds and timed calls per model per round.
        reference: Label the speed-ups are relative to (when present).

    Returns:
        Label -> p50_ms / p90_ms / min_ms over all calls, threads, and (with the reference present)
        speedup (median paired ratio), speedup_p10 / speedup_p90 (its spread over rounds).
    """
    from adfusion_edge.distill.latency import ort_cpu_session, paired_rounds, paired_speedup

    one = {k: np.ascontiguousarray(v[:1]) for k, v in feeds.items()}
    sessions = {}
    for label, p in paths.items():
        sessions[label] = ort_cpu_session(p, threads, spin=False)
        for _ in range(5):
            sessions[label].run(None, one)
    blocks = paired_rounds({k: (lambda s=s: s.run(None, one)) for k, s in sessions.items()}, rounds, per_round,
                           shuffle_seed=0)
    out: dict[str, dict[str, float]] = {}
    for k, rounds_ms in blocks.items():
        v = [t for block in rounds_ms for t in block]
        out[k] = {"p50_ms": float(np.percentile(v, 50)), "p90_ms": float(np.percentile(v, 90)),
                  "min_ms": float(np.min(v)), "threads": threads}
        if reference in blocks:
            out[k].update(paired_speedup(blocks, k, reference))
    return out


def _example_set(model: torch.nn.Module, n: int = 8) -> AdSet:
    pre = model.preprocess
    image, ids, mask = example_inputs(pre.image_size, pre.max_tokens, batch=n, seed=1)
    feeds = {"image": image.numpy(), "input_ids": ids.numpy(), "attention_mask": mask.numpy()}
    return AdSet(feeds, [""] * n)


def export_bundle(model: torch.nn.Module, fmt: str, out: str | os.PathLike, tokenizer_file: str | os.PathLike,
                  int8: bool = False, fp16: bool = False, calib: str | os.PathLike | list | None = None,
                  fallback: bool = False, opset: int = 17, dynamic_seq: bool = False,
                  quant_config: Any = None, measure: bool = True, calib_limit: int = 128,
                  provenance: Mapping[str, Any] | None = None,
                  progress: Callable[[str], None] | None = None, **trt_options: Any) -> ExportResult:
    """Export ``model`` to a verified bundle.

    Args:
        model: The AdModel (eval mode is set here).
        fmt: ``onnx``, ``torchscript`` or ``tensorrt``.
        out: Bundle directory.
        tokenizer_file: tokenizer.json the model was trained with.
        int8, fp16: Precision options (see export/formats.py for what each format accepts).
        calib: Calibration / held-out ads (corpus dir, image folder, or image paths). Required
            for int8.
        fallback: On an INT8 parity failure ship FP32 (fp16 for TensorRT) instead of raising.
        opset, dynamic_seq: ONNX options.
        quant_config: QuantConfig override.
        measure: Time FP32 vs INT8 (about 2 s) into the metrics.
        calib_limit: Most ads per calibration / held-out set.
        provenance: Extra provenance (checkpoint, data, steps, metrics) for bundle.json.
        progress: Called with a short message before each stage.
        **trt_options: max_batch, workspace_gb, dla_core for TensorRT.

    Raises:
        UnknownFormatError: bad format/option. ParityError: a gate failed (no fallback).
        BackendUnavailableError: a required package (tensorrt) is missing.
    """
    from adfusion_edge.export.bundle_writer import write_bundle
    from adfusion_edge.export.onnx_writer import export_onnx, graph_io

    f = get_format(fmt)
    f.validate_options({"int8": int8, "fp16": fp16, "calib": calib, "fallback": fallback,
                        "dynamic_seq": dynamic_seq, **trt_options})
    missing = f.missing_packages()
    if missing:
        raise BackendUnavailableError(f"{', '.join(missing)} not installed (needed for --format {f.name})")
    if int8 and calib is None:
        raise ConfigError("--int8 needs --calib: real ads to calibrate on and to check parity with")
    say = progress or (lambda _msg: None)
    model = model.eval()
    pre = model.preprocess
    tok = AdTokenizer(tokenizer_file, pre.max_tokens)
    calib_set = holdout = probe = None
    if calib is not None:
        say("loading calibration ads")
        calib_set, holdout = load_ads(calib, tok, pre, limit=calib_limit)
        if int8:
            probe = load_probe(calib, tok, pre, skip=len(calib_set), limit=calib_limit)
    check_set = holdout if holdout is not None else _example_set(model)
    reference = torch_outputs(model, check_set.feeds)
    result_metrics: dict[str, Any] = {}
    notes: list[str] = []
    precision = "fp32"
    with tempfile.TemporaryDirectory(prefix="adfusion-export-") as tmp:
        tmpdir = Path(tmp)
        extra: list[Path] = []
        if f.name == "torchscript":
            from adfusion_edge.export.torchscript_writer import export_torchscript

            say("tracing TorchScript")
            model_path = export_torchscript(model, tmpdir / "model.torchscript")
            say("parity: TorchScript vs PyTorch")
            from adfusion_edge.runtimes.torchscript_backend import TorchScriptBackend

            loaded = TorchScriptBackend(model_path, warmup=0)
            parity.check_outputs(reference, loaded.infer(check_set.feeds), "torchscript")
            io = graph_io(export_onnx(model, tmpdir / "signature.onnx", opset, dynamic_seq))
        else:
            say("exporting ONNX (fp32)")
            fp32_path = export_onnx(model, tmpdir / "model.onnx", opset, dynamic_seq)
            io = graph_io(fp32_path)
            say("parity: ONNX fp32 vs PyTorch")
            fp32_out = ort_outputs(fp32_path, check_set.feeds)
            parity.check_outputs(reference, fp32_out, "onnx fp32")
            result_metrics["parity_fp32"] = "ok"
            model_path = fp32_path
            if int8:
                from adfusion_edge.export.int8_step import int8_step

                model_path, precision = int8_step(f.name, fp32_path, fp32_out, calib_set, holdout, probe, tmpdir,
                                                  quant_config, fallback, measure, result_metrics, notes, say)
            if f.name == "tensorrt":
                from adfusion_edge.export.tensorrt_writer import build_engine

                trt_precision = precision if precision == "int8" else ("fp16" if fp16 or fallback else "fp32")
                say(f"building TensorRT engine ({trt_precision})")
                model_path = build_engine(model_path, tmpdir / "model.plan", io["inputs"], trt_precision,
                                          dynamic_seq=dynamic_seq, **trt_options)
                extra.append(Path(str(model_path) + ".json"))
                precision = trt_precision
        prov = {**dict(provenance or {}), "command": " ".join(shlex.quote(a) for a in sys.argv),
                "metrics": {**dict((provenance or {}).get("metrics", {})), "export": result_metrics},
                "data": {**dict((provenance or {}).get("data", {})),
                         "calibration": None if calib is None else str(calib),
                         "calibration_ads": 0 if calib_set is None else len(calib_set),
                         "probe_ads": 0 if probe is None else len(probe),
                         "parity_ads": len(check_set)},
                "notes": notes}
        say("writing bundle")
        bundle = write_bundle(out, model_path, f.name, precision, tokenizer_file, pre, io["inputs"], io["outputs"],
                              prov, extra, batch_independent=result_metrics.get("batch_independent"))
    return ExportResult(bundle, precision, result_metrics, notes)
