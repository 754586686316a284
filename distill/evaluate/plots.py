"""Figure 1 (per-task grouped bars across models) and Figure 2 (overall score vs alpha/beta/gamma).

PNG files via matplotlib's Agg backend (no display needed). Figure 2's points are the runs that
share the base teacher's architecture and differ from it in exactly one loss weight (sweep runs,
and e.g. the no-ITC ablation as beta = 0); the base teacher itself is a point on every line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adfusion_edge.distill.evaluate.tables import TABLE1_HEADER, TABLE1_KEYS, RunResult, table1

WEIGHTS = ("alpha", "beta", "gamma")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # headless: training machines have no display
    import matplotlib.pyplot as plt

    return plt


def figure1(runs: Sequence[RunResult], split: str, path: str | os.PathLike) -> Path | None:
    """Grouped bar chart: x = Table 1 tasks (+ overall), one bar per model. None if no rows."""
    rows = table1(runs, split)
    if not rows:
        return None
    plt = _pyplot()
    n = len(rows)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(max(7.0, 1.6 * len(TABLE1_KEYS) + 0.3 * n), 4.5))
    for i, row in enumerate(rows):
        xs = [k + (i - (n - 1) / 2) * width for k in range(len(TABLE1_KEYS))]
        vals = [100.0 * (row[key] or 0.0) for key in TABLE1_KEYS]
        ax.bar(xs, vals, width, label=row["label"])
    ax.set_xticks(range(len(TABLE1_KEYS)), TABLE1_HEADER)
    ax.set_ylabel("score (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"Figure 1: accuracy across tasks (split {split})")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, plt, path)


def sweep_points(runs: Sequence[RunResult], split: str) -> dict[str, list[tuple[float, float]]]:
    """weight -> sorted (value, overall) points; see the module docstring for which runs count."""
    # A checkpoint evaluated without its run config has unknown loss weights: it cannot be placed
    # on a weight axis, so it takes no part in the sweep (it still appears in the tables).
    runs = [r for r in runs if all(w in r.loss for w in WEIGHTS)]
    base = next((r for r in runs if r.tags.get("ablation") == "full"), None) or next(
        (r for r in runs if r.model == "adfusionnet" and not r.tags), None)
    if base is None:
        return {}
    points: dict[str, list[tuple[float, float]]] = {w: [] for w in WEIGHTS}
    for r in runs:
        overall = r.splits.get(split, {}).get("overall")
        if overall is None or r.model != base.model or r.model_config != base.model_config:
            continue
        differ = [w for w in WEIGHTS if r.loss.get(w) != base.loss.get(w)]
        if r is base or len(differ) == 0:
            for w in WEIGHTS:
                points[w].append((float(r.loss[w]), float(overall)))
        elif len(differ) == 1 and all(r.loss.get(k) == base.loss.get(k) for k in r.loss if k not in WEIGHTS):
            points[differ[0]].append((float(r.loss[differ[0]]), float(overall)))
    return {w: sorted(set(p)) for w, p in points.items() if len(p) > 1}


def figure2(runs: Sequence[RunResult], split: str, path: str | os.PathLike) -> Path | None:
    """One panel per loss weight: overall score vs the weight's value. None without sweep runs."""
    points = sweep_points(runs, split)
    if not points:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(points), figsize=(4.2 * len(points), 3.8), sharey=True, squeeze=False)
    for ax, (w, pts) in zip(axes[0], points.items(), strict=True):
        ax.plot([p[0] for p in pts], [100.0 * p[1] for p in pts], marker="o")
        ax.set_xlabel({"alpha": "alpha (L_task)", "beta": "beta (L_itc)", "gamma": "gamma (L_mi)"}[w])
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("overall score (%)")
    fig.suptitle(f"Figure 2: effect of loss weights (split {split})")
    fig.tight_layout()
    return _save(fig, plt, path)


def _save(fig: Any, plt: Any, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_figures(runs: Sequence[RunResult], splits: Sequence[str], out_dir: str | os.PathLike) -> list[Path]:
    """figure1_<split>.png and figure2_<split>.png for every split that has data."""
    out = []
    for split in splits:
        for fn, name in ((figure1, "figure1"), (figure2, "figure2")):
            p = fn(runs, split, Path(out_dir) / f"{name}_{split}.png")
            if p is not None:
                out.append(p)
    return out
