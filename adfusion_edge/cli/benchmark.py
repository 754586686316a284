"""``adfusion-edge benchmark``: run the benchmark suites, then write REPORT.md and its plots.

    adfusion-edge benchmark                 # full run: regenerates benchmarks/REPORT.md
    adfusion-edge benchmark --quick --out /tmp/bench/REPORT.md

The suites live in the repository's ``benchmarks/`` folder, which is not installed: this verb
needs a source checkout (an editable install finds it next to the package). pytest runs the
suites in a child process with pytest-benchmark enabled and its JSON written beside the report
(``REPORT.json``, kept as a summary: statistics and extra_info, without pytest-benchmark's raw
per-round samples); benchmarks/report.py turns that one JSON into the report, so every ratio in it
compares numbers of the same run.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import shlex
import subprocess
import sys
from pathlib import Path

# Quick: a smoke run that must finish in about a minute on 2 cores (few rounds, batch sizes 1 and 8,
# small models only); full: enough rounds for stable medians.
QUICK_PYTEST = ("--bench-quick", "--benchmark-max-time=0.1", "--benchmark-min-rounds=3", "--benchmark-warmup=off")
FULL_PYTEST = ("--benchmark-max-time=2.0", "--benchmark-min-rounds=20", "--benchmark-warmup=on")


def find_benchmarks_dir() -> Path:
    """The checkout's ``benchmarks/`` folder: beside the package (editable install), else in the cwd.

    Raises:
        FileNotFoundError: not in a source checkout.
    """
    import adfusion_edge

    candidates = [Path(adfusion_edge.__file__).resolve().parent.parent / "benchmarks", Path.cwd() / "benchmarks"]
    for c in candidates:
        if (c / "conftest.py").is_file() and (c / "report.py").is_file():
            return c
    raise FileNotFoundError(
        "benchmarks/ not found: `adfusion-edge benchmark` runs the suites of a source checkout. Clone the "
        "repository, `pip install -e '.[train,export,dev]'` and run it from there (looked in: "
        + ", ".join(str(c) for c in candidates) + ")"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="smoke run (~1 min on 2 cores): batch sizes 1 and 8, small models, few rounds")
    parser.add_argument("--out", default=None, help="report path (default: benchmarks/REPORT.md); plots go "
                        "to plots/ beside it, the run's summary JSON to <out>.json")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="KEY=DIR",
                        help="measure a checkpoint for model KEY instead of a registry build "
                             "(e.g. pruned_student=runs/pruned; repeatable)")
    parser.add_argument("--bundle", default=None, metavar="DIR", help="bundle for the end-to-end suite")
    parser.add_argument("--epoch-size", type=int, default=None,
                        help="samples per epoch for the training-time estimate (default: 1,000,000 = AdFusion-1M)")
    parser.add_argument("--reports", default=None, help="root of evaluation JSONs for the accuracy tables "
                        "(default: <repo>/reports; see benchmarks/report.py)")
    parser.add_argument("--split", default="test", help="evaluation split for the accuracy tables")
    parser.add_argument("-k", dest="select", default=None, metavar="EXPR", help="only run suites/tests matching "
                        "this pytest -k expression")


def pytest_command(bench: Path, json_path: Path, args: argparse.Namespace) -> list[str]:
    """The pytest invocation for ``args`` (exposed for tests and for running it by hand)."""
    cmd = [sys.executable, "-m", "pytest", str(bench), "-v", "-p", "no:cacheprovider", "--benchmark-enable",
           f"--benchmark-json={json_path}", "--benchmark-columns=median,max,rounds", "--benchmark-sort=name",
           *(QUICK_PYTEST if args.quick else FULL_PYTEST)]
    for item in args.checkpoint:
        cmd.append(f"--bench-checkpoint={item}")
    if args.bundle:
        cmd.append(f"--bench-bundle={args.bundle}")
    if args.epoch_size:
        cmd.append(f"--bench-epoch-size={args.epoch_size}")
    if args.select:
        cmd += ["-k", args.select]
    return cmd


def command_line(args: argparse.Namespace) -> str:
    """The ``adfusion-edge benchmark ...`` command that ``args`` came from (for the report)."""
    parts = ["adfusion-edge", "benchmark"] + (["--quick"] if args.quick else [])
    for item in args.checkpoint:
        parts += ["--checkpoint", item]
    for flag, value in (("--bundle", args.bundle), ("--epoch-size", args.epoch_size), ("--out", args.out),
                        ("--reports", args.reports), ("-k", args.select)):
        if value:
            parts += [flag, str(value)]
    if args.split != "test":
        parts += ["--split", args.split]
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    bench = find_benchmarks_dir()
    missing = [m for m in ("pytest", "pytest_benchmark", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"adfusion-edge benchmark: needs {', '.join(missing)}: pip install -e '.[train,export,dev]'",
              file=sys.stderr)
        return 2
    out = Path(args.out).resolve() if args.out else bench / "REPORT.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    json_path = out.with_suffix(".json")
    # pytest-benchmark creates its JSON file at start and fills it at the end: write to a temporary
    # name and move it into place only when complete, so an interrupted run leaves the previous
    # report's data intact instead of an empty file.
    partial = json_path.with_name(f".{json_path.name}.partial")
    partial.unlink(missing_ok=True)
    cmd = pytest_command(bench, partial, args)
    print(f"adfusion-edge benchmark: {'quick' if args.quick else 'full'} run of {bench}", flush=True)
    # The repo root as cwd: pytest picks up pyproject's settings and the suites' relative imports.
    env = {**os.environ, "ADFUSION_BENCH_COMMAND": command_line(args)}
    rc = subprocess.call(cmd, cwd=bench.parent, env=env)
    if not partial.is_file() or partial.stat().st_size == 0:
        print(f"adfusion-edge benchmark: pytest exited {rc} without writing benchmark data", file=sys.stderr)
        partial.unlink(missing_ok=True)
        return rc or 1
    sys.path.insert(0, str(bench))
    report = importlib.import_module("report")
    # The kept JSON is the run's summary (no raw per-round samples): the report needs nothing more.
    summary = report.write_summary(partial, json_path.with_name(f".{json_path.name}.summary"))
    os.replace(summary, json_path)
    partial.unlink(missing_ok=True)
    written = report.write_report(json_path, out, args.reports, args.split)
    print(f"adfusion-edge benchmark: wrote {written} (+ {written.parent / 'plots'}, summary data {json_path})")
    if rc not in (0, 5):  # 5 = nothing collected (e.g. a -k that matched nothing)
        print(f"adfusion-edge benchmark: some benchmarks failed (pytest exit {rc}); the report covers the rest",
              file=sys.stderr)
        return rc
    return 0
