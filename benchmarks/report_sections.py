"""The sections of REPORT.md, each a function of one benchmark run (report.BenchRun) -> markdown.

Cells hold a number, ``n/a`` (not measured in this run) or ``—`` (does not apply), so the report
stays machine-checkable (tests/benchmarks_check parses every numeric column).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench_models import SPEC_BY_KEY

NA, DASH = "n/a", "—"
# The paper's Table 4: row -> (params M, train minutes per epoch, samples/s, memory GB).
PAPER_TABLE4: dict[str, tuple[float, float, float, float]] = {
    "Image-Only CNN": (11, 12, 210, 2.1),
    "Text-Only BERT": (65, 18, 160, 3.0),
    "Multimodal Baseline": (72, 25, 130, 3.8),
    "Our Model": (45, 20, 175, 3.2),
}
OPTIMUM_NOTE = ("Hugging Face Optimum (which wraps these same export / optimize / quantize steps) is not "
                "installable alongside this project's transformers version, so the ONNX Runtime tools "
                "are called directly.")


def num(v: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals, or ``n/a`` for None / NaN."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return NA
    return f"{float(v):.{digits}f}"


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub markdown table (pipes in cells escaped)."""
    def cell(c: Any) -> str:
        return str(c).replace("|", "\\|")

    lines = ["| " + " | ".join(map(cell, header)) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(map(cell, r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def label(run, model: str) -> str:
    if model in SPEC_BY_KEY:
        return SPEC_BY_KEY[model].label
    rows = [r for (m, _, _), r in run.inference.items() if m == model]
    return rows[0].get("label", model) if rows else model


def _mb(v: Any) -> str:
    return num(v / 2**20, 1) if v else NA


def _gb(v: Any) -> str:
    return num(v / 2**30, 3) if v else NA


def system_section(run) -> str:
    m = run.machine
    v = m.get("versions", {})
    threads = ", ".join(f"{k}={n}" for k, n in m.get("threads", {}).items()) or NA
    rows = [
        ("CPU", m.get("cpu", NA)), ("Cores usable", m.get("cores", NA)), ("Threads used", threads),
        ("RAM (GB)", m.get("ram_gb", NA)), ("GPU", "; ".join(m.get("gpus", [])) or "none"),
        ("OS", m.get("os", NA)), ("Git commit", m.get("git_commit", NA)), ("Date", m.get("date", NA)),
        ("Epoch size for training time", run.run.get("epoch_size", NA)),
        ("Batch sizes", ", ".join(map(str, run.run.get("batch_sizes", []))) or NA),
    ] + [(f"Version: {k}", val) for k, val in v.items()]
    return "## System\n\n" + md_table(("Item", "Value"), rows)


def efficiency_section(run) -> str:
    rows = []
    for m in run.models():
        for b in run.backends(m):
            best, one = run.best(m, b), run.row(m, b, 1) or {}
            train = run.train.get(m) if b == "pytorch" else None
            rows.append((label(run, m), b, best.get("precision", NA), num(best.get("params", 0) / 1e6, 2),
                         num(train.get("epoch_minutes"), 1) if train else DASH,
                         num(best["samples_per_s"], 1), best["batch"], _gb(best.get("mem_bytes")),
                         _mb(best.get("size_bytes")), num(one.get("p50_ms")), num(one.get("p99_ms"))))
    if not rows:
        return "## Efficiency (paper Table 4 shape)\n\n_No model was measured in this run (see Skipped)._\n"
    header = ("Model", "Backend", "Precision", "Parameters (M)", "Training time per epoch (min)",
              "Inference speed (samples/s)", "Best batch", "Memory usage (GB)", "Size on disk (MB)",
              "p50 batch 1 (ms)", "p99 batch 1 (ms)")
    sources = {label(run, r["model"]): r.get("model_source") for r in run.inference.values() if r.get("model_source")}
    shipped = sorted({label(run, r["model"]) for r in run.inference.values() if r.get("bundle_sha256")})
    src = "".join(f"- {name}: {where}" + (" (its ort-int8 rows time the shipped default bundle's own file)"
                                           if name in shipped else "") + "\n" for name, where in sources.items())
    return ("## Efficiency (paper Table 4 shape)\n\n" + md_table(header, rows) +
            ("\nModel sources:\n\n" + src if src else "") +
            "\n- **Inference speed**: samples/s at the best batch size (median round), 'Best batch' column.\n"
            "- **Memory usage**: peak resident-memory growth while loading the model anew and running one "
            "batch at the best batch size (weights + runtime arenas + activations), Linux VmHWM.\n"
            "- **Training time per epoch**: epoch size / measured train-step throughput (PyTorch eager, "
            "forward + the project's loss + backward + AdamW; batch 32, 8 in --quick). Distillation's "
            "teacher forward is not included, so a KD epoch costs more.\n"
            "- **Size on disk**: the file the backend loads (safetensors weights for PyTorch).\n"
            "- p99 over few rounds is close to the maximum; round counts are in the latency table.\n")


def paper_section(run) -> str:
    rows = []
    ours_by_paper = {SPEC_BY_KEY[m].paper_row: m for m in run.models()
                     if m in SPEC_BY_KEY and SPEC_BY_KEY[m].paper_row}
    for paper_row, (p, t, s, g) in PAPER_TABLE4.items():
        m = ours_by_paper.get(paper_row)
        best = run.best(m, "pytorch") if m else None
        train = run.train.get(m) if m else None
        ours = label(run, m) if m else "not measured in this run"
        rows.append((paper_row, num(p, 0), num(t, 0), num(s, 0), num(g, 1), ours,
                     num(best["params"] / 1e6, 2) if best else NA,
                     num(train.get("epoch_minutes"), 1) if train else NA,
                     num(best["samples_per_s"], 1) if best else NA, _gb(best.get("mem_bytes")) if best else NA))
    header = ("Paper row", "Paper: Parameters (M)", "Paper: Training time per epoch (min)",
              "Paper: Inference speed (samples/s)", "Paper: Memory usage (GB)", "Ours: model",
              "Ours: Parameters (M)", "Ours: Training time per epoch (min)",
              "Ours: Inference speed (samples/s)", "Ours: Memory usage (GB)")
    epoch = run.run.get("epoch_size", NA)
    return ("## Paper Table 4 beside ours\n\n"
            "The paper's rows come from **different hardware and data**: its own (unspecified) training "
            "hardware and the AdFusion-1M corpus, which is not available. Ours: PyTorch FP32 on this "
            f"machine's CPU (see System), random-initialised weights (speed does not depend on them), "
            f"training time scaled to {epoch} samples per epoch. Compare shapes (which model is "
            "bigger / faster), not absolute values.\n\n" + md_table(header, rows))


def latency_section(run, png: Path | None, base: Path) -> str:
    rows = []
    for m in run.models():
        for b in run.backends(m):
            for n in run.batches(m, b):
                r = run.row(m, b, n)
                rows.append((label(run, m), b, r.get("precision", NA), n, num(r.get("p50_ms")),
                             num(r.get("p99_ms")), num(r["samples_per_s"], 1), r.get("rounds", NA)))
    header = ("Model", "Backend", "Precision", "Batch", "p50 (ms)", "p99 (ms)", "Samples/s", "Rounds")
    body = md_table(header, rows) if rows else "_No model was measured in this run._\n"
    img = f"\n![latency vs batch size]({png.relative_to(base).as_posix()})\n" if png else ""
    return "## Latency and throughput\n\n" + body + img


def ratios_section(run, pairs, ratio_fn: Callable) -> str:
    rows = []
    for title, a, b in pairs:
        inter = run.interleaved.get(("/".join(a), "/".join(b)))
        inter_cell = num(inter["speedup"]) if inter else NA
        block_cell, b64_cell = _block_cell(inter, "block"), _block_cell(inter, "b64_block")
        r = ratio_fn(run, a, b)
        if r is None:
            missing = [f"{m}/{k}" for m, k in (a, b) if run.best(m, k) is None]
            why = "not measured in this run: " + ", ".join(missing)
            if run.run.get("quick"):
                why += " (--quick measures small models only)"
            rows.append((title, inter_cell, block_cell, b64_cell, NA, NA, NA, NA, NA, why))
            continue
        rows.append((title, inter_cell, block_cell, b64_cell, num(r["latency_b1"]), num(r["throughput"]), num(r["size"]),
                     num(r["memory"]), num(r["params"]), ""))
    header = ("Comparison (candidate vs reference)", "Interleaved latency speedup at batch 1 (x)",
              "Paired-block latency speedup at batch 1 (x) [p10, p90]",
              "Paired-block throughput speedup at batch 64 (x) [p10, p90]", "Latency speedup at batch 1 (x)", "Throughput speedup at best batch (x)", "Size reduction (x)",
              "Memory reduction (x)", "Parameter reduction (x)", "Notes")
    return ("## Ratios measured in one run\n\n"
            "Each ratio divides two measurements of this run: >1 means the candidate is faster / smaller. "
            "**Interleaved** = candidate and reference called alternately, call by call, over the same "
            "rounds (same load on a shared machine; every call starts with the other model in the caches). "
            "**Paired-block** = alternating blocks of back-to-back calls (a serving process that keeps one "
            "model loaded), the median of the per-round ratios with its 10th-90th percentile spread over "
            "rounds; at batch 1 for latency and at batch 64 for throughput. The other columns divide the separate per-row benchmarks (latency: batch-1 p50; "
            "throughput: each side's best batch).\n\n"
            + md_table(header, rows))


def _block_cell(inter: dict | None, key: str) -> str:
    if not inter or f"{key}_speedup" not in inter:
        return NA
    return (f"{num(inter[f'{key}_speedup'])} [{num(inter[f'{key}_speedup_p10'])}, "
            f"{num(inter[f'{key}_speedup_p90'])}]")


def peer_section(run, peer: str, ratio_fn: Callable) -> str:
    head = ("## Peer baseline: DistilBERT deployed the usual way\n\n"
            "The text branch alone as a standard DistilBERT classifier (Hugging Face DistilBertModel + the "
            "13 heads on [CLS]), exported with `torch.onnx.export`, fused with ONNX Runtime's transformer "
            "optimizer (`optimize_model(model_type='bert')`) and quantized with `quantize_dynamic` (INT8 "
            f"weights). {OPTIMUM_NOTE} It takes no image, so it does less work than our multimodal models.\n\n")
    rows = []
    for b in run.backends(peer):
        best, one = run.best(peer, b), run.row(peer, b, 1) or {}
        fused = ", ".join(f"{k} {v}" for k, v in (best.get("fused_ops") or {}).items()) or DASH
        rows.append((best.get("label", peer), b, best.get("precision", NA), num(best["params"] / 1e6, 2),
                     _mb(best.get("size_bytes")), num(one.get("p50_ms")), num(best["samples_per_s"], 1),
                     best["batch"], fused))
    if not rows:
        return head + "_Not measured in this run (see Skipped)._\n"
    header = ("Model", "Backend", "Precision", "Parameters (M)", "Size on disk (MB)", "p50 batch 1 (ms)",
              "Inference speed (samples/s)", "Best batch", "Fused ops")
    return head + md_table(header, rows)


def stages_section(run) -> str:
    rows = [(r["stage"], r.get("suite", NA), num(r.get("p50_ms"), 3), num(r.get("p99_ms"), 3),
             num(r.get("samples_per_s"), 1), r.get("rounds", NA), r["note"]) for r in run.stages]
    header = ("Stage", "Suite", "p50 (ms)", "p99 (ms)", "Items/s", "Rounds", "Notes")
    body = md_table(header, rows) if rows else "_No pipeline stage was measured in this run._\n"
    return "## Pipeline stages\n\n" + body


def accuracy_section(quality: dict, reports_dir: Path, split: str) -> str:
    head = "## Accuracy (paper Tables 1 and 2)\n\n"
    repo = Path(__file__).resolve().parent.parent
    shown = reports_dir.resolve()
    shown = shown.relative_to(repo) if shown.is_relative_to(repo) else shown  # no machine paths in the repo
    convention = (f"Path convention: `<reports>/**/<name>/<split>.metrics.json` (PyTorch FP32) and "
                  f"`<reports>/**/<name>/<split>.<backend>.metrics.json` (exported backends), as written by "
                  f"distill/evaluate/evaluator.write_results (`adfusion-edge evaluate --out reports/...`); "
                  f"`<name>` is a model key of this report or a registry/run name. Looked in `{shown}` "
                  f"for split `{split}`.\n")
    if not quality:
        return head + f"_Skipped: no evaluation JSONs found._ {convention}"
    try:
        from adfusion_edge.distill.evaluate import tables
    except ImportError as e:
        return head + f"_Skipped: distill/evaluate/tables.py not importable ({e})._ {convention}"
    runs = [tables.RunResult(name=name, model=_registry_name(name), splits={split: metrics})
            for (name, backend), metrics in sorted(quality.items()) if backend == "pytorch"]
    out = head + convention + "\n"
    out += tables.table1_markdown(tables.table1(runs, split), split) + "\n"
    t2 = tables.table2(runs, split)
    out += (tables.table2_markdown(t2, split) if t2 else "_Table 2: no ablation runs evaluated._\n") + "\n"
    exported = [(name, backend, m) for (name, backend), m in sorted(quality.items())]
    rows = [(name, backend, num(100 * m["overall"], 1) if m.get("overall") is not None else NA,
             num(100 * m["all_heads"], 1) if m.get("all_heads") is not None else NA) for name, backend, m in exported]
    return out + "**Overall score per backend / precision** (x100)\n\n" + md_table(
        ("Name", "Backend", "Table 1 overall", "All heads"), rows)


def _registry_name(name: str) -> str:
    spec = SPEC_BY_KEY.get(name)
    if spec is None:
        return name
    return spec.registry or "student"  # the pruned student is a student with smaller widths


def gpu_section(run) -> str:
    cuda = [(label(run, m), b, n, num(r.get("p50_ms")), num(r["samples_per_s"], 1),
             _gb(r.get("cuda_alloc_bytes"))) for (m, b, n), r in sorted(run.inference.items()) if "cuda" in b]
    gpus, cuda_ok = run.machine.get("gpus", []), run.machine.get("torch_cuda")
    if not cuda:
        what = "No GPU was available on this machine" if not gpus else "No CUDA numbers in this run"
        smi = "; ".join(gpus) if gpus else "not found"
        avail = "not recorded" if cuda_ok is None else cuda_ok
        return (f"## GPU\n\n{what} (nvidia-smi: {smi}; torch.cuda.is_available(): {avail}), so no CUDA "
                "numbers are reported. The model suite adds a `pytorch-cuda` backend automatically where "
                "CUDA is available.\n")
    return "## GPU\n\n" + md_table(("Model", "Backend", "Batch", "p50 (ms)", "Samples/s",
                                     "torch CUDA peak allocated (GB)"), cuda)


def skipped_section(run) -> str:
    by_reason: dict[str, list[str]] = {}
    for s in run.skipped:
        by_reason.setdefault(s["reason"], []).append(s["test"].split("::")[-1])
    if not by_reason:
        return "## Skipped\n\nNothing was skipped.\n"
    rows = [(reason, len(tests), ", ".join(tests[:4]) + (" ..." if len(tests) > 4 else ""))
            for reason, tests in by_reason.items()]
    return "## Skipped\n\n" + md_table(("Reason", "Count", "Tests"), rows)
