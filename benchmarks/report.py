"""Turn one pytest-benchmark JSON (``--benchmark-json``) into benchmarks/REPORT.md + plots.

    python benchmarks/report.py RUN.json --out benchmarks/REPORT.md [--reports reports]

Every number comes from the one JSON, i.e. from one run on one machine: the ratios (student INT8 vs
teacher, INT8 vs FP32, ours vs the peer DistilBERT) compare rows measured minutes apart under the
same load, which is what makes them meaningful on a shared, noisy machine.

Accuracy comes from the evaluation's JSON files, by this path convention:

    <reports>/<name>/<split>.metrics.json            PyTorch FP32 evaluation (evaluator output)
    <reports>/<name>/<split>.<backend>.metrics.json  the same split run through an exported backend
                                                     (backend as in this report: ort-fp32, ort-int8)

at any depth below ``<reports>`` (``adfusion-edge evaluate --out reports/eval`` writes
``reports/eval/<run>/<split>.metrics.json``). ``<name>`` is a benchmark model key (teacher, student,
pruned_student, image_cnn, text_bert, early_fusion) or a registry/run name (adfusionnet,
adfusionnet_no_xattn, ...); ``<split>`` is ``test`` unless ``--split`` says otherwise. The files are
what distill/evaluate/evaluator.write_results writes. The quality-vs-latency plot pairs a score with a
latency only when the evaluated checkpoint (its model.json) is the model this run timed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))  # run as a script or imported by the CLI

from bench_models import PEER_KEY, SPEC_BY_KEY, SPECS  # noqa: E402
from report_sections import (  # noqa: E402
    PAPER_TABLE4,
    accuracy_section,
    efficiency_section,
    gpu_section,
    latency_section,
    paper_section,
    peer_section,
    ratios_section,
    skipped_section,
    stages_section,
    system_section,
)

__all__ = ["PAPER_TABLE4", "REQUIRED_SECTIONS", "BenchRun", "ratio", "write_report", "load_quality",
           "pareto_points"]
REQUIRED_SECTIONS = ("System", "Efficiency", "Paper Table 4 beside ours", "Latency and throughput",
                     "Ratios measured in one run", "Peer baseline", "Pipeline stages", "Accuracy",
                     "Quality vs latency", "GPU", "Skipped")


class BenchRun:
    """One benchmark JSON, indexed for the report.

    Args:
        data: The parsed pytest-benchmark JSON.
    """

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.machine: dict[str, Any] = data.get("machine_info", {}).get("adfusion", {})
        self.run: dict[str, Any] = data.get("machine_info", {}).get("adfusion_run", {})
        self.skipped: list[dict[str, str]] = data.get("adfusion_skipped", [])
        self.rows = [_flatten(b) for b in data.get("benchmarks", [])]
        self.inference = {(r["model"], r["backend"], int(r["batch"])): r for r in self.rows
                          if r.get("kind") == "inference" and r.get("samples_per_s")}
        self.train = {r["model"]: r for r in self.rows if r.get("kind") == "train_step"}
        self.interleaved = {(r["candidate"], r["reference"]): r for r in self.rows if r.get("kind") == "interleaved"}
        # Everything else is a pipeline stage, including suites other teams add (runtime, adsynth).
        self.stages = [r for r in self.rows if r.get("kind") not in ("inference", "train_step", "interleaved")]

    @classmethod
    def load(cls, path: str | Path) -> BenchRun:
        return cls(json.loads(Path(path).read_text()))

    def models(self) -> list[str]:
        """Model keys with inference rows, in the efficiency table's order (peer last)."""
        present = {m for m, _, _ in self.inference}
        order = [s.key for s in SPECS] + sorted(present - set(SPEC_BY_KEY) - {PEER_KEY}) + [PEER_KEY]
        return [m for m in order if m in present]

    def backends(self, model: str) -> list[str]:
        seen: list[str] = []
        for m, b, _ in self.inference:
            if m == model and b not in seen:
                seen.append(b)
        return seen

    def batches(self, model: str, backend: str) -> list[int]:
        return sorted(n for m, b, n in self.inference if m == model and b == backend)

    def row(self, model: str, backend: str, batch: int) -> dict[str, Any] | None:
        return self.inference.get((model, backend, batch))

    def best(self, model: str, backend: str) -> dict[str, Any] | None:
        """The row with the highest samples/s over batch sizes."""
        rows = [self.inference[(model, backend, n)] for n in self.batches(model, backend)]
        return max(rows, key=lambda r: r["samples_per_s"]) if rows else None


# extra_info keys the stage table shows in its own columns; any other scalar goes into its notes.
_SHOWN = {"suite", "stage", "note", "batch", "p50_ms", "p99_ms", "samples_per_s", "rounds", "name"}


def _flatten(bench: dict[str, Any]) -> dict[str, Any]:
    """One benchmark as a flat dict: its extra_info, with p50 / rounds / rate from pytest-benchmark's
    own stats where the suite did not record them (suites that do not use bench_util.record)."""
    row = dict(bench.get("extra_info", {}), name=bench.get("name", ""))
    stats = bench.get("stats") or {}
    if "p50_ms" not in row and stats.get("median"):
        row.update(p50_ms=stats["median"] * 1e3, rounds=stats.get("rounds"),
                   samples_per_s=row.get("batch", 1) / stats["median"])
    row.setdefault("stage", row["name"])
    if "note" not in row:
        row["note"] = ", ".join(f"{k}={v}" for k, v in row.items()
                                if k not in _SHOWN and isinstance(v, (int, float, str)) and not isinstance(v, bool))
    return row


def ratio(run: BenchRun, a: tuple[str, str], b: tuple[str, str]) -> dict[str, float | None] | None:
    """How much better ``a`` = (model, backend) is than reference ``b``, from the same run.

    Returns:
        ``latency_b1``: b's batch-1 p50 / a's (>1: a is faster); ``throughput``: a's best samples/s
        / b's best; ``size``: b's bytes / a's (>1: a is smaller); ``memory``: likewise for memory;
        ``params``: likewise for parameters. None when either side was not measured.
    """
    a_best, b_best = run.best(*a), run.best(*b)
    if a_best is None or b_best is None:
        return None
    a1, b1 = run.row(*a, 1), run.row(*b, 1)

    def div(x: Any, y: Any) -> float | None:
        return float(x) / float(y) if x and y else None

    return {
        "latency_b1": div(b1 and b1.get("p50_ms"), a1 and a1.get("p50_ms")),
        "throughput": div(a_best["samples_per_s"], b_best["samples_per_s"]),
        "size": div(b_best.get("size_bytes"), a_best.get("size_bytes")),
        "memory": div(b_best.get("mem_bytes"), a_best.get("mem_bytes")),
        "params": div(b_best.get("params"), a_best.get("params")),
    }


def ratio_pairs(run: BenchRun) -> list[tuple[str, tuple[str, str], tuple[str, str]]]:
    """The comparisons the report makes: (title, candidate, reference)."""
    pairs = [
        ("Student INT8 vs teacher PyTorch FP32", ("student", "ort-int8"), ("teacher", "pytorch")),
        ("Student INT8 vs teacher ONNX FP32", ("student", "ort-int8"), ("teacher", "ort-fp32")),
        ("Pruned student INT8 vs teacher PyTorch FP32", ("pruned_student", "ort-int8"), ("teacher", "pytorch")),
        ("Pruned student INT8 vs student INT8", ("pruned_student", "ort-int8"), ("student", "ort-int8")),
    ]
    for m in run.models():
        if m == PEER_KEY:
            continue
        label = SPEC_BY_KEY[m].label if m in SPEC_BY_KEY else m
        pairs.append((f"{label}: INT8 vs FP32 (ORT)", (m, "ort-int8"), (m, "ort-fp32")))
        pairs.append((f"{label}: ONNX FP32 vs PyTorch FP32", (m, "ort-fp32"), (m, "pytorch")))
    pairs += [
        ("Student INT8 vs peer DistilBERT INT8 (ORT-optimized + dynamic)", ("student", "ort-int8"),
         (PEER_KEY, "ort-int8-opt")),
        ("Peer DistilBERT: optimized INT8 vs plain FP32", (PEER_KEY, "ort-int8-opt"), (PEER_KEY, "ort-fp32")),
    ]
    return pairs


def write_report(json_path: str | Path, out: str | Path, reports_dir: str | Path | None = None,
                 split: str = "test") -> Path:
    """Write the markdown report and its plots (``<out dir>/plots/*.png``).

    Args:
        json_path: pytest-benchmark JSON of one run.
        out: REPORT.md path.
        reports_dir: Root of the evaluation JSONs (see module docstring); None: ``<repo>/reports``.
        split: Evaluation split the accuracy tables use.

    Returns:
        The written report path.
    """
    import report_plots

    run = BenchRun.load(json_path)
    out = Path(out)
    plots_dir = out.parent / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)
    reports_dir = Path(reports_dir) if reports_dir else Path(__file__).resolve().parent.parent / "reports"
    quality = load_quality(reports_dir, split)
    latency_png = report_plots.latency_vs_batch(run, plots_dir / "latency_vs_batch.png")
    points, unpaired = pareto_points(run, quality)
    pareto_png = report_plots.quality_vs_latency(points, plots_dir / "quality_vs_latency.png")
    mode = "quick (--quick: batch sizes 1 and 8, small models, few rounds)" if run.run.get("quick") else "full"
    parts = [
        "# adfusion-edge benchmark report\n",
        f"Generated by `{run.run.get('command') or 'adfusion-edge benchmark'}` from one run ({mode}) on "
        f"{run.machine.get('date', 'unknown date')}; the same command regenerates it. "
        "CPU numbers on a shared 2-core machine are "
        "noisy in absolute terms; compare rows of this one run (the ratios section) rather than "
        "numbers across runs.\n",
        system_section(run),
        efficiency_section(run),
        paper_section(run),
        latency_section(run, latency_png, out.parent),
        ratios_section(run, ratio_pairs(run), ratio),
        peer_section(run, PEER_KEY, ratio),
        stages_section(run),
        accuracy_section(quality, reports_dir, split),
        _pareto_section(pareto_png, out.parent, unpaired),
        gpu_section(run),
        skipped_section(run),
    ]
    out.write_text("\n".join(parts))
    return out


def _pareto_section(png: Path | None, base: Path, unpaired: list[str]) -> str:
    head = "## Quality vs latency\n\n"
    why = "".join(f"- not plotted: {u}\n" for u in unpaired)
    if png is None:
        return head + ("_Skipped: no evaluated checkpoint is a model this run timed "
                       "(see the path convention in the Accuracy section)._\n\n" + why)
    return head + ("Table 1 overall score (x100) against batch-1 p50 latency of the same model (same registry "
                   "name, config and preprocessing); the Pareto front is the dashed line.\n\n"
                   f"![quality vs latency]({png.relative_to(base).as_posix()})\n\n" + why)


def _checkpoint_identity(metrics: dict[str, Any]) -> dict[str, Any] | None:
    """{"name", "config", "preprocess"} of the checkpoint an evaluation ran on, from its model.json."""
    f = Path(str(metrics.get("checkpoint", ""))) / "model.json"
    try:
        ident = json.loads(f.read_text())
    except (OSError, ValueError):
        return None
    return {k: ident.get(k) for k in ("name", "config", "preprocess")}


def _bundle_model_sha256(metrics: dict[str, Any]) -> str | None:
    """sha256 of the model file of the bundle an evaluation ran on (from its bundle.json)."""
    try:
        meta = json.loads((Path(str(metrics["bundle"])) / "bundle.json").read_text())
        return meta["files"][meta["model"]["file"]]["sha256"]
    except (KeyError, OSError, ValueError, TypeError):
        return None


def pareto_points(run: BenchRun, quality: dict[tuple[str, str], dict[str, Any]]
                  ) -> tuple[list[tuple[float, float, str]], list[str]]:
    """(p50 ms at batch 1, overall x100, label) for evaluations of exactly the models this run timed.

    A score is only paired with a latency when the evaluated checkpoint's model.json (name, config,
    preprocessing) equals the timed model's: a CPU-scale trained teacher must not borrow the
    paper-size teacher's latency. Returns the points and, for the rest, why they were left out.
    """
    by_registry = {s.registry: s.key for s in SPECS if s.registry}
    points, unpaired = [], []
    for (name, backend), metrics in sorted(quality.items()):
        if "bundle" in metrics:
            # A bundle's evaluation pairs with the row that timed that very model file.
            sha = _bundle_model_sha256(metrics)
            row = next((r for (_m, _b, n), r in run.inference.items()
                        if sha is not None and n == 1 and r.get("bundle_sha256") == sha), None)
            if metrics.get("overall") is None or row is None:
                unpaired.append(f"{name} (bundle {metrics['bundle']}): its model file was not timed in this run")
            else:
                points.append((row["p50_ms"], 100.0 * metrics["overall"], f"{name} ({row.get('backend', 'bundle')})"))
            continue
        key = name if name in SPEC_BY_KEY else by_registry.get(name, name)
        row = run.row(key, backend, 1)
        if row is None and key not in SPEC_BY_KEY:
            # Evaluations may be named freely (e.g. "pruned" by scripts/student_report.py): then the
            # timed model whose identity equals the evaluated checkpoint's is the same model.
            ident = _checkpoint_identity(metrics)
            row = next((r for (_m, b, n), r in run.inference.items()
                        if ident is not None and b == backend and n == 1 and r.get("model_identity") == ident), None)
        if metrics.get("overall") is None:
            unpaired.append(f"{name}/{backend}: no overall score")
        elif row is None:
            unpaired.append(f"{name}/{backend}: {key}/{backend} not timed in this run")
        elif row.get("model_identity") is None or row.get("model_identity") != _checkpoint_identity(metrics):
            unpaired.append(f"{name}/{backend}: evaluated checkpoint is not the timed model (different or unknown "
                            f"config; time it with --checkpoint {key}=CHECKPOINT_DIR)")
        else:
            points.append((row["p50_ms"], 100.0 * metrics["overall"], f"{name} {backend}"))
    return points, unpaired


def load_quality(reports_dir: Path, split: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(name, backend) -> metrics dict, from the path convention in the module docstring."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    if not reports_dir.is_dir():
        return out
    # Any depth: `adfusion-edge evaluate --out reports/eval` writes reports/eval/<run>/<split>.metrics.json.
    for f in sorted(reports_dir.rglob(f"{split}*.metrics.json")):
        middle = f.name[len(split):-len(".metrics.json")]
        if middle and not middle.startswith("."):
            continue  # another split whose name starts like this one ("test" vs "test_shift")
        backend = middle[1:] or "pytorch"
        try:
            metrics = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(metrics, dict) and "heads" in metrics:
            out[(f.parent.name, backend)] = metrics
    return out


# pytest-benchmark's per-round raw samples: 95% of its JSON and rewritten by every run. The report
# reads only the summary statistics and extra_info, so the kept JSON drops them.
RAW_SAMPLE_KEYS = ("data",)


def summarize(data: dict[str, Any]) -> dict[str, Any]:
    """A pytest-benchmark run without its raw per-round samples (summary statistics kept)."""
    out = dict(data)
    out["benchmarks"] = [
        {**b, "stats": {k: v for k, v in (b.get("stats") or {}).items() if k not in RAW_SAMPLE_KEYS}}
        for b in data.get("benchmarks", [])
    ]
    return out


def write_summary(raw_json: str | Path, out: str | Path) -> Path:
    """Write ``summarize`` of the pytest-benchmark JSON ``raw_json`` to ``out`` (one line per benchmark,
    so a regenerated report diffs by benchmark, not by megabytes of samples)."""
    data = summarize(json.loads(Path(raw_json).read_text()))
    rows = [json.dumps(b) for b in data.pop("benchmarks")]
    head = json.dumps(data, indent=1)
    body = head[:-2] + (",\n" if data else "") + ' "benchmarks": [\n  ' + ",\n  ".join(rows) + "\n ]\n}\n"
    out = Path(out)
    out.write_text(body)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("json", help="pytest-benchmark JSON of one run")
    p.add_argument("--out", default=str(Path(__file__).parent / "REPORT.md"))
    p.add_argument("--reports", default=None, help="root of evaluation JSONs (default: <repo>/reports)")
    p.add_argument("--split", default="test")
    args = p.parse_args(argv)
    print(write_report(args.json, args.out, args.reports, args.split))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
