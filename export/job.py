"""One export job: what a format's writer is given (model, options, the ads to check parity on).

The exporter builds a job and calls the format table's writer (adfusion_edge/formats.py) with it;
writers call back into the job for the shared steps: the FP32 ONNX graph with its parity gate and,
with ``int8``, the INT8 step (int8_step.py). ``onnx()`` runs once per job: the TensorRT writer
builds its engine from the same graph the ONNX writer would ship.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adfusion_edge.export import parity
from adfusion_edge.export.calibration import AdSet
from adfusion_edge.formats import ModelFormat, Written


@dataclass
class ExportJob:
    """Inputs and shared steps of one export.

    Attributes:
        model: The AdModel, in eval mode.
        fmt: The format's table row.
        tmpdir: Scratch directory the writer writes into (the bundle writer copies from it).
        check_set: Ads the parity gates run on (held-out ads, or example inputs without a corpus).
        reference: PyTorch probabilities on ``check_set`` (onnx_tools.torch_outputs).
        calib_set, holdout, probe: Calibration ads, held-out ads and the sensitivity probe (INT8).
        options: The validated format options (int8, fp16, fallback, opset, dynamic_seq,
            max_batch, workspace_gb, dla_core).
        quant_config: QuantConfig override for the INT8 step.
        measure: Race the INT8 recipes against FP32 (CPU ONNX).
        say: Progress callback.
        metrics, notes: What the steps measured and remarked (go into bundle.json).
        fp32_outputs: The FP32 ONNX graph's outputs on ``check_set`` (set by :meth:`onnx`, which
            gates them; later steps compare against them instead of running the graph again).
    """

    model: torch.nn.Module
    fmt: ModelFormat
    tmpdir: Path
    check_set: AdSet
    reference: dict[str, np.ndarray]
    calib_set: AdSet | None = None
    holdout: AdSet | None = None
    probe: AdSet | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    quant_config: Any = None
    measure: bool = True
    say: Callable[[str], None] = lambda _msg: None
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    fp32_outputs: dict[str, np.ndarray] | None = None
    _onnx: Written | None = None

    def option(self, name: str, default: Any = None) -> Any:
        """A format option as given (``default`` when not given)."""
        return self.options.get(name, default)

    def check_parity(self, got: Mapping[str, np.ndarray], label: str) -> None:
        """The float parity gate of ``got`` against the PyTorch reference (raises ParityError)."""
        parity.check_outputs(self.reference, got, label)

    def onnx(self) -> Written:
        """FP32 ONNX graph + its parity gate; with ``int8`` the INT8 step on top. Once per job."""
        if self._onnx is not None:
            return self._onnx
        from adfusion_edge.export.onnx_tools import ort_outputs
        from adfusion_edge.export.onnx_writer import DEFAULT_OPSET, export_onnx, graph_io

        self.say("exporting ONNX (fp32)")
        fp32_path = export_onnx(self.model, self.tmpdir / "model.onnx", self.option("opset", DEFAULT_OPSET),
                                bool(self.option("dynamic_seq", False)))
        io = graph_io(fp32_path)
        self.say("parity: ONNX fp32 vs PyTorch")
        fp32_out = ort_outputs(fp32_path, self.check_set.feeds)
        self.check_parity(fp32_out, "onnx fp32")
        self.fp32_outputs = fp32_out
        self.metrics["parity_fp32"] = "ok"
        path, precision = fp32_path, "fp32"
        if self.option("int8"):
            from adfusion_edge.export.int8_step import int8_step

            step = int8_step(self.fmt.name, fp32_path, fp32_out, self.calib_set, self.holdout, self.probe,
                             self.tmpdir, self.quant_config, bool(self.option("fallback")), self.measure, self.say)
            path, precision = step.path, step.precision
            self.metrics.update(step.metrics)
            self.notes.extend(step.notes)
        self._onnx = Written(path, precision, io)
        return self._onnx
