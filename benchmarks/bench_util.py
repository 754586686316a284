"""Helpers shared by the suites: latency percentiles, throughput, peak-memory deltas, file sizes.

Every suite stores its numbers in ``benchmark.extra_info`` through :func:`record`, so the report
reads one flat dict per benchmark instead of re-deriving figures from test names.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def round_times(benchmark: Any) -> list[float]:
    """Per-call seconds of every measured round; empty when pytest-benchmark is disabled."""
    stats = getattr(benchmark, "stats", None)
    inner = getattr(stats, "stats", None)
    return list(getattr(inner, "data", []) or [])


def latency_summary(times_s: list[float], samples_per_call: int) -> dict[str, float]:
    """p50 / p99 latency (ms) per call and samples/s at the median, from per-round seconds.

    p99 of few rounds is close to the maximum; the report prints the round count beside it.
    """
    if not times_s:
        return {}
    t = np.asarray(times_s, dtype=np.float64)
    p50 = float(np.percentile(t, 50))
    return {
        "p50_ms": p50 * 1e3,
        "p99_ms": float(np.percentile(t, 99)) * 1e3,
        "samples_per_s": samples_per_call / p50 if p50 > 0 else float("nan"),
        "rounds": int(t.size),
    }


def record(benchmark: Any, samples_per_call: int = 1, **info: Any) -> dict[str, Any]:
    """Attach latency/throughput plus ``info`` (suite, model, backend, ...) to the benchmark's extra_info.

    Call after ``benchmark(...)`` has run. Returns the dict stored.
    """
    extra = {**info, "batch": samples_per_call, **latency_summary(round_times(benchmark), samples_per_call)}
    benchmark.extra_info.update(extra)
    return extra


def timed(benchmark: Any, fn: Callable[..., Any], *args: Any, budget_s: float, min_rounds: int,
          max_rounds: int = 200) -> Any:
    """Benchmark ``fn(*args)`` with a round count fitted to a time budget from one warm-up call.

    pytest-benchmark's own calibration would run a 2 s teacher batch as long as a 2 ms student
    batch; fixing rounds from the warm-up keeps slow models within budget and fast ones precise.
    """
    import time

    t0 = time.perf_counter()
    fn(*args)  # warm-up: ORT arenas, torch allocator, TorchScript profiling run
    first = max(time.perf_counter() - t0, 1e-6)
    rounds = int(min(max_rounds, max(min_rounds, budget_s / first)))
    return benchmark.pedantic(fn, args=args, rounds=rounds, iterations=1, warmup_rounds=0)


def _read_status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _malloc_trim() -> None:
    # Freed blocks kept in glibc's arenas still count as resident; returning them to the OS first
    # makes the later peak measure new memory instead of reused, already-resident memory.
    name = ctypes.util.find_library("c")
    if name:
        try:
            ctypes.CDLL(name).malloc_trim(0)
        except (OSError, AttributeError):
            pass


def peak_rss_delta(fn: Callable[[], Any]) -> tuple[Any, int | None]:
    """Run ``fn`` and return (its result, growth of peak resident memory in bytes over the RSS before).

    Uses Linux's resettable high-water mark (writing "5" to /proc/self/clear_refs resets VmHWM to
    the current RSS). Returns None as the delta where that is not available (non-Linux, no
    permission) rather than a number that would include earlier peaks.
    """
    _malloc_trim()
    rss0 = _read_status_kb("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        resettable = True
    except OSError:
        resettable = False
    result = fn()
    hwm = _read_status_kb("VmHWM")
    if not resettable or rss0 is None or hwm is None:
        return result, None
    return result, max(0, hwm - rss0) * 1024
