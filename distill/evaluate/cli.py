"""``adfusion-edge evaluate``: checkpoints x splits -> metrics JSON, Table 1/2 markdown, figures.

    adfusion-edge evaluate --checkpoints runs/teacher runs/resnet18_image ... \\
        --corpus /tmp/adsynth2k --splits test shift --out reports/eval

Writes ``OUT/<run>/<split>.metrics.json`` (+ predictions.jsonl), ``OUT/metrics.json`` (all runs),
``OUT/tables.md`` / ``tables.json`` and ``OUT/figure1_<split>.png`` / ``figure2_<split>.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from adfusion_edge.distill.evaluate.evaluator import evaluate_checkpoint, run_info
from adfusion_edge.distill.evaluate.plots import write_figures
from adfusion_edge.distill.evaluate.tables import RunResult, write_tables


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``adfusion-edge evaluate``."""
    parser.add_argument("--checkpoints", nargs="+", required=True, metavar="DIR",
                        help="run directories (best/ is used, else last/) or checkpoint directories")
    parser.add_argument("--corpus", required=True, help="shard corpus directory")
    parser.add_argument("--splits", nargs="+", default=["test", "shift"], help="splits to evaluate")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--text-source", default="gt", choices=("gt", "ocr"))
    parser.add_argument("--max-samples", type=int, default=None, help="evaluate only the first N per split")
    parser.add_argument("--num-workers", type=int, default=0)


def evaluate_all(checkpoints: Sequence[str | os.PathLike], corpus: str | os.PathLike, splits: Sequence[str],
                 out: str | os.PathLike, batch_size: int = 64, device: str = "auto", text_source: str = "gt",
                 max_samples: int | None = None, num_workers: int = 0, log: bool = True,
                 reuse: bool = False) -> list[RunResult]:
    """Evaluate every checkpoint on every split; write metrics, tables and figures into ``out``.

    With ``reuse``, a split whose metrics file in ``out`` was written after the checkpoint (same
    checkpoint, corpus, sample cap and text source) is read back instead of evaluated again: the
    training suite re-renders its report after adding one run without re-evaluating twenty.
    """
    out = Path(out)
    runs: list[RunResult] = []
    used: set[str] = set()
    for ck in checkpoints:
        info = run_info(ck)
        run = RunResult(info["name"], info["model"], info["tags"], info["loss"], info["model_config"],
                        checkpoint=info["checkpoint"])
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", run.name)
        while slug in used:  # two runs with the same name keep separate folders
            slug += "_"
        used.add(slug)
        for split in splits:
            if log:
                print(f"evaluate: {run.name} on {split} ...", flush=True)
            cached = _cached_metrics(out / slug / f"{split}.metrics.json", info["checkpoint"], corpus,
                                     max_samples, text_source) if reuse else None
            run.splits[split] = cached or evaluate_checkpoint(ck, corpus, split, out / slug, batch_size, device,
                                                              text_source, max_samples, num_workers)
        runs.append(run)
    out.mkdir(parents=True, exist_ok=True)
    summary = [{"run": r.name, "model": r.model, "tags": r.tags, "loss": r.loss, "checkpoint": r.checkpoint,
                "splits": {s: {k: m.get(k) for k in ("overall", "all_heads", "engagement_accuracy", "n_samples")}
                           for s, m in r.splits.items()}} for r in runs]
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    write_tables(runs, splits, out)
    write_figures(runs, splits, out)
    return runs


def _cached_metrics(path: Path, checkpoint: str, corpus: str | os.PathLike, max_samples: int | None,
                    text_source: str) -> dict | None:
    """The metrics at ``path`` if they are of this very checkpoint state and evaluation setting."""
    try:
        metrics = json.loads(path.read_text())
        newest = max(f.stat().st_mtime for f in Path(checkpoint).iterdir())
    except (OSError, ValueError):
        return None
    same = (metrics.get("checkpoint") == checkpoint and metrics.get("corpus") == str(corpus)
            and metrics.get("max_samples") == max_samples and metrics.get("text_source") == text_source)
    return metrics if same and path.stat().st_mtime > newest else None


def run(args: argparse.Namespace) -> int:
    """Run ``adfusion-edge evaluate``; returns the exit code."""
    runs = evaluate_all(args.checkpoints, args.corpus, args.splits, args.out, args.batch_size, args.device,
                        args.text_source, args.max_samples, args.num_workers)
    print((Path(args.out) / "tables.md").read_text())
    print(f"evaluated {len(runs)} run(s); outputs in {args.out}")
    return 0
