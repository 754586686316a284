"""Paired timing rounds (export.timing.paired_rounds / paired_speedup), shared by the export race
and the benchmark ratios."""

from __future__ import annotations

import time

import pytest

from adfusion_edge.export.timing import paired_rounds, paired_speedup


def _recorder(log: list[str], name: str, pause: float = 0.0):
    def call() -> None:
        log.append(name)
        if pause:
            time.sleep(pause)
    return call


def test_rounds_rotate_and_rewarm_each_block() -> None:
    log: list[str] = []
    times = paired_rounds({"a": _recorder(log, "a"), "b": _recorder(log, "b")}, rounds=3, per_round=2)
    assert {k: [len(b) for b in v] for k, v in times.items()} == {"a": [2, 2, 2], "b": [2, 2, 2]}
    # one untimed re-warm call + 2 timed per block; round order a,b / b,a / a,b
    assert "".join(log) == "aaabbb" + "bbbaaa" + "aaabbb"


def test_shuffled_rounds_are_seeded_and_time_every_label() -> None:
    def order(seed: int) -> str:
        log: list[str] = []
        paired_rounds({k: _recorder(log, k) for k in "abc"}, rounds=4, per_round=1, shuffle_seed=seed)
        return "".join(log)

    assert order(0) == order(0)
    assert sorted(order(0)) == sorted("abc" * 8)


def test_speedup_is_the_median_paired_ratio() -> None:
    times = {"fast": [[1.0, 1.0], [2.0, 2.0], [1.0, 3.0]], "slow": [[3.0, 3.0], [4.0, 4.0], [4.0, 4.0]]}
    s = paired_speedup(times, "fast", "slow")
    assert s["speedup"] == pytest.approx(2.0)  # per-round ratios 3, 2, 2
    assert s["speedup_p10"] <= s["speedup"] <= s["speedup_p90"] == pytest.approx(2.8)
    assert paired_speedup(times, "slow", "slow")["speedup"] == 1.0
    real = paired_rounds({"fast": lambda: None, "slow": lambda: time.sleep(0.002)}, rounds=3, per_round=2)
    assert paired_speedup(real, "fast", "slow")["speedup"] > 1
