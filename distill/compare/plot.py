"""pareto.png: overall score vs ONNX Runtime batch-1 latency (log x), one panel per split.

Every compared model is a labelled point; the Pareto front (no other model is both faster and
better) is drawn as a step line, so "is the pruned student worth its accuracy?" is one glance.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points that no other point beats on both lower x (latency) and higher y (score).

    Returns:
        The front sorted by x.
    """
    front: list[tuple[float, float]] = []
    for x, y in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or y > front[-1][1]:
            front.append((x, y))
    return front


def _points(result: Mapping[str, Any], split: str) -> list[tuple[int, str, float, float]]:
    """(model index, name, ORT p50 ms, overall %) of the models that have both numbers."""
    out = []
    for i, m in enumerate(result["models"]):
        lat = m.get("latency", {}).get("ort", {}).get("b1", {}).get("p50_ms")
        score = (m.get("scores", {}).get(split) or {}).get("overall")
        if lat is not None and score is not None:
            out.append((i, m["name"], float(lat), 100.0 * float(score)))
    return out


def pareto_plot(result: Mapping[str, Any], path: str | os.PathLike) -> Path | None:
    """Write the plot for every split that has scored, timed models; None when none has.

    Args:
        result: compare.json content (models with ``latency`` and ``scores``).
        path: PNG file to write.
    """
    splits = [s for s in result["splits"] if _points(result, s)]
    if not splits:
        return None
    import matplotlib

    matplotlib.use("Agg")  # headless: report machines have no display
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, axes = plt.subplots(1, len(splits), figsize=(5.2 * len(splits), 4.2), squeeze=False)
    threads = result.get("timing", {}).get("threads")
    for ax, split in zip(axes[0], splits, strict=True):
        pts = _points(result, split)
        for i, name, x, y in pts:  # one colour per model, the same in every panel
            ax.scatter([x], [y], s=40, zorder=3, color=f"C{i % 10}", label=name)
        # Labels alternate above/below in latency order, so neighbours with near-identical numbers
        # (a bundle and the checkpoint it was exported from) stay readable.
        for k, (_, name, x, y) in enumerate(sorted(pts, key=lambda p: (p[2], p[3]))):
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, 6 if k % 2 == 0 else -13), fontsize=9)
        front = pareto_front([(x, y) for _, _, x, y in pts])
        ax.step([p[0] for p in front], [p[1] for p in front], where="post", color="grey", alpha=0.6,
                linestyle="--", label="Pareto front")
        ax.set_xscale("log")
        ax.margins(x=0.25, y=0.15)  # room for the labels of the extreme points
        plain = FuncFormatter(lambda v, _pos: f"{v:g}")  # 0.2, 5, 40 rather than 2x10^-1
        ax.xaxis.set_major_formatter(plain)
        # Minor ticks labelled only at 2 and 5 per decade: labelling all of 0.6..0.9 collides.
        ax.xaxis.set_minor_formatter(FuncFormatter(
            lambda v, _pos: f"{v:g}" if f"{v:.1e}"[0] in "25" else ""))
        ax.set_xlabel(f"ONNX Runtime CPU latency, batch 1, p50 (ms, {threads} thread(s))")
        ax.set_ylabel("overall score (Table 1, %)")
        ax.set_title(f"split {split}")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="best")
    fig.suptitle("Score vs latency")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
