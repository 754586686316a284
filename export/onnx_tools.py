"""ONNX in one small module: an AdModel to ONNX bytes, CPU ONNX Runtime sessions, and the outputs
the parity gates compare (PyTorch reference vs an ONNX file).

Used by the exporter and the INT8 step, by the pruner's latency measurement (it times the graph
that export writes, through the same wrapper and exporter) and by the student report. Inputs come
from the model contract (adfusion_edge/io_contract.py), outputs from the label schema.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adfusion_edge import io_contract, packed_weights, schema
from adfusion_edge.export.wrapper import example_inputs, wrap_for_export

DEFAULT_OPSET = 17


def export_onnx_bytes(model: torch.nn.Module, opset: int = DEFAULT_OPSET) -> bytes:
    """The model's inference graph (export wrapper: probabilities) as ONNX bytes, dynamic batch.

    The plain TorchScript-exporter graph, without the sibling-Linear merge onnx_writer applies: a
    quick in-memory export for timing and tests. The model's train/eval mode and its parameters'
    requires_grad flags are restored (the pruner goes on training it).
    """
    was = model.training
    grads = [p.requires_grad for p in model.parameters()]  # wrap_for_export freezes them for tracing
    pre = model.preprocess
    buf = io.BytesIO()
    names = (*io_contract.INPUT_NAMES, *schema.output_names())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation notice, once per call
            torch.onnx.export(
                wrap_for_export(model), example_inputs(pre.image_size, pre.max_tokens, batch=1), buf, dynamo=False,
                opset_version=opset, input_names=list(io_contract.INPUT_NAMES),
                output_names=list(schema.output_names()), dynamic_axes={n: {0: "batch"} for n in names},
            )
    finally:
        model.train(was)
        for p, g in zip(model.parameters(), grads, strict=True):
            p.requires_grad_(g)
    return buf.getvalue()


def ort_cpu_session(model: bytes | str | os.PathLike, threads: int | None = None, spin: bool | None = None,
                    initializers: Mapping[str, np.ndarray] | None = None) -> Any:
    """A CPU ORT session with all graph optimisations (what a deployed session runs).

    Args:
        model: ONNX bytes or file.
        threads: Intra-op threads, with one inter-op thread; None keeps ORT's defaults.
        spin: Idle-thread spinning; None keeps ORT's default (spin). False for interleaved
            timing: a session that spins after its block keeps burning its cores, which slows the
            next item of the run and the other jobs of a shared machine.
        initializers: A file graph's external tensors, given in memory instead of read from its
            packed-weights file (packed_weights.inference_session).
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    if threads is not None:
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if spin is not None:
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    so.log_severity_level = 3
    if isinstance(model, bytes):
        return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    return packed_weights.inference_session(Path(model), so, ["CPUExecutionProvider"], initializers)


def torch_outputs(model: torch.nn.Module, feeds: Mapping[str, np.ndarray], batch: int = 32) -> dict[str, np.ndarray]:
    """Reference probabilities from PyTorch (the export wrapper in eval mode), batched."""
    wrapper = wrap_for_export(model)
    n = len(feeds[io_contract.IMAGE])
    parts: list[tuple[torch.Tensor, ...]] = []
    with torch.no_grad():
        for i in range(0, n, batch):
            parts.append(wrapper(*(torch.from_numpy(np.ascontiguousarray(feeds[k][i:i + batch]))
                                   for k in io_contract.INPUT_NAMES)))
    return {name: torch.cat([p[j] for p in parts]).numpy() for j, name in enumerate(schema.output_names())}


def ort_outputs(model: bytes | str | os.PathLike, feeds: Mapping[str, np.ndarray], batch: int = 32
                ) -> dict[str, np.ndarray]:
    """Outputs of an ONNX graph (file or bytes) on the CPU provider, batched."""
    return session_outputs(ort_cpu_session(model), feeds, batch)


def session_outputs(sess: Any, feeds: Mapping[str, np.ndarray], batch: int = 32) -> dict[str, np.ndarray]:
    """Every output of an ORT session on ``feeds``, run in batches of ``batch`` ads."""
    names = [o.name for o in sess.get_outputs()]
    n = len(feeds[io_contract.IMAGE])
    parts = [sess.run(names, {k: feeds[k][i:i + batch] for k in io_contract.INPUT_NAMES}) for i in range(0, n, batch)]
    return {name: np.concatenate([p[j] for p in parts]) for j, name in enumerate(names)}
