"""One export, end to end: model -> file(s) -> parity gate -> bundle directory.

Used by ``adfusion-edge export`` (export/cli.py) and by tests. Steps:

1. look the format up in the format table (adfusion_edge/formats.py) and check its options;
2. load the calibration / held-out ads and the PyTorch reference outputs on them (or on
   deterministic example inputs without a corpus);
3. call the format's writer with an ExportJob (job.py): it writes the file and gates its parity.
   ONNX and TensorRT share ``job.onnx()``: FP32 graph, parity vs PyTorch, and with ``int8``
   (int8_step.py) calibrate + quantize, INT8 gate vs FP32 on held-out ads, and for CPU ONNX the
   race of the INT8 recipes against FP32, keeping the fastest that passes; a failure raises
   ParityError, or with ``fallback`` ships FP32 and records why;
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

import torch

from adfusion_edge.errors import BackendUnavailableError, ConfigError
from adfusion_edge.export.calibration import AdSet, load_ads, load_probe
from adfusion_edge.export.job import ExportJob
from adfusion_edge.export.onnx_tools import torch_outputs
from adfusion_edge.export.wrapper import example_inputs
from adfusion_edge.formats import get_format
from adfusion_edge.io_contract import INPUT_NAMES
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


def _example_set(model: torch.nn.Module, n: int = 8) -> AdSet:
    pre = model.preprocess
    image, ids, mask = example_inputs(pre.image_size, pre.max_tokens, batch=n, seed=1)
    feeds = {n: t.numpy() for n, t in zip(INPUT_NAMES, (image, ids, mask), strict=True)}
    return AdSet(feeds, [""] * n)


def export_bundle(model: torch.nn.Module, fmt: str, out: str | os.PathLike, tokenizer_file: str | os.PathLike,
                  int8: bool = False, fp16: bool = False, calib: str | os.PathLike | list | None = None,
                  fallback: bool = False, opset: int = 17, dynamic_seq: bool = False, pack_weights: bool = False,
                  quant_config: Any = None, measure: bool = True, calib_limit: int = 128,
                  provenance: Mapping[str, Any] | None = None,
                  progress: Callable[[str], None] | None = None, ctr_thresholds: Any = None,
                  **trt_options: Any) -> ExportResult:
    """Export ``model`` to a verified bundle.

    Args:
        model: The AdModel (eval mode is set here).
        fmt: ``onnx``, ``torchscript`` or ``tensorrt``.
        out: Bundle directory.
        tokenizer_file: tokenizer.json the model was trained with.
        int8, fp16: Precision options (see adfusion_edge/formats.py for what each format accepts).
        calib: Calibration / held-out ads (corpus dir, image folder, or image paths). Required
            for int8.
        fallback: On an INT8 parity failure ship FP32 (fp16 for TensorRT) instead of raising.
        opset, dynamic_seq: ONNX options.
        pack_weights: ONNX fp32: large weights stored in weights.npz, floats int8 where the gate allows else
            float16, int8 tables exactly (adfusion_edge/packed_weights.py, export/weight_precision.py).
        quant_config: QuantConfig override.
        measure: Time FP32 vs INT8 (about 2 s) into the metrics.
        calib_limit: Most ads per calibration / held-out set.
        provenance: Extra provenance (checkpoint, data, steps, metrics) for bundle.json.
        progress: Called with a short message before each stage.
        ctr_thresholds: The two CTR values of the training data's ctr buckets (bundle.py); None
            leaves them out.
        **trt_options: max_batch, workspace_gb, dla_core for TensorRT.

    Raises:
        UnknownFormatError: bad format/option. ParityError: a gate failed (no fallback).
        BackendUnavailableError: a required package (tensorrt) is missing.
    """
    from adfusion_edge.export.bundle_writer import write_bundle

    f = get_format(fmt)
    f.validate_options({"int8": int8, "fp16": fp16, "calib": calib, "fallback": fallback,
                        "dynamic_seq": dynamic_seq, "pack_weights": pack_weights, **trt_options})
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
    with tempfile.TemporaryDirectory(prefix="adfusion-export-") as tmp:
        job = ExportJob(model, f, Path(tmp), check_set, reference, calib_set, holdout, probe,
                        {"int8": int8, "fp16": fp16, "fallback": fallback, "opset": opset, "dynamic_seq": dynamic_seq,
                         "pack_weights": pack_weights, **trt_options}, quant_config, measure, say)
        written = f.load_writer()(job)  # the format table's writer: export/<format>_writer.py write()
        result_metrics, notes = job.metrics, job.notes
        prov = {**dict(provenance or {}), "command": " ".join(shlex.quote(a) for a in sys.argv),
                "metrics": {**dict((provenance or {}).get("metrics", {})), "export": result_metrics},
                "data": {**dict((provenance or {}).get("data", {})),
                         "calibration": None if calib is None else str(calib),
                         "calibration_ads": 0 if calib_set is None else len(calib_set),
                         "probe_ads": 0 if probe is None else len(probe),
                         "parity_ads": len(check_set)},
                "notes": notes}
        say("writing bundle")
        bundle = write_bundle(out, written.model, f.name, written.precision, tokenizer_file, pre,
                              written.io["inputs"], written.io["outputs"], prov, list(written.extra),
                              batch_independent=result_metrics.get("batch_independent"),
                              ctr_thresholds=ctr_thresholds)
    return ExportResult(bundle, written.precision, result_metrics, notes)
