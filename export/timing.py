"""Paired-round timing: the one way this project compares the speed of two models or calls.

On a shared machine a single median drifts with the neighbours' load. Timing every candidate in
the same rounds, and taking per-round ratios, cancels that drift. Used by the export's INT8
recipe race (measure_latency), the pruner's latency comparison and the benchmark ratios.
paired_rounds / paired_speedup need numpy only (the benchmarks import them on any install).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

import numpy as np


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


def measure_latency(paths: Mapping[str, str | os.PathLike], feeds: Mapping[str, np.ndarray], threads: int = 2,
                    rounds: int = 20, per_round: int = 30, reference: str = "fp32") -> dict[str, dict[str, float]]:
    """Batch-1 latency of each ONNX file, measured in paired rounds so machine load hits all alike.

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
    from adfusion_edge.export.onnx_tools import ort_cpu_session

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
