"""The report's "OCR on real ads" section: legacy vs shipped OCR engine, from one run's JSON rows."""

from __future__ import annotations

from typing import Any

from report_sections import md_table, num

NA = "n/a"


def _pct(v: Any) -> str:
    return NA if v is None else f"{100 * v:.1f}%"


def _load(r: dict[str, Any]) -> str:
    """1-minute load average at the start and end of a measurement (2 cores), as the row recorded it."""
    a, b = r.get("load_avg_start"), r.get("load_avg_end")
    return NA if not a or not b else f"{a[0]:.1f} -> {b[0]:.1f}"


def ocr_section(rows: list[dict[str, Any]], cold: list[dict[str, Any]]) -> str:
    """Markdown for the ``kind == "ocr_real"`` rows (one per image set) and the cold-start row."""
    head = ("## OCR on real ads\n\n"
            "Legacy engine (every box, detector 640 px) vs the shipped one (most prominent text first, "
            "up to the model's 54 word pieces; settings from benchmarks/ocr_race_pages.py, rounds 4-5, chosen "
            "on rendered pages and AdSynth ads, not on these dev images), interleaved ad by ad in this run. Speed = total legacy time / total shipped time over the same ads. Recall = "
            "share of the labelled words the engine reads (dev labels are only reported, never tuned on).\n\n")
    if not rows:
        return head + "_OCR on real ads was not measured in this run._\n"
    table = []
    for r in rows:
        recalls = [(k.removeprefix("new_recall_"), r[k], r.get("legacy_recall_" + k.removeprefix("new_recall_")))
                   for k in sorted(r) if k.startswith("new_recall_")]
        rec = "; ".join(f"{n}: {_pct(old)} -> {_pct(new)}" + (
            f" (legacy within the model's window {_pct(r['legacy_window_recall_' + n])})"
            if r.get("legacy_window_recall_" + n) is not None else "") for n, new, old in recalls)
        table.append((r.get("images", r["stage"]), r.get("ads", NA), num(r.get("legacy_p50_ms"), 0),
                      num(r.get("legacy_p95_ms"), 0), num(r.get("new_p50_ms"), 0), num(r.get("new_p95_ms"), 0),
                      num(r.get("speedup"), 2), num(r.get("speedup_median_ad"), 2), rec, _load(r)))
    body = md_table(("Images", "Ads", "Legacy p50 (ms)", "Legacy p95 (ms)", "Shipped p50 (ms)",
                     "Shipped p95 (ms)", "Speed (x)", "Median per-ad speed (x)", "Recall legacy -> shipped",
                     "Load average start -> end"), table)
    for c in cold:
        body += (f"\nCold start (fresh process, {c.get('image', 'one ad')}): `Analyzer(warmup=True)` warm-up "
                 f"{num(c.get('warmup_ms'), 0)} ms, then first `run()` {num(c.get('first_ms'), 0)} ms = "
                 f"{num(c.get('first_over_warm'), 2)}x a warm call ({num(c.get('warm_ms'), 0)} ms); without "
                 f"warm-up the first call is {num(c.get('no_warmup_first_over_warm'), 2)}x a warm one "
                 f"(load average {_load(c)}).\n")
    return head + body


def main(argv: list[str] | None = None) -> int:
    """``python benchmarks/report_ocr.py RUN.json --out reports/ocr_real.md``: the OCR section alone,
    from a pytest-benchmark JSON of benchmarks/test_bench_ocr_real.py."""
    import argparse
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from report import BenchRun

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("json")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    run = BenchRun.load(a.json)
    md = ocr_section(run.ocr_real, run.ocr_cold)
    Path(a.out).write_text(f"{md}\nMeasured on {run.machine.get('date', 'unknown date')} by "
                           "`python3 -m pytest benchmarks/test_bench_ocr_real.py --benchmark-enable "
                           "--benchmark-json=RUN.json`.\n")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
