#!/usr/bin/env python
"""Student report: teacher vs student vs pruned student (vs bundles) -> reports/student/.

    python scripts/student_report.py \\
        --model teacher=runs/teacher --model student=runs/student --model pruned=runs/student_pruned \\
        --bundle student_int8=adfusion_edge/models/default \\
        --eval-dir reports/eval --corpus runs/corpus12k --splits test shift --out reports/student

Writes REPORT.md, compare.json and pareto.png (see adfusion_edge.distill.compare.run).
Scores are read from ``--eval-dir`` (an ``adfusion-edge evaluate --out`` directory); the ones
missing there are computed on ``--corpus`` and written into it.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The command line (options map 1:1 onto CompareConfig)."""
    p = argparse.ArgumentParser(prog="scripts/student_report.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", required=True, metavar="NAME=DIR",
                   help="checkpoint or run directory (repeat; the first is the reference unless --reference)")
    p.add_argument("--bundle", action="append", default=[], metavar="NAME=DIR", help="ONNX bundle directory (repeat)")
    p.add_argument("--eval-dir", help="adfusion-edge evaluate output directory (default OUT/eval)")
    p.add_argument("--corpus", help="shard corpus, to compute scores missing from --eval-dir")
    p.add_argument("--splits", nargs="+", default=["test", "shift"])
    p.add_argument("--out", default="reports/student")
    p.add_argument("--reference", help="model the ratios are taken against (default: the first --model)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for timing and evaluation")
    p.add_argument("--runs", type=int, default=200, help="timed batch-1 runs per model and engine")
    p.add_argument("--big-batch", type=int, default=64, help="throughput batch size")
    p.add_argument("--big-runs", type=int, default=10, help="timed runs at --big-batch")
    p.add_argument("--rounds", type=int, default=10, help="interleaved blocks per item")
    p.add_argument("--time-budget", type=float, default=120.0, help="seconds for the timed part")
    p.add_argument("--batch-size", type=int, default=64, help="evaluation batch size")
    p.add_argument("--max-samples", type=int, help="evaluate only the first N samples per split")
    p.add_argument("--text-source", default="gt", choices=("gt", "ocr"))
    p.add_argument("--reevaluate", action="store_true", help="ignore --eval-dir results; compute every score")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run the comparison, print where the report is; returns the exit code."""
    from adfusion_edge.distill.compare.run import CompareConfig, parse_named, run_compare
    from adfusion_edge.errors import AdFusionError

    argv = list(sys.argv[1:] if argv is None else argv)
    a = build_parser().parse_args(argv)
    try:
        cfg = CompareConfig(
            models=tuple(parse_named(m) for m in a.model), bundles=tuple(parse_named(b) for b in a.bundle),
            out=a.out, eval_dir=a.eval_dir, corpus=a.corpus, splits=tuple(a.splits), reference=a.reference,
            threads=a.threads, runs=a.runs, big_batch=a.big_batch, big_runs=a.big_runs, rounds=a.rounds,
            time_budget_s=a.time_budget, batch_size=a.batch_size, max_samples=a.max_samples,
            text_source=a.text_source, reevaluate=a.reevaluate, progress=not a.no_progress,
            command=shlex.join(["python", "scripts/student_report.py", *argv]),
        )
        run_compare(cfg)
    except AdFusionError as e:  # bad option, missing/corrupt checkpoint or bundle: a message, not a trace
        print(f"student_report: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
