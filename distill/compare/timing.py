"""Latency and throughput of several models in ONE interleaved run (PyTorch eager and ONNX Runtime).

The report's machine is shared and noisy, so a model timed alone for a minute and the next one
timed a minute later see different neighbours. Every *item* (model x engine x batch size) is
instead timed in ``rounds`` alternating blocks: round r runs a block of each item in turn, so a
load burst hits all items alike and their ratios stay meaningful even when absolute numbers drift.

A time budget caps the whole measurement: a short warm-up estimates each item's cost and the
number of timed runs per item is cut (never below a floor) so that the total fits the budget.
Fast items keep the runs asked for; slow ones (the teacher at batch 64) get fewer.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from adfusion_edge.io_contract import INPUT_NAMES, example_feeds
from adfusion_edge.preprocess import PreprocessConfig

MIN_RUNS = {1: 20}  # floors (batch -> runs; 3 for other batches) the budget never cuts below


@dataclass
class TimedItem:
    """One thing to time: ``call()`` runs one inference of ``batch`` samples.

    Attributes:
        model: Model name in the report.
        engine: ``"torch"`` (eager) or ``"ort"`` (ONNX Runtime CPU).
        batch: Samples per call.
        call: Runs one inference.
        runs: Timed runs asked for (the budget may lower it).
        times_ms: Measured wall times, filled by :func:`measure`.
    """

    model: str
    engine: str
    batch: int
    call: Callable[[], Any]
    runs: int
    times_ms: list[float] = field(default_factory=list)

    def stats(self) -> dict[str, float | int]:
        """p50 / p99 / mean / min ms, runs and samples/s (from the median) of the measured times."""
        t = np.asarray(self.times_ms)
        p50 = float(np.percentile(t, 50))
        return {"p50_ms": p50, "p99_ms": float(np.percentile(t, 99)), "mean_ms": float(t.mean()),
                "min_ms": float(t.min()), "runs": int(t.size), "samples_per_s": 1e3 * self.batch / p50}


def feeds(pre: PreprocessConfig, batch: int) -> dict[str, np.ndarray]:
    """Deterministic uint8 images + token ids (some padding) at ``pre``'s sizes.

    The model contract's example feeds, so checkpoints and bundles are timed on exactly the
    inputs the pruning latency measurements use.
    """
    return example_feeds(pre.image_size, pre.max_tokens, batch=batch)


def ort_call(session: Any, feed: Mapping[str, np.ndarray]) -> Callable[[], Any]:
    """One ORT inference of ``feed`` (all outputs)."""
    feed = dict(feed)
    return lambda: session.run(None, feed)


def torch_call(model: nn.Module, feed: Mapping[str, np.ndarray]) -> Callable[[], Any]:
    """One eager forward (inference mode) of ``feed``."""
    args = tuple(torch.from_numpy(np.ascontiguousarray(feed[n])) for n in INPUT_NAMES)
    model.eval()

    def call() -> Any:
        with torch.inference_mode():
            return model(*args)

    return call


def _plan_runs(items: Sequence[TimedItem], est_ms: Sequence[float], budget_s: float) -> list[int]:
    """Runs per item: as asked, cut for the slowest items until the predicted total fits the budget.

    Water-filling: every item may spend an equal share of the budget; items that need less than
    their share leave the rest to the others.
    """
    want = [it.runs * e / 1e3 for it, e in zip(items, est_ms, strict=True)]
    order = sorted(range(len(items)), key=lambda i: want[i])
    left, runs = budget_s, [0] * len(items)
    for k, i in enumerate(order):
        share = left / (len(items) - k)
        spend = min(want[i], share)
        floor = min(items[i].runs, MIN_RUNS.get(items[i].batch, 3))  # never more than asked
        runs[i] = max(floor, min(items[i].runs, int(spend * 1e3 / max(est_ms[i], 1e-6))))
        left -= runs[i] * est_ms[i] / 1e3
    return runs


def measure(items: Sequence[TimedItem], rounds: int = 10, budget_s: float = 120.0, warmup: int = 3,
            threads: int = 2, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Time every item in ``rounds`` interleaved blocks; fills ``item.times_ms``.

    Args:
        items: What to time (their ``runs`` are the runs asked for).
        rounds: Alternating blocks per item (an item with fewer runs than rounds runs once per round
            until its runs are spent).
        budget_s: Target wall time of the timed part (warm-up excluded, small overrun possible
            because of the per-item floors).
        warmup: Untimed calls per item first (also give the cost estimate).
        threads: torch intra-op threads during the run (ORT sessions carry their own setting).
        log: Progress messages.

    Returns:
        Run facts: load averages at start and end, wall time, rounds, budget, runs per item.
    """
    say = log or (lambda _m: None)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        load_start = os.getloadavg()
        t_start = time.perf_counter()
        est: list[float] = []
        for it in items:
            it.times_ms.clear()
            t = []
            for _ in range(max(1, warmup)):
                t0 = time.perf_counter()
                it.call()
                t.append((time.perf_counter() - t0) * 1e3)
            est.append(float(min(t)))  # min: the least-disturbed estimate of the cost
        runs = _plan_runs(items, est, budget_s)
        predicted = sum(r * e for r, e in zip(runs, est, strict=True)) / 1e3
        say(f"timing {len(items)} items x {rounds} interleaved rounds, ~{predicted:.0f} s")
        t_timed = time.perf_counter()
        for r in range(rounds):
            for it, n in zip(items, runs, strict=True):
                block = n // rounds + (1 if r < n % rounds else 0)
                for _ in range(block):
                    t0 = time.perf_counter()
                    it.call()
                    it.times_ms.append((time.perf_counter() - t0) * 1e3)
        timed_s = time.perf_counter() - t_timed
        load_end = os.getloadavg()
    finally:
        torch.set_num_threads(old_threads)
    return {"rounds": rounds, "budget_s": budget_s, "threads": threads, "predicted_s": predicted,
            "timed_s": timed_s, "wall_s": time.perf_counter() - t_start, "spinning": False,
            "load_start": [round(x, 2) for x in load_start], "load_end": [round(x, 2) for x in load_end],
            "runs": {f"{it.model}/{it.engine}/b{it.batch}": n for it, n in zip(items, runs, strict=True)},
            "estimate_ms": {f"{it.model}/{it.engine}/b{it.batch}": round(e, 3)
                            for it, e in zip(items, est, strict=True)}}
