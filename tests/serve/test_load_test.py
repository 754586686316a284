"""The load test (benchmarks/load_serve.py) and its report section: figures from known samples, and one
short real run against real servers on loopback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import load_serve  # noqa: E402


def test_summarize_counts_served_overload_and_errors():
    t0 = 100.0
    samples = [(t0 + i * 0.01, t0 + i * 0.01, t0 + i * 0.01 + 0.005, 200, 4.0) for i in range(90)]
    samples += [(t0 + 1.0, t0 + 1.0, t0 + 1.001, 429, 0.3)] * 8 + [(t0 + 1.0, t0 + 1.1, t0 + 1.2, 0, None)] * 2
    s = load_serve.summarize(100.0, samples, t0)
    assert s["requests"] == 100 and s["served"] == 90
    assert s["p50_ms"] == pytest.approx(5.0) and s["p99_ms"] == pytest.approx(5.0)
    assert s["overload_share"] == pytest.approx(0.08) and s["error_share"] == pytest.approx(0.02)
    assert s["errors"] == [0] and s["overload_app_p99_ms"] == pytest.approx(0.3)
    assert s["throughput_rps"] == pytest.approx(90 / 1.2)
    assert s["client_lag_p99_ms"] == pytest.approx(100.0)  # the two sent 100 ms after their time


def test_quick_real_run_and_its_report_section(tmp_path):
    pytest.importorskip("matplotlib")
    from report_serving import serving_section

    out, png = tmp_path / "SERVE_LOAD.json", tmp_path / "plots" / "serving_latency_vs_load.png"
    assert load_serve.main(["--quick", "--ramp", "20,40", "--out", str(out), "--plot", str(png)]) == 0
    r = json.loads(out.read_text())
    assert r["server_alive_after"] is True and r["text"]["saturation_rps"] > 0
    assert [row["fraction_of_saturation"] for row in r["text"]["sweep"]] == [0.5, 2.0]
    assert all(row["requests"] >= 1 for row in r["text"]["sweep"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = serving_section(tmp_path, out, tmp_path / "none.json")
    assert md.startswith("## Serving") and "ratio batched / unbatched (x)" in md
    assert "![latency vs offered load](plots/serving_latency_vs_load.png)" in md
