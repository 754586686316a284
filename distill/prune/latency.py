"""Measured cost of a model: MACs/params (torch-pruning's counter) and ONNX Runtime CPU latency.

Pruning decisions are made on *measured* ORT latency, because MAC cuts overstate speed-ups on a
CPU (small GEMMs, depthwise convs and per-node overhead do not shrink with the channel count).
The graph measured is the exported one: export/onnx_tools.py exports it through the export
wrapper (softmax/sigmoid on the outputs, aux outputs dropped) with the TorchScript exporter at
opset 17, dynamic batch.

On a shared machine a single median drifts with the neighbours' load, so comparisons interleave:
:func:`compare_latency` alternates blocks of runs of each model and compares their medians,
taken under the same conditions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from adfusion_edge import io_contract
from adfusion_edge.export.onnx_tools import export_onnx_bytes, ort_cpu_session


def example_inputs(model: nn.Module, batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Deterministic (image, input_ids, attention_mask) at the model's preprocessing, some padding."""
    p = model.preprocess
    feeds = io_contract.example_feeds(p.image_size, p.max_tokens, batch=batch, seed=seed)
    return tuple(torch.from_numpy(feeds[n]) for n in io_contract.INPUT_NAMES)


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


class OrtTimer:
    """An ONNX Runtime CPU session of a model plus a fixed batch-1 input, for timing.

    Args:
        model: AdModel to export and time.
        threads: intra-op threads (the product target: 2).
    """

    def __init__(self, model: nn.Module, threads: int = 2):
        self.session = ort_cpu_session(export_onnx_bytes(model), threads)
        pre = model.preprocess
        self.feed = io_contract.example_feeds(pre.image_size, pre.max_tokens, batch=1)

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
