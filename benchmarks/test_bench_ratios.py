"""Headline ratios measured interleaved: candidate and reference alternate over the same rounds.

On a machine shared with other jobs the load changes within seconds, so two rows measured one
after the other can differ by the load alone. Two interleavings, both recorded:

* call by call (A, B, A, B ...): the median of each side's calls. Every call follows a call of the
  other model, so each starts with the other's weights and activations in the caches;
* paired blocks (a block of A, a block of B, order alternating per round): the median over rounds
  of the per-round ratio. Within a block a model runs back to back, as in a server that keeps one
  model loaded, and the ratio of two adjacent blocks cancels the drift in the machine's load.

The separate per-row benchmarks (test_bench_models, test_bench_peer) stay the absolute numbers.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from bench_config import is_quick
from bench_models import PEER_KEY, SPEC_BY_KEY, Unavailable
from bench_util import record

# (id, candidate (model, backend), reference (model, backend)); batch 1 = the latency an app sees.
PAIRS: tuple[tuple[str, tuple[str, str], tuple[str, str]], ...] = (
    ("student_int8_vs_teacher_pytorch", ("student", "ort-int8"), ("teacher", "pytorch")),
    ("student_int8_vs_teacher_onnx_fp32", ("student", "ort-int8"), ("teacher", "ort-fp32")),
    ("pruned_int8_vs_teacher_pytorch", ("pruned_student", "ort-int8"), ("teacher", "pytorch")),
    ("student_int8_vs_fp32", ("student", "ort-int8"), ("student", "ort-fp32")),
    # With the pruned checkpoint given, its ort-int8 runner is the shipped default bundle's file.
    ("pruned_int8_vs_fp32", ("pruned_student", "ort-int8"), ("pruned_student", "ort-fp32")),
    ("teacher_int8_vs_fp32", ("teacher", "ort-int8"), ("teacher", "ort-fp32")),
    ("student_int8_vs_peer_int8", ("student", "ort-int8"), (PEER_KEY, "ort-int8-opt")),
)
BATCH = 1
BLOCK_CALLS = 20  # timed calls per side per paired round at batch 1 (after one untimed re-warm call)
THROUGHPUT_BATCH, THROUGHPUT_CALLS = 64, 3  # the paired throughput ratio: batch 64, 3 calls per block


def _quick_ok(key: str) -> bool:
    return key == PEER_KEY or SPEC_BY_KEY[key].quick


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pair" in metafunc.fixturenames:
        pairs = [p for p in PAIRS if not is_quick(metafunc.config) or (_quick_ok(p[1][0]) and _quick_ok(p[2][0]))]
        metafunc.parametrize("pair", pairs, ids=[p[0] for p in pairs])


def test_interleaved_ratio(benchmark, model_zoo, quick: bool, pair) -> None:
    name, cand, ref = pair
    try:
        a, b = model_zoo.runner(*cand), model_zoo.runner(*ref)
    except Unavailable as e:
        pytest.skip(f"{name}: {e}")
    a_in, b_in = model_zoo.inputs(cand[0], BATCH), model_zoo.inputs(ref[0], BATCH)
    a.run(a_in)
    b.run(b_in)  # warm both before any timed call
    a_times: list[float] = []
    b_times: list[float] = []

    def alternate() -> None:
        t0 = time.perf_counter()
        a.run(a_in)
        t1 = time.perf_counter()
        b.run(b_in)
        a_times.append(t1 - t0)
        b_times.append(time.perf_counter() - t1)

    t0 = time.perf_counter()
    alternate()
    rounds = int(min(200, max(5 if quick else 20, (0.3 if quick else 5.0) / (time.perf_counter() - t0))))
    a_times.clear()
    b_times.clear()  # the sizing call is not a measured round
    benchmark.pedantic(alternate, rounds=rounds, iterations=1, warmup_rounds=0)
    a_p50, b_p50 = float(np.median(a_times)) * 1e3, float(np.median(b_times)) * 1e3
    block = paired_blocks(a, a_in, b, b_in, rounds=6 if quick else 30, calls=BLOCK_CALLS, key="block")
    # Throughput too: separate per-row batch-64 runs minutes apart differ by the machine's load alone.
    big_a, big_b = model_zoo.inputs(cand[0], THROUGHPUT_BATCH), model_zoo.inputs(ref[0], THROUGHPUT_BATCH)
    block.update(paired_blocks(a, big_a, b, big_b, rounds=2 if quick else 10, calls=THROUGHPUT_CALLS,
                               key=f"b{THROUGHPUT_BATCH}_block"))
    record(benchmark, BATCH, suite="ratios", kind="interleaved", pair=name, candidate="/".join(cand),
           reference="/".join(ref), candidate_p50_ms=a_p50, reference_p50_ms=b_p50,
           speedup=b_p50 / a_p50, pair_rounds=len(a_times), **block)


def paired_blocks(a, a_in, b, b_in, rounds: int, calls: int, key: str) -> dict[str, float]:
    """Paired-block speed-up of candidate ``a`` over reference ``b`` (export.timing.paired_rounds,
    blocks alternating A, B then B, A): ``{key}_speedup`` with ``_p10`` / ``_p90``, ``_rounds``, ``_calls``."""
    from adfusion_edge.export.timing import paired_rounds, paired_speedup

    times = paired_rounds({"a": lambda: a.run(a_in), "b": lambda: b.run(b_in)}, rounds, calls)
    ratio = paired_speedup(times, "a", "b")
    return {f"{key}_{k}": v for k, v in ratio.items()} | {f"{key}_rounds": rounds, f"{key}_calls": calls}
