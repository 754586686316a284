"""Test / shift scores of the compared models: read from an evaluation directory, or computed.

An ``adfusion-edge evaluate --out DIR`` directory holds ``DIR/<run>/<split>.metrics.json``, each
recording the ``checkpoint`` it evaluated. A compared checkpoint is matched to those files by its
resolved checkpoint directory (run names are not unique: every student run may be "student").
When no file matches (or ``reevaluate``), the model is evaluated here with the evaluate
package's own pieces (EvalCollate, collect, metrics_of, write_results) and the result is written
into the same directory layout, so the next report finds it.

Bundles (exported ONNX, FP32 or INT8) are evaluated the same way through ONNX Runtime: a bundle
outputs probabilities, which :class:`OrtAsModel` turns back into logit-equivalents (log p for
softmax outputs, logit p for sigmoids) so compute_metrics sees what it expects.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from adfusion_edge import io_contract, schema
from adfusion_edge.distill.evaluate.metrics import main_metric
from adfusion_edge.preprocess import PreprocessConfig

_EPS = 1e-30  # keeps log() finite for probabilities that underflowed to 0 in float32


def head_scores(metrics: dict[str, Any]) -> dict[str, float | None]:
    """The one main metric per head (accuracy, or micro-F1 for multi-label heads; all_heads' terms)."""
    heads = metrics.get("heads", {})
    return {h.name: heads.get(h.name, {}).get(main_metric(h.name)) for h in schema.HEADS}


def _same(a: str | os.PathLike | None, b: str | os.PathLike) -> bool:
    return a is not None and Path(a).resolve() == Path(b).resolve()


def find_metrics(eval_dir: str | os.PathLike, source: str | os.PathLike, split: str) -> Path | None:
    """The ``<run>/<split>.metrics.json`` under ``eval_dir`` that evaluated ``source`` (or None).

    Args:
        eval_dir: Evaluation directory (``adfusion-edge evaluate --out``).
        source: Resolved checkpoint directory or bundle directory.
        split: Split name.
    """
    root = Path(eval_dir)
    if not root.is_dir():
        return None
    for f in sorted(root.glob(f"*/{split}.metrics.json")):
        try:
            m = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if _same(m.get("checkpoint"), source) or _same(m.get("bundle"), source):
            return f
    return None


def result_dir(eval_dir: str | os.PathLike, name: str, source: str | os.PathLike) -> Path:
    """A ``<eval_dir>/<name>`` folder for new results that does not clobber another model's."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "model"
    while True:
        d = Path(eval_dir) / slug
        owners = []
        for f in d.glob("*.metrics.json"):
            m = json.loads(f.read_text())
            owners.append(m.get("checkpoint") or m.get("bundle"))
        if all(_same(o, source) for o in owners):
            return d
        slug += "_"


class OrtAsModel(nn.Module):
    """An ONNX bundle behind the AdModel call signature, for evaluator.collect.

    Args:
        onnx_file: The bundle's model file (outputs named schema.output_names(), probabilities).
        threads: ORT intra-op threads.
    """

    def __init__(self, onnx_file: str | os.PathLike, threads: int = 2):
        super().__init__()
        from adfusion_edge.export.onnx_tools import ort_cpu_session

        self.session = ort_cpu_session(onnx_file, threads, spin=False)
        self.names = [o.name for o in self.session.get_outputs()]
        self._multi = {h.name for h in schema.HEADS if h.kind == "multi"} | {schema.VALUE_OUTPUT}

    def forward(self, image: torch.Tensor, input_ids: torch.Tensor,
                attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        feed = {n: t.numpy() for n, t in zip(io_contract.INPUT_NAMES, (image, input_ids, attention_mask), strict=True)}
        out = {}
        for name, p in zip(self.names, self.session.run(self.names, feed), strict=True):
            p = np.clip(p.astype(np.float64), _EPS, 1.0)
            # softmax(log p) == p and sigmoid(logit p) == p: metrics recover the bundle's probabilities.
            x = np.log(p) - np.log(np.clip(1.0 - p, _EPS, None)) if name in self._multi else np.log(p)
            out[name] = torch.from_numpy(x.astype(np.float32))
        return out


def _progress(loader: Any, desc: str, enabled: bool) -> Iterator[Any]:
    if not enabled:
        return iter(loader)
    from tqdm import tqdm

    return iter(tqdm(loader, desc=desc, unit="batch", dynamic_ncols=True, leave=False))


def evaluate_source(model: nn.Module, tokenizer: str | os.PathLike, pre: PreprocessConfig, corpus: str | os.PathLike,
                    split: str, out_dir: str | os.PathLike, source: dict[str, str], batch_size: int = 64,
                    max_samples: int | None = None, text_source: str = "gt", progress: bool = True) -> Path:
    """Evaluate ``model`` on a split and write ``<out_dir>/<split>.metrics.json`` (+ predictions).

    Args:
        model: An AdModel, or an :class:`OrtAsModel`.
        tokenizer: tokenizer.json the model was trained with.
        pre: The model's preprocessing.
        corpus: Shard corpus directory.
        split: Split name.
        out_dir: Result folder (see :func:`result_dir`).
        source: ``{"checkpoint": dir}`` or ``{"bundle": dir}``: recorded so find_metrics matches it.
        batch_size, max_samples, text_source: As ``adfusion-edge evaluate``.
        progress: Show a per-batch progress bar.

    Returns:
        The metrics file written.
    """
    from adfusion_edge.distill.evaluate.evaluator import collect, metrics_of, split_loader, write_results

    loader = split_loader(corpus, split, tokenizer, pre, batch_size, max_samples, text_source)
    collected = collect(model, _progress(loader, f"evaluate {Path(out_dir).name}/{split}", progress), "cpu")
    metrics = metrics_of(collected)
    metrics.update(source, split=split, corpus=str(corpus), text_source=text_source, max_samples=max_samples)
    return write_results(out_dir, split, metrics, collected)
