"""REPORT.md's plots (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless CI and servers; must precede pyplot's import
import matplotlib.pyplot as plt  # noqa: E402
from report_sections import label  # noqa: E402


def latency_vs_batch(run, path: Path) -> Path | None:
    """Per-sample p50 latency vs batch size, one panel per model, one line per backend."""
    models = run.models()
    if not models:
        return None
    cols = min(3, len(models))
    rows = (len(models) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, m in zip(axes.flat, models, strict=False):
        for b in run.backends(m):
            ns = run.batches(m, b)
            ax.plot(ns, [run.row(m, b, n)["p50_ms"] / n for n in ns], marker="o", label=b)
        ax.set_title(label(run, m), fontsize=9)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.set_ylabel("p50 ms per sample")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(models):]:
        ax.set_visible(False)
    fig.suptitle("Latency per sample vs batch size (lower is better)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def quality_vs_latency(points: list[tuple[float, float, str]], path: Path) -> Path | None:
    """Scatter of (p50 ms at batch 1, Table 1 overall x100, label) with the Pareto front; None if empty."""
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for x, y, text in points:
        ax.scatter(x, y)
        ax.annotate(text, (x, y), fontsize=7, xytext=(4, 4), textcoords="offset points")
    front, best = [], float("-inf")
    for x, y, _ in sorted(points):  # fastest first: a point is on the front if it beats all faster ones
        if y > best:
            front.append((x, y))
            best = y
    ax.plot(*zip(*front, strict=True), linestyle="--", color="gray", label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel("p50 latency at batch 1 (ms, log)")
    ax.set_ylabel("Table 1 overall (x100)")
    ax.set_title("Quality vs latency (up and left is better)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
