"""Measured cost of a model: MACs/params (torch-pruning's counter) and ONNX Runtime CPU latency.

Pruning decisions are made on *measured* ORT latency, because MAC cuts overstate speed-ups on a
CPU (small GEMMs, depthwise convs and per-node overhead do not shrink with the channel count).
The graph measured is the exported one: softmax/sigmoid on the outputs, aux outputs dropped, the
same TorchScript exporter (opset 17, dynamic batch) the export package uses.

On a shared machine a single median drifts with the neighbours' load, so comparisons interleave:
:func:`compare_latency` alternates blocks of runs of each model and compares their medians,
taken under the same conditions.
"""

from __future__ import annotations

import io
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from adfusion_edge import schema

INPUT_NAMES = ("image", "input_ids", "attention_mask")


class _ProbabilityWrapper(nn.Module):
    """AdModel -> tuple of probabilities in schema.output_names() order (what bundles export)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self._multi = {h.name for h in schema.HEADS if h.kind == "multi"}

    def forward(self, image: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
                ) -> tuple[torch.Tensor, ...]:
        raw = self.model(image, input_ids, attention_mask)
        outs = [torch.sigmoid(raw[h.name]) if h.name in self._multi else torch.softmax(raw[h.name], -1)
                for h in schema.HEADS]
        outs.append(torch.softmax(raw[schema.SPAN_OUTPUT], -1))
        outs.append(torch.sigmoid(raw[schema.VALUE_OUTPUT]))
        return tuple(outs)


def example_inputs(model: nn.Module, batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Deterministic (image, input_ids, attention_mask) at the model's preprocessing, some padding."""
    p = model.preprocess
    g = torch.Generator().manual_seed(seed)
    image = torch.randint(0, 256, (batch, p.image_size, p.image_size, 3), dtype=torch.uint8, generator=g)
    ids = torch.randint(5, 100, (batch, p.max_tokens), dtype=torch.int64, generator=g)
    mask = torch.ones(batch, p.max_tokens, dtype=torch.int64)
    mask[:, p.max_tokens * 3 // 4:] = 0
    return image, ids * mask, mask


def count_macs(model: nn.Module, batch: int = 1) -> tuple[int, int]:
    """(MACs, parameters) of one forward at batch ``batch`` (torch_pruning.utils.count_ops_and_params)."""
    import torch_pruning as tp

    was = model.training
    model.eval()
    try:
        macs, params = tp.utils.count_ops_and_params(model, example_inputs=example_inputs(model, batch))
    finally:
        model.train(was)
    return int(macs), int(params)


def export_onnx_bytes(model: nn.Module, opset: int = 17) -> bytes:
    """The model's inference graph as ONNX bytes (TorchScript exporter, dynamic batch)."""
    was = model.training
    model.eval()
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation notice, once per call
            torch.onnx.export(
                _ProbabilityWrapper(model).eval(), example_inputs(model, batch=1), buf, dynamo=False,
                opset_version=opset, input_names=list(INPUT_NAMES), output_names=list(schema.output_names()),
                dynamic_axes={n: {0: "batch"} for n in (*INPUT_NAMES, *schema.output_names())},
            )
    finally:
        model.train(was)
    return buf.getvalue()


def ort_cpu_session(model: bytes | str | os.PathLike, threads: int, spin: bool | None = None) -> Any:
    """A CPU ORT session for timing: ``threads`` intra-op threads, one inter-op thread, all graph
    optimisations (what a deployed session runs).

    Args:
        model: ONNX bytes or file.
        threads: Intra-op threads.
        spin: Idle-thread spinning; None keeps ORT's default (spin). False for interleaved
            timing: a session that spins after its block keeps burning its cores, which slows the
            next item of the run and the other jobs of a shared machine.
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if spin is not None:
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    so.log_severity_level = 3
    src = model if isinstance(model, bytes) else str(Path(model))
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


class OrtTimer:
    """An ONNX Runtime CPU session of a model plus a fixed batch-1 input, for timing.

    Args:
        model: AdModel to export and time.
        threads: intra-op threads (the product target: 2).
    """

    def __init__(self, model: nn.Module, threads: int = 2):
        self.session = ort_cpu_session(export_onnx_bytes(model), threads)
        self.feed = {n: t.numpy() for n, t in zip(INPUT_NAMES, example_inputs(model, batch=1), strict=True)}

    def once(self) -> float:
        """Wall time in ms of one single-batch inference."""
        t0 = time.perf_counter()
        self.session.run(None, self.feed)
        return (time.perf_counter() - t0) * 1e3

    def times(self, runs: int, warmup: int = 10) -> np.ndarray:
        """Wall time in ms of ``runs`` single-batch inferences after ``warmup`` untimed ones."""
        for _ in range(warmup):
            self.once()
        return np.array([self.once() for _ in range(runs)])


def ort_latency(model: nn.Module, runs: int = 200, warmup: int = 20, threads: int = 2) -> float:
    """Median ORT CPU latency (ms) of ``model`` at batch 1 with ``threads`` intra-op threads."""
    return float(np.median(OrtTimer(model, threads).times(runs, warmup)))


def compare_latency(timers: Sequence[OrtTimer], rounds: int = 10, runs: int = 50) -> list[float]:
    """Median latency (ms) of each timer over ``rounds`` interleaved blocks of ``runs`` runs.

    Blocks (not single runs) alternate because an idle ORT session's threads keep spinning for a
    moment after a run and would steal the CPU from the other session; blocks of runs still give
    every model a similar share of the neighbours' load bursts.
    """
    per: list[list[float]] = [[] for _ in timers]
    for _ in range(rounds):
        for i, t in enumerate(timers):
            per[i].extend(t.times(runs, warmup=3))
    return [float(np.median(p)) for p in per]


def paired_rounds(calls: Mapping[str, Callable[[], object]], rounds: int, per_round: int,
                  shuffle_seed: int | None = None) -> dict[str, list[list[float]]]:
    """Time every call in ``rounds`` rounds; in each round each call runs one block of ``per_round``.

    Every block starts with one untimed call that re-warms the caches (the other models ran last):
    a serving process runs one model back to back. Within a round the order is rotated (round i
    starts at call i; for two calls A, B then B, A ...) or, with ``shuffle_seed``, a fresh random
    permutation per round.

    Returns:
        Label -> per round, the ``per_round`` wall times in ms.
    """
    labels = list(calls)
    out: dict[str, list[list[float]]] = {k: [] for k in labels}
    rng = np.random.default_rng(shuffle_seed) if shuffle_seed is not None else None
    for r in range(rounds):
        n = len(labels)
        order = rng.permutation(n) if rng is not None else [(r + j) % n for j in range(n)]
        for i in order:
            label, call = labels[i], calls[labels[i]]
            call()
            block = []
            for _ in range(per_round):
                t0 = time.perf_counter()
                call()
                block.append((time.perf_counter() - t0) * 1e3)
            out[label].append(block)
    return out


def paired_speedup(times: Mapping[str, list[list[float]]], label: str, reference: str) -> dict[str, float]:
    """Median over rounds of (reference block p50 / ``label`` block p50), with its p10 / p90 spread.

    The ratio of two blocks of the same round cancels the drift in a shared machine's load.
    """
    ratio = (np.array([np.median(b) for b in times[reference]]) /
             np.array([np.median(b) for b in times[label]]))
    return {"speedup": float(np.median(ratio)), "speedup_p10": float(np.percentile(ratio, 10)),
            "speedup_p90": float(np.percentile(ratio, 90))}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m adfusion_edge.distill.prune.latency [--checkpoint DIR]``: params, MACs, ORT latency.

    Without a checkpoint it measures the default registered student. Prints one JSON line with the
    p50/p90/min latency (ms) over ``--runs`` batch-1 runs, after a warm-up.
    """
    import argparse
    import json

    p = argparse.ArgumentParser(prog="python -m adfusion_edge.distill.prune.latency", description=main.__doc__)
    p.add_argument("--checkpoint", help="checkpoint directory (default: the default student)")
    p.add_argument("--image-size", type=int, default=128, help="image size of the default student (128)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=2000)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.checkpoint:
        from adfusion_edge.distill.models.checkpoint import load_model

        model = load_model(args.checkpoint)
    else:
        from adfusion_edge.distill.models.registry import create_model

        model = create_model("student", preprocess={"image_size": args.image_size})
    macs, params = count_macs(model)
    t = OrtTimer(model, args.threads).times(args.runs, warmup=50)
    print(json.dumps({"params": params, "macs": macs, "image_size": model.preprocess.image_size,
                      "max_tokens": model.preprocess.max_tokens, "threads": args.threads, "runs": args.runs,
                      "p50_ms": round(float(np.median(t)), 4), "p90_ms": round(float(np.percentile(t, 90)), 4),
                      "min_ms": round(float(t.min()), 4)}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
