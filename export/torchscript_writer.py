"""TorchScript export: ``torch.jit.trace`` of the ExportWrapper (probabilities, schema order).

Tracing (not scripting) because AdModels are plain tensor programs and the wrapper's output
order is fixed; the trace is checked against eager on fresh inputs by the parity gate.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from adfusion_edge.export.wrapper import example_inputs, wrap_for_export


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
