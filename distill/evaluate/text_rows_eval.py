"""Score a checkpoint on held-out real ad text (the Pitt test split of ``adfusion-edge data realtext``).

Each text row goes through the model with the blank image of distill/data/text_rows.py, so this
measures what the text side of a model reads from real ad text. Per labelled head: accuracy, and
the majority-label baseline of the same rows, over all rows and per source (``meta.source``: the
annotators' slogans and the OCR text of printed ads, the closest to what the runtime reads). The rows are the real-text **test** set: no
training row comes from it (distill/data/realtext.py splits by the Pitt split).

    python -m adfusion_edge.distill.evaluate.text_rows_eval --checkpoint RUN --rows DIR/pitt_test.jsonl
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from adfusion_edge import schema
from adfusion_edge.distill.data.dataset import AdCollate
from adfusion_edge.distill.data.text_rows import TextRowDataset
from adfusion_edge.distill.evaluate.evaluator import collect
from adfusion_edge.distill.evaluate.json_report import emit

HEADS = ("theme", "sentiment", "cta", "monetary")


def _figures(c: Any, keep: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for head in HEADS:
        m = c.targets[f"m/{head}"].astype(bool) & keep
        if not m.any():
            continue
        y = c.targets[f"y/{head}"][m]
        pred = c.outputs[head][m].argmax(axis=1)
        label, count = Counter(y.tolist()).most_common(1)[0]
        out[head] = {"n": int(m.sum()), "accuracy": float(np.mean(pred == y)), "majority": count / int(m.sum()),
                     "majority_label": schema.head(head).labels[label]}
    return out


def score_text_rows(model: torch.nn.Module, rows: str | os.PathLike, tokenizer: str | os.PathLike,
                    batch_size: int = 128) -> dict[str, Any]:
    """{head: {"n", "accuracy", "majority", "majority_label"}} of ``model`` on the text rows, plus
    ``"by_source"``: {source: the same per head} when the rows come from more than one source."""
    ds = TextRowDataset.from_text_manifests(rows, cfg=model.preprocess)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=False, collate_fn=AdCollate(str(tokenizer), model.preprocess))
    c = collect(model, loader)
    out = _figures(c, np.ones(len(ds), bool))
    sources = np.array([str(ds.record(i).meta.get("source", "")) for i in range(len(ds))])
    if len(set(sources.tolist())) > 1:
        out["by_source"] = {s: _figures(c, sources == s) for s in sorted(set(sources.tolist()))}
    return out


def main(argv: list[str] | None = None) -> int:
    from adfusion_edge.distill.models.checkpoint import TOKENIZER, find_checkpoint, load_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="checkpoint or run directory")
    p.add_argument("--rows", required=True, help="text-only manifest (pitt_test.jsonl)")
    p.add_argument("--out", help="write the figures as JSON here")
    args = p.parse_args(argv)
    ckpt = find_checkpoint(args.checkpoint)
    model = load_model(ckpt)
    result = {"checkpoint": str(ckpt), "rows": str(args.rows), "heads": score_text_rows(model, args.rows, ckpt / TOKENIZER)}
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
