"""The paper's Table 1 (models x tasks) and Table 2 (ablations) from evaluated runs, per split.

Rows come from :class:`RunResult` objects (one trained run, evaluated on one or more splits).
Which table a run belongs to comes from its TrainConfig ``tags`` (the suite sets them):

    {"table1": true}             a Table 1 row (baselines and the teacher)
    {"ablation": "<key>"}        a Table 2 row; keys of adfusionnet.ABLATION_PRESETS
    {"sweep": "alpha|beta|gamma"} a Figure 2 point (plots.py)

Untagged runs (checkpoints trained by hand) go to Table 1; ``adfusionnet_no_*`` models are also
recognised as ablations by name. Our numbers are measured on the evaluated corpus; the paper's
(AdFusion-1M, not available) are printed in separate, labelled tables for reference only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adfusion_edge import schema
from adfusion_edge.distill.evaluate.metrics import table1_row

# Paper Table 1: registry model -> (row label, Sentiment F1, Emotion F1, Theme Acc, Engagement Acc, Overall).
PAPER_TABLE1: dict[str, tuple[str, float, float, float, float, float]] = {
    "resnet18_image": ("ResNet-18 (Image Only)", 62.1, 58.3, 64.7, 55.9, 60.2),
    "distilbert_text": ("DistilBERT (Text Only)", 67.8, 61.4, 70.1, 60.3, 64.9),
    "clip_dual": ("CLIP (Multimodal)", 71.2, 64.8, 72.5, 62.0, 67.6),
    "early_fusion": ("Early Fusion", 72.3, 65.1, 73.4, 63.1, 68.5),
    "late_fusion": ("Late Fusion", 70.9, 64.0, 71.8, 61.7, 67.1),
    "adfusionnet": ("Ours (AdFusionNet)", 78.5, 72.3, 80.4, 68.9, 75.0),
}
# Models the paper names without numbers in Table 1 (Sec. IV-C baselines).
EXTRA_LABELS: dict[str, str] = {"vit_image": "ViT (Image Only)", "roberta_text": "RoBERTa (Text Only)"}

# Paper Table 2 (Sentiment F1 only): ablation key -> (label, value).
PAPER_TABLE2: dict[str, tuple[str, float]] = {
    "full": ("Full Model (Ours)", 78.5),
    "no_xattn": ("- No Cross-Attention", 72.4),
    "no_multiscale": ("- No Multiscale Visual Features", 70.7),
    "no_itc": ("- No Contrastive Loss (L_itc)", 73.2),
    "no_mi": ("- No MI Loss (L_mi)", 74.1),
}
ABLATION_BY_MODEL = {"adfusionnet_no_xattn": "no_xattn", "adfusionnet_no_multiscale": "no_multiscale"}

TABLE1_HEADER = ("Sentiment (F1)", "Emotion (F1)", "Theme (Acc)", "Engagement (Acc)", "Overall Avg")
TABLE1_KEYS = tuple(f"{n}_{m}" for n, m in schema.TABLE1_COLUMNS) + ("overall",)


@dataclass
class RunResult:
    """One trained run and its metrics per split.

    Attributes:
        name: Run name (TrainConfig.name).
        model: Registry model name.
        tags: TrainConfig.tags.
        loss: Loss weights used (alpha, beta, gamma, ...), for Figure 2.
        model_config: The model config, for Figure 2 (same architecture as the base teacher).
        splits: split name -> compute_metrics() result.
        checkpoint: Checkpoint directory evaluated.
    """

    name: str
    model: str
    tags: dict[str, Any] = field(default_factory=dict)
    loss: dict[str, Any] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)
    checkpoint: str = ""

    @property
    def ablation(self) -> str | None:
        return self.tags.get("ablation") or ABLATION_BY_MODEL.get(self.model)

    @property
    def in_table1(self) -> bool:
        if "table1" in self.tags:
            return bool(self.tags["table1"])
        return self.ablation is None and "sweep" not in self.tags

    @property
    def label(self) -> str:
        if self.model in PAPER_TABLE1 and self.in_table1:
            base = PAPER_TABLE1[self.model][0]
        else:
            base = EXTRA_LABELS.get(self.model, self.model)
        return base if self.name in (self.model, "") else f"{base} [{self.name}]"


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100.0 * v:.1f}"


def table1(runs: Sequence[RunResult], split: str) -> list[dict[str, Any]]:
    """Table 1 rows for ``split``: fractions under TABLE1_KEYS plus the paper's row (or None)."""
    rows = []
    for r in runs:
        if not r.in_table1 or split not in r.splits:
            continue
        # The paper's row belongs to the run of that model, not to variants of it (e.g. MiniLM init).
        paper = PAPER_TABLE1.get(r.model) if r.name in (r.model, "") else None
        rows.append({"run": r.name, "model": r.model, "label": r.label, **table1_row(r.splits[split]),
                     "paper": None if paper is None else dict(zip(TABLE1_KEYS, paper[1:], strict=True))})
    return rows


def table2(runs: Sequence[RunResult], split: str) -> list[dict[str, Any]]:
    """Table 2 rows (ablations, in the paper's order): sentiment F1, overall, all-heads + paper value."""
    order = list(PAPER_TABLE2)
    rows = []
    for r in runs:
        key = r.ablation
        if key is None or split not in r.splits:
            continue
        m = r.splits[split]
        label, paper = PAPER_TABLE2.get(key, (key, None))
        rows.append({"run": r.name, "model": r.model, "ablation": key, "label": label,
                     "sentiment_macro_f1": m["heads"]["sentiment"].get("macro_f1"),
                     "overall": m.get("overall"), "all_heads": m.get("all_heads"), "paper_sentiment_f1": paper})
    rows.sort(key=lambda row: order.index(row["ablation"]) if row["ablation"] in order else len(order))
    return rows


def _md(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def table1_markdown(rows: Sequence[Mapping[str, Any]], split: str) -> str:
    """Measured Table 1 (ours, x100) followed by the paper's reference numbers for the same models."""
    ours = _md(("Model",) + TABLE1_HEADER, [[r["label"]] + [_pct(r[k]) for k in TABLE1_KEYS] for r in rows])
    paper_rows = [[r["label"]] + [f"{r['paper'][k]:.1f}" for k in TABLE1_KEYS] for r in rows if r["paper"]]
    out = f"**Table 1 (measured, split `{split}`)** - scores x100\n\n{ours}\n"
    if paper_rows:
        out += ("\n*Reference only: the paper's Table 1 (AdFusion-1M, not this corpus; not comparable "
                "in absolute terms):*\n\n" + _md(("Model (paper)",) + TABLE1_HEADER, paper_rows) + "\n")
    return out


def table2_markdown(rows: Sequence[Mapping[str, Any]], split: str) -> str:
    """Measured ablations (sentiment F1, overall, all heads) with the paper's sentiment F1 beside."""
    body = [[r["label"], _pct(r["sentiment_macro_f1"]), _pct(r["overall"]), _pct(r["all_heads"]),
             "n/a" if r["paper_sentiment_f1"] is None else f"{r['paper_sentiment_f1']:.1f}"] for r in rows]
    header = ("Model Variant", "Sentiment (F1)", "Overall", "All heads", "Paper: Sentiment (F1), reference")
    return f"**Table 2 (ablations, measured, split `{split}`)** - scores x100\n\n{_md(header, body)}\n"


def write_tables(runs: Sequence[RunResult], splits: Sequence[str], out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write tables.md and tables.json (every split) into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {}
    parts = []
    for split in splits:
        t1, t2 = table1(runs, split), table2(runs, split)
        data[split] = {"table1": t1, "table2": t2}
        parts.append(f"## Split `{split}`\n\n{table1_markdown(t1, split)}\n{table2_markdown(t2, split)}")
    (out / "tables.json").write_text(json.dumps(data, indent=2))
    (out / "tables.md").write_text("# Results\n\n" + "\n".join(parts))
    return {"markdown": out / "tables.md", "json": out / "tables.json"}
