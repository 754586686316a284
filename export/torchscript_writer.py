"""TorchScript export: ``torch.jit.trace`` of the ExportWrapper (probabilities, schema order).

Tracing (not scripting) because AdModels are plain tensor programs and the wrapper's output
order is fixed; the trace is checked against eager on fresh inputs by the parity gate.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from adfusion_edge.export.wrapper import example_inputs, wrap_for_export
from adfusion_edge.formats import Written


def export_torchscript(model: torch.nn.Module, path: str | Path) -> Path:
    """Trace ``model`` (an AdModel) through ExportWrapper and save it.

    Args:
        model: The AdModel.
        path: Output ``.torchscript`` file.

    Returns:
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pre = model.preprocess
    wrapper = wrap_for_export(model)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape-as-constant notes; parity checks it
        warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.12 steers to torch.export
        traced = torch.jit.trace(wrapper, example_inputs(pre.image_size, pre.max_tokens), check_trace=False)
        traced = torch.jit.freeze(traced.eval())
        traced.save(str(path))
    return path


def write(job: Any) -> Written:
    """The format table's writer for ``torchscript``: trace, parity of the loaded trace vs PyTorch.

    The bundle's signature comes from an ONNX export of the same model (TorchScript files do not
    carry one).

    Args:
        job: An export.job.ExportJob.
    """
    from adfusion_edge.export.onnx_writer import DEFAULT_OPSET, export_onnx, graph_io
    from adfusion_edge.runtimes.torchscript_backend import TorchScriptBackend

    job.say("tracing TorchScript")
    path = export_torchscript(job.model, job.tmpdir / "model.torchscript")
    job.say("parity: TorchScript vs PyTorch")
    loaded = TorchScriptBackend(path, warmup=0)
    job.check_parity(loaded.infer(job.check_set.feeds), "torchscript")
    signature = export_onnx(job.model, job.tmpdir / "signature.onnx", job.option("opset", DEFAULT_OPSET),
                            bool(job.option("dynamic_seq", False)))
    return Written(path, "fp32", graph_io(signature))
