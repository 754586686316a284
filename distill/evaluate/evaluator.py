"""Run a model over a split: collect outputs and targets, compute metrics, write predictions.

The collector keeps, per sample, every non-aux model output plus the batch contract's targets
(``y/*``, ``m/*``). For the monetary-span metric it also needs the ad texts and the tokenizer's
character offsets: taken from the batch when the dataset provides them (keys ``text``,
``offsets``, ``special``), else re-tokenized from the texts with the checkpoint's tokenizer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from adfusion_edge import io_contract, schema
from adfusion_edge.distill.evaluate.metrics import classification_metrics, compute_metrics, span_texts
from adfusion_edge.preprocess import PreprocessConfig

TEXT_KEYS, OFFSET_KEYS, SPECIAL_KEYS, ID_KEYS = ("text", "texts"), ("offsets",), ("special",), ("id", "ids")


@dataclass
class Collected:
    """Outputs and targets of a whole split, as numpy (first axis = sample)."""

    outputs: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    texts: list[str] | None = None
    offsets: np.ndarray | None = None
    special: np.ndarray | None = None
    ids: list[str] = field(default_factory=list)


class EvalCollate:
    """Wraps the dataset's collate (AdCollate): adds ``text``, ``id``, ``offsets`` and ``special``.

    The training batch contract has no texts or character offsets, but the monetary span metric
    must cut the predicted span out of the text the model saw (after OCR / noise), so evaluation
    batches carry them; offsets come from the same tokenizer the collate uses.
    """

    def __init__(self, collate: Any):
        self.collate = collate

    def __call__(self, samples: list[Any]) -> dict[str, Any] | None:
        batch = self.collate(samples)
        if batch is None:
            return None
        records = [s.record for s in samples if s is not None]
        texts = [r.text for r in records]
        tb = self.collate.tokenizer.encode(texts)
        batch.update(text=texts, id=[r.id for r in records], offsets=tb.offsets, special=tb.special)
        return batch


def _first(batch: Mapping[str, Any], keys: Iterable[str]) -> Any:
    return next((batch[k] for k in keys if k in batch), None)


def _np(x: Any) -> np.ndarray:
    return x.detach().float().cpu().numpy() if torch.is_tensor(x) and x.is_floating_point() else (
        x.detach().cpu().numpy() if torch.is_tensor(x) else np.asarray(x))


@torch.no_grad()
def collect(model: nn.Module, loader: Iterable[Mapping[str, Any]], device: str | torch.device = "cpu",
            amp_dtype: torch.dtype | None = None, tokenizer: Any = None, keep_aux: Iterable[str] = ()) -> Collected:
    """Forward every batch of ``loader`` through ``model`` (eval mode) and gather results.

    Args:
        model: An AdModel (not DDP-wrapped: evaluation runs on one process).
        loader: Batches following the targets.py contract (torch tensors or numpy arrays).
        device: Where to run.
        amp_dtype: Autocast dtype on CUDA, or None.
        tokenizer: AdTokenizer used to re-tokenize texts when batches lack offsets (optional).
        keep_aux: Training-only ``aux/...`` outputs to gather as well (the others are dropped).
    """
    device = torch.device(device)
    keep = set(keep_aux)
    was_training = model.training
    model.eval()
    outs: dict[str, list[np.ndarray]] = {}
    tgts: dict[str, list[np.ndarray]] = {}
    texts: list[str] = []
    offs: list[np.ndarray] = []
    specials: list[np.ndarray] = []
    ids: list[str] = []
    have_text = have_offsets = True
    try:
        for batch in loader:
            if batch is None:  # every sample of the batch was a bad image (dataset skipped them)
                continue
            inputs = [torch.as_tensor(batch[k]).to(device) for k in io_contract.INPUT_NAMES]
            with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                out = model(*inputs)
            for k, v in out.items():
                if not k.startswith("aux/") or k in keep:
                    outs.setdefault(k, []).append(_np(v))
            for k, v in batch.items():
                if k.startswith(("y/", "m/")):
                    tgts.setdefault(k, []).append(_np(v))
            t, o, s = _first(batch, TEXT_KEYS), _first(batch, OFFSET_KEYS), _first(batch, SPECIAL_KEYS)
            have_text &= t is not None
            have_offsets &= o is not None and s is not None
            if t is not None:
                texts.extend(str(x) for x in t)
            if o is not None and s is not None:
                offs.append(_np(o))
                specials.append(_np(s).astype(bool))
            bid = _first(batch, ID_KEYS)
            if bid is not None:
                ids.extend(str(x) for x in bid)
    finally:
        model.train(was_training)
    result = Collected({k: np.concatenate(v) for k, v in outs.items()},
                       {k: np.concatenate(v) for k, v in tgts.items()}, ids=ids)
    if have_text and texts:
        result.texts = texts
        if have_offsets and offs:
            result.offsets, result.special = np.concatenate(offs), np.concatenate(specials)
        elif tokenizer is not None:
            tb = tokenizer.encode(texts)
            result.offsets, result.special = tb.offsets, tb.special
    return result


def metrics_of(c: Collected) -> dict[str, Any]:
    """compute_metrics over a Collected split (+ the sample count)."""
    m = compute_metrics(c.outputs, c.targets, c.texts, c.offsets, c.special)
    m["n_samples"] = int(next(iter(c.outputs.values())).shape[0]) if c.outputs else 0
    return m


def evaluate_model(model: nn.Module, loader: Iterable[Mapping[str, Any]], device: str | torch.device = "cpu",
                   amp_dtype: torch.dtype | None = None, tokenizer: Any = None) -> dict[str, Any]:
    """Metrics of ``model`` on the batches of ``loader`` (see metrics.compute_metrics)."""
    return metrics_of(collect(model, loader, device, amp_dtype, tokenizer))


def prediction_records(c: Collected) -> list[dict[str, Any]]:
    """One JSON-able prediction per sample: label(s) per head, CTR value, monetary span text."""
    n = next(iter(c.outputs.values())).shape[0] if c.outputs else 0
    preds: dict[str, list[Any]] = {}
    for h in schema.HEADS:
        logits = c.outputs[h.name]
        if h.kind == "multi":
            on = logits > 0.0  # sigmoid(x) >= 0.5
            preds[h.name] = [[h.labels[j] for j in np.flatnonzero(row)] for row in on]
        else:
            preds[h.name] = [h.labels[j] for j in logits.argmax(-1)]
    if schema.VALUE_OUTPUT in c.outputs:
        preds[schema.VALUE_OUTPUT] = (1.0 / (1.0 + np.exp(-c.outputs[schema.VALUE_OUTPUT]))).tolist()
    if c.texts is not None and c.offsets is not None and schema.SPAN_OUTPUT in c.outputs:
        x = c.outputs[schema.SPAN_OUTPUT].astype(np.float64)
        probs = np.exp(x - x.max(-1, keepdims=True))
        preds["monetary_text"] = span_texts(c.texts, c.offsets, c.special, probs / probs.sum(-1, keepdims=True))
    records = []
    for i in range(n):
        rec: dict[str, Any] = {"id": c.ids[i] if i < len(c.ids) else i}
        rec.update({k: v[i] for k, v in preds.items()})
        records.append(rec)
    return records


def write_results(out_dir: str | os.PathLike, name: str, metrics: Mapping[str, Any],
                  collected: Collected | None = None) -> Path:
    """Write ``<name>.metrics.json`` (+ ``<name>.predictions.jsonl``) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.metrics.json"
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True))
    if collected is not None:
        with open(out / f"{name}.predictions.jsonl", "w") as f:
            for rec in prediction_records(collected):
                f.write(json.dumps(rec) + "\n")
    return path


def run_info(checkpoint: str | os.PathLike) -> dict[str, Any]:
    """Name, model, tags, loss weights and model config of the run a checkpoint belongs to.

    Reads the run's config.json (the checkpoint's directory or its parent) when present, else only
    the checkpoint's model.json.
    """
    from adfusion_edge.distill.models.checkpoint import find_checkpoint, read_model_json

    ckpt = find_checkpoint(checkpoint)
    ident = read_model_json(ckpt)
    info: dict[str, Any] = {"name": ident["name"], "model": ident["name"], "tags": {}, "loss": {},
                            "model_config": ident["config"], "checkpoint": str(ckpt)}
    for cfg_path in (ckpt / "config.json", ckpt.parent / "config.json"):
        if cfg_path.is_file():
            cfg = json.loads(cfg_path.read_text())
            info.update(name=cfg.get("name", info["name"]), tags=cfg.get("tags", {}), loss=cfg.get("loss", {}))
            break
    return info


def split_loader(corpus: str | os.PathLike, split: str, tokenizer: str | os.PathLike, pre: PreprocessConfig,
                 batch_size: int = 64, max_samples: int | None = None, text_source: str = "gt",
                 num_workers: int = 0) -> Any:
    """The evaluation loader for one split (EvalCollate adds texts and offsets for spans)."""
    from torch.utils.data import DataLoader

    from adfusion_edge.distill.data.dataset import AdCollate, AdDataset
    from adfusion_edge.distill.data.subset import FirstN

    ds = AdDataset.from_corpus(corpus, split, cfg=pre, text_source=text_source)
    if max_samples:
        ds = FirstN(ds, max_samples)
    return DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                      collate_fn=EvalCollate(AdCollate(str(tokenizer), pre)))


def text_rows_loader(rows: str | os.PathLike, tokenizer: str | os.PathLike, pre: PreprocessConfig,
                     batch_size: int = 64) -> Any:
    """The evaluation loader for a text-only manifest (real text rows, blank picture; EvalCollate adds texts)."""
    from torch.utils.data import DataLoader

    from adfusion_edge.distill.data.dataset import AdCollate
    from adfusion_edge.distill.data.text_rows import TextRowDataset

    ds = TextRowDataset.from_text_manifests(rows, cfg=pre)
    return DataLoader(ds, batch_size=batch_size, shuffle=False, collate_fn=EvalCollate(AdCollate(str(tokenizer), pre)))


def labelled(c: Collected, head: str) -> tuple[np.ndarray, np.ndarray]:
    """(logits float64, labels int64) of the samples that label ``head``."""
    m = c.targets[f"m/{head}"].astype(bool)
    return c.outputs[head][m].astype(np.float64), c.targets[f"y/{head}"][m].astype(np.int64)


def head_figures(c: Collected, head: str) -> dict[str, Any]:
    """Accuracy, macro-F1 and the share of each answer of single-label ``head`` over its labelled samples."""
    z, y = labelled(c, head)
    pred = z.argmax(1)
    labels = schema.head(head).labels
    m = classification_metrics(pred, y, len(labels))
    return {"rows": int(len(y)), "accuracy": round(float((pred == y).mean()), 4),
            "macro_f1": round(float(m["macro_f1"]), 4),
            "answered": {lab: round(float((pred == k).mean()), 4) for k, lab in enumerate(labels)},
            "labelled": {lab: round(float((y == k).mean()), 4) for k, lab in enumerate(labels)}}


def others_identical(a: Collected, b: Collected, head: str) -> list[str]:
    """The outputs other than ``head`` (and the aux outputs) that differ between ``a`` and ``b``: what a
    step that may move only ``head`` must leave empty."""
    keys = sorted(k for k in set(a.outputs) | set(b.outputs) if k != head and not k.startswith("aux/"))
    return [k for k in keys if k not in a.outputs or k not in b.outputs
            or not np.array_equal(a.outputs[k], b.outputs[k])]


def evaluate_checkpoint(checkpoint: str | os.PathLike, corpus: str | os.PathLike, split: str,
                        out_dir: str | os.PathLike | None = None, batch_size: int = 64,
                        device: str = "auto", text_source: str = "gt", max_samples: int | None = None,
                        num_workers: int = 0) -> dict[str, Any]:
    """Evaluate a checkpoint on one split of a shard corpus.

    Args:
        checkpoint: Checkpoint directory or run directory (best/ preferred).
        corpus: Shard corpus directory.
        split: Split name (e.g. "test", "shift").
        out_dir: Where to write ``<split>.metrics.json`` and ``<split>.predictions.jsonl``.
        batch_size: Evaluation batch size.
        device: "auto", "cpu" or "cuda".
        text_source: "gt" or "ocr" (see AdDataset).
        max_samples: Evaluate only the first N samples (quick checks).
        num_workers: DataLoader workers.

    Returns:
        The metrics (compute_metrics + n_samples + checkpoint/split info).
    """
    from adfusion_edge.distill.models.checkpoint import TOKENIZER, find_checkpoint, load_model

    ckpt = find_checkpoint(checkpoint)
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                       ("cpu" if device == "auto" else device))
    model = load_model(ckpt, dev)
    tok = ckpt / TOKENIZER
    if not tok.is_file():
        tok = Path(corpus) / TOKENIZER  # older checkpoints without a shipped tokenizer
    loader = split_loader(corpus, split, tok, model.preprocess, batch_size, max_samples, text_source, num_workers)
    amp = torch.bfloat16 if dev.type == "cuda" and torch.cuda.is_bf16_supported() else None
    collected = collect(model, loader, dev, amp)
    metrics = metrics_of(collected)
    # The evaluation setting goes with the numbers (and lets the suite reuse them, see cli.py).
    metrics.update(checkpoint=str(ckpt), split=split, corpus=str(corpus), max_samples=max_samples,
                   text_source=text_source)
    if out_dir is not None:
        write_results(out_dir, split, metrics, collected)
    return metrics
