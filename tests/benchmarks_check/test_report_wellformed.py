"""benchmarks/REPORT.md is well-formed: one real quick run through the CLI, plus unit tests of report.py.

The quick run (``adfusion-edge benchmark --quick``, about a minute on 2 cores) checks structure only:
required sections and tables, numbers that parse, valid PNG plots, system info. Speed is never
asserted here: it is what the report measures.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))  # benchmarks/ is not installed

import report as bench_report  # noqa: E402
from report_sections import md_table, num  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Header fragments of columns that must hold a number, "n/a" (not measured) or "—" (not applicable).
NUMERIC_HEADERS = ("(ms)", "(x)", "(M)", "(GB)", "(MB)", "(min)", "samples/s", "Samples/s", "Items/s", "Batch",
                   "Rounds", "Count", "Table 1 overall", "All heads")


NUMBER = r"-?\d+(?:\.\d+)?"
SPREAD = re.compile(rf"(?P<mid>{NUMBER}) \[(?P<lo>{NUMBER}), (?P<hi>{NUMBER})\]")


def parse_tables(md: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every markdown table in ``md`` as (header, rows); cells stripped, escaped pipes kept whole."""
    tables, lines, i = [], md.splitlines(), 0
    split = re.compile(r"(?<!\\)\|")
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and re.fullmatch(r"\|(---\|)+", lines[i + 1]):
            header = [c.strip() for c in split.split(lines[i])[1:-1]]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in split.split(lines[i])[1:-1]])
                i += 1
            tables.append((header, rows))
        else:
            i += 1
    return tables


def assert_numbers_parse(md: str) -> None:
    for header, rows in parse_tables(md):
        for row in rows:
            assert len(row) == len(header), f"ragged row {row} under {header}"
            for name, cell in zip(header, row, strict=True):
                if any(h in name for h in NUMERIC_HEADERS) and cell not in ("n/a", "—"):
                    spread = SPREAD.fullmatch(cell)  # "median [p10, p90]" (paired-block ratios)
                    if spread:
                        lo, mid, hi = float(spread["lo"]), float(spread["mid"]), float(spread["hi"])
                        assert lo <= mid <= hi, f"{name}: {cell} is not median inside [p10, p90]"
                    else:
                        float(cell)  # raises on anything that is not a plain number


# ---- the real quick run ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "REPORT.md"
    proc = subprocess.run([sys.executable, "-m", "adfusion_edge", "benchmark", "--quick", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_quick_report_has_every_section(quick_run: Path) -> None:
    md = quick_run.read_text()
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    for section in bench_report.REQUIRED_SECTIONS:
        assert any(h.startswith(section) for h in headings), f"missing section {section!r}"


def test_quick_report_numbers_parse(quick_run: Path) -> None:
    md = quick_run.read_text()
    assert_numbers_parse(md)
    tables = {tuple(h): rows for h, rows in parse_tables(md)}
    eff = next(rows for h, rows in tables.items() if "Parameters (M)" in h and "Training time per epoch (min)" in h)
    assert any(r[0] == "Student" and r[1] == "ort-fp32" for r in eff), "the student was not measured"
    paper = next(rows for h, rows in tables.items() if h[0] == "Paper row")
    assert [r[0] for r in paper] == list(bench_report.PAPER_TABLE4)


def test_quick_report_plots_are_pngs(quick_run: Path) -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", quick_run.read_text())
    assert images, "no plot referenced"
    for rel in images:
        path = quick_run.parent / rel
        assert path.read_bytes()[:8] == PNG_MAGIC
        with Image.open(path) as im:
            im.verify()


def test_quick_report_sysinfo_and_summary_json(quick_run: Path) -> None:
    md = quick_run.read_text()
    for item in ("CPU", "Cores usable", "Threads used", "RAM (GB)", "GPU", "Git commit", "Version: torch",
                 "Version: onnxruntime", "Version: numpy", "Version: adfusion-edge", "Version: python"):
        assert re.search(rf"^\| {re.escape(item)} \| \S", md, flags=re.M), f"sysinfo row {item!r} missing"
    data = json.loads(quick_run.with_suffix(".json").read_text())
    assert data["machine_info"]["adfusion_run"]["quick"] is True
    assert data["benchmarks"]
    # The kept JSON is the summary: statistics yes, pytest-benchmark's raw per-round samples no.
    assert all("median" in b["stats"] and "data" not in b["stats"] for b in data["benchmarks"])
    # The report names the exact command that regenerates it.
    command = data["machine_info"]["adfusion_run"]["command"]
    assert command.startswith("adfusion-edge benchmark --quick --out ") and f"Generated by `{command}`" in md


# ---- report.py on a synthetic run --------------------------------------------------------------

IDENTITY = {"name": "adfusionnet", "config": {"text_dim": 768, "block_out": [24, 32]},
            "preprocess": {"image_size": 160}}


def _row(model, backend, batch, p50, sps, size=None, mem=None, params=1_000_000, **extra) -> dict:
    info = {"suite": "models", "kind": "inference", "model": model, "backend": backend, "batch": batch,
            "precision": "int8" if "int8" in backend else "fp32", "p50_ms": p50, "p99_ms": p50 * 1.5,
            "samples_per_s": sps, "rounds": 10, "params": params, "size_bytes": size, "mem_bytes": mem, **extra}
    return {"name": f"test[{model}-{backend}-b{batch}]", "extra_info": info, "stats": {}}


@pytest.fixture
def synthetic(tmp_path: Path) -> Path:
    benchmarks = [
        _row("teacher", "pytorch", 1, 40.0, 25.0, size=400e6, mem=2e9, params=60e6, paper_row="Our Model",
             model_identity=IDENTITY),
        _row("teacher", "pytorch", 8, 160.0, 50.0, size=400e6, mem=3e9, params=60e6, paper_row="Our Model"),
        _row("teacher", "ort-fp32", 1, 20.0, 50.0, size=240e6, mem=1e9, params=60e6),
        _row("student", "ort-int8", 1, 4.0, 250.0, size=4e6, mem=0.1e9, params=1.5e6),
        _row("student", "ort-int8", 8, 16.0, 500.0, size=4e6, mem=0.2e9, params=1.5e6),
        _row("student", "ort-fp32", 1, 5.0, 200.0, size=6e6, mem=0.15e9, params=1.5e6),
        {"name": "train[teacher]", "extra_info": {"suite": "models", "kind": "train_step", "model": "teacher",
                                                  "samples_per_s": 10.0, "epoch_minutes": 1666.7}},
        {"name": "ratio", "extra_info": {"suite": "ratios", "kind": "interleaved", "candidate": "student/ort-int8",
                                         "reference": "teacher/pytorch", "speedup": 9.5,
                                         "block_speedup": 9.0, "block_speedup_p10": 8.0, "block_speedup_p90": 9.6,
                                         "b64_block_speedup": 8.5, "b64_block_speedup_p10": 8.0,
                                         "b64_block_speedup_p90": 9.0}},
        {"name": "tok", "extra_info": {"suite": "tokenize", "stage": "tokenize batch 1", "p50_ms": 0.05,
                                       "p99_ms": 0.1, "samples_per_s": 20000.0, "rounds": 100}},
    ]
    data = {"machine_info": {"adfusion": {"cpu": "Test CPU", "cores": 2, "gpus": [], "versions": {"torch": "x"}},
                             "adfusion_run": {"quick": False, "batch_sizes": [1, 8], "epoch_size": 1000}},
            "benchmarks": benchmarks, "adfusion_skipped": [{"test": "a::t[x]", "reason": "no checkpoint"}]}
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data))
    return path


def test_ratio_maths(synthetic: Path) -> None:
    run = bench_report.BenchRun.load(synthetic)
    r = bench_report.ratio(run, ("student", "ort-int8"), ("teacher", "pytorch"))
    assert r["latency_b1"] == pytest.approx(40.0 / 4.0)          # reference p50 / candidate p50 at batch 1
    assert r["throughput"] == pytest.approx(500.0 / 50.0)        # best batch each side (8 and 8)
    assert r["size"] == pytest.approx(400e6 / 4e6)               # at the best-batch rows
    assert r["memory"] == pytest.approx(3e9 / 0.2e9)
    assert r["params"] == pytest.approx(60e6 / 1.5e6)
    assert bench_report.ratio(run, ("student", "ort-int8"), ("early_fusion", "pytorch")) is None
    assert run.best("student", "ort-int8")["batch"] == 8


def test_table_formatting() -> None:
    assert num(None) == "n/a" and num(float("nan")) == "n/a" and num(3.14159, 1) == "3.1"
    assert md_table(("a", "b"), [("1", "x|y")]) == "| a | b |\n|---|---|\n| 1 | x\\|y |\n"


def test_report_from_synthetic_json(synthetic: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports" / "eval"  # evaluate --out reports/eval: one level deeper, still found
    heads = {"sentiment": {"macro_f1": 0.7}, "emotion": {"macro_f1": 0.6}, "theme": {"accuracy": 0.8}}
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "model.json").write_text(json.dumps({**IDENTITY, "format_version": 1}))
    metrics = {"heads": heads, "engagement_accuracy": 0.5, "overall": 0.65, "all_heads": 0.55,
               "checkpoint": str(ckpt)}
    for name, suffix, overall in (("adfusionnet", "", 0.65), ("student", ".ort-int8", 0.6), ("student", "", 0.62)):
        (reports / name).mkdir(parents=True, exist_ok=True)
        (reports / name / f"test{suffix}.metrics.json").write_text(json.dumps({**metrics, "overall": overall}))
    (reports / "adfusionnet" / "test_shift.metrics.json").write_text(json.dumps(metrics))  # other split: ignored
    quality = bench_report.load_quality(tmp_path / "reports", "test")
    assert set(quality) == {("adfusionnet", "pytorch"), ("student", "ort-int8"), ("student", "pytorch")}
    run = bench_report.BenchRun.load(synthetic)
    points, unpaired = bench_report.pareto_points(run, quality)
    # Only the teacher's evaluated checkpoint is the timed model; the student rows carry no identity.
    assert points == [(40.0, 65.0, "adfusionnet pytorch")]
    assert len(unpaired) == 2 and all("student" in u for u in unpaired)

    out = bench_report.write_report(synthetic, tmp_path / "out" / "REPORT.md", tmp_path / "reports", "test")
    md = out.read_text()
    assert_numbers_parse(md)
    for section in bench_report.REQUIRED_SECTIONS:
        assert f"## {section}" in md
    assert ("| Student INT8 vs teacher PyTorch FP32 | 9.50 | 9.00 [8.00, 9.60] | 8.50 [8.00, 9.00] | 10.00 | 10.00 | "
            "100.00 | 15.00 | 40.00 |  |") in md
    assert "| Our Model | 45 | 20 | 175 | 3.2 | Teacher (AdFusionNet) | 60.00 | 1666.7 | 50.0 | 2.794 |" in md
    assert "| no checkpoint | 1 | t[x] |" in md
    assert "No GPU was available" in md
    assert (out.parent / "plots" / "quality_vs_latency.png").read_bytes()[:8] == PNG_MAGIC
    assert "Ours (AdFusionNet)" in md  # Table 1 rendered through distill/evaluate/tables.py


def test_freely_named_evaluation_pairs_by_checkpoint_identity(synthetic: Path, tmp_path: Path) -> None:
    # scripts/student_report.py names evaluations freely ("pruned"); the timed model with the same
    # checkpoint identity is that model, so the score pairs with its latency.
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "model.json").write_text(json.dumps({**IDENTITY, "format_version": 1}))
    metrics = {"heads": {}, "overall": 0.7, "checkpoint": str(ckpt)}
    (tmp_path / "reports" / "my_run").mkdir(parents=True)
    (tmp_path / "reports" / "my_run" / "test.metrics.json").write_text(json.dumps(metrics))
    quality = bench_report.load_quality(tmp_path / "reports", "test")
    points, unpaired = bench_report.pareto_points(bench_report.BenchRun.load(synthetic), quality)
    assert points == [(40.0, 70.0, "my_run pytorch")] and unpaired == []
    (ckpt / "model.json").write_text(json.dumps({**IDENTITY, "config": {"other": 1}}))  # another model
    points, unpaired = bench_report.pareto_points(bench_report.BenchRun.load(synthetic), quality)
    assert points == [] and len(unpaired) == 1


def test_bundle_evaluation_pairs_with_the_timed_bundle_file(tmp_path: Path) -> None:
    # The shipped bundle's own evaluation (scripts/student_report.py --bundle) pairs only with the
    # row that timed that very model file (same sha256 as its bundle.json lists).
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "bundle.json").write_text(json.dumps({"model": {"file": "model.onnx"},
                                                    "files": {"model.onnx": {"sha256": "abc"}}}))
    rows = [_row("pruned_student", "ort-int8", 1, 0.9, 1100.0, size=1e6, mem=1e7, params=4e5, bundle_sha256="abc"),
            _row("pruned_student", "ort-fp32", 1, 1.0, 1000.0, size=2e6, mem=1e7, params=4e5)]
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"machine_info": {}, "benchmarks": rows}))
    (tmp_path / "reports" / "student_int8").mkdir(parents=True)
    metrics = {"heads": {}, "overall": 0.81, "bundle": str(bundle)}
    (tmp_path / "reports" / "student_int8" / "test.metrics.json").write_text(json.dumps(metrics))
    quality = bench_report.load_quality(tmp_path / "reports", "test")
    points, unpaired = bench_report.pareto_points(bench_report.BenchRun.load(path), quality)
    assert points == [(0.9, 81.0, "student_int8 (ort-int8)")] and unpaired == []
    (bundle / "bundle.json").write_text(json.dumps({"model": {"file": "model.onnx"},
                                                    "files": {"model.onnx": {"sha256": "other"}}}))
    points, unpaired = bench_report.pareto_points(bench_report.BenchRun.load(path), quality)
    assert points == [] and len(unpaired) == 1 and "not timed" in unpaired[0]


def test_sysinfo_imports_without_torch() -> None:
    # A base install (no torch) runs the runtime suites; their machine info must not pull torch in.
    code = ("import importlib.abc, sys\n"
            "class Block(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name.split('.')[0] == 'torch':\n"
            "            raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n"
            "sys.meta_path.insert(0, Block())\n"
            f"sys.path.insert(0, {str(REPO / 'benchmarks')!r})\n"
            "import sysinfo\n"
            "assert sysinfo.cpu_model()\n"
            "assert 'torch' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_summary_json_drops_raw_samples_and_renders_the_same(tmp_path: Path) -> None:
    stats = {"median": 0.002, "rounds": 3, "mean": 0.0021, "data": [0.002, 0.0021, 0.0022]}
    raw = {"machine_info": {"adfusion": {"cores": 2}}, "benchmarks": [
        {"name": "test_x", "extra_info": {"suite": "stage", "stage": "x"}, "stats": stats},
        {"name": "test_y", "extra_info": {}, "stats": dict(stats, median=0.004)}]}
    raw_path = tmp_path / "raw.json"
    raw_path.write_text(json.dumps(raw))
    kept = json.loads(bench_report.write_summary(raw_path, tmp_path / "REPORT.json").read_text())
    assert [b["stats"] for b in kept["benchmarks"]] == [{"median": 0.002, "rounds": 3, "mean": 0.0021},
                                                         {"median": 0.004, "rounds": 3, "mean": 0.0021}]
    assert kept["machine_info"] == raw["machine_info"]
    assert bench_report.BenchRun(kept).rows == bench_report.BenchRun(raw).rows
