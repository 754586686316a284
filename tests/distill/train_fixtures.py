"""Helpers for the training/evaluation tests: a real, tiny shard corpus and tiny run configs.

The corpus goes through the real formats: PNG images drawn with PIL, validated AdRecords,
Parquet shards + manifest.json (shards.py) and a WordPiece tokenizer.json trained on its text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from model_fixtures import ADS, TINY, make_image

from adfusion_edge import schema
from adfusion_edge.distill.data import shards
from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.distill.data.tokenizer_train import train_wordpiece
from adfusion_edge.distill.train.config import TrainConfig


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models on a shared 2-core machine: extra intra-op threads only oversubscribe."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def make_record(i: int, split: str, rng: np.random.Generator) -> AdRecord:
    text, monetary, mention = ADS[i % len(ADS)]
    k = i % len(ADS)
    labels: dict[str, Any] = {}
    for h in schema.HEADS:
        if h.kind == "multi":
            labels[h.name] = [h.labels[k], h.labels[(k + 3) % h.num_labels]]
        else:
            labels[h.name] = h.labels[k % h.num_labels]  # learnable from the text
    labels["monetary"] = monetary
    if i % 7 == 3:
        labels["emotion"] = None  # some unknown labels: the masks matter
    span = None if mention is None else (text.index(mention), text.index(mention) + len(mention))
    return AdRecord(f"{split}-{i:04d}", make_image(rng), text, labels, monetary_span=span,
                    ctr_value=float((k + 0.5) / len(ADS)))


def make_corpus(root: Path, sizes: dict[str, int] | None = None) -> Path:
    """Write a corpus with the given split sizes (default train 24, val 8, test 8)."""
    sizes = sizes or {"train": 24, "val": 8, "test": 8}
    rng = np.random.default_rng(0)
    splits = {}
    for split, n in sizes.items():
        path = shards.shard_path(root, split, 0)
        count = shards.write_shard(path, [make_record(i, split, rng) for i in range(n)])
        splits[split] = [{"file": f"{split}/{path.name}", "count": count}]
    shards.write_manifest(root, splits, {"generator": "tests"})
    train_wordpiece([t for t, _, _ in ADS] * 3, root / "tokenizer.json", vocab_size=250, min_frequency=1)
    return root


def tiny_config(corpus: Path, out: Path, model: str = "adfusionnet", **top: Any) -> TrainConfig:
    """A seconds-long run of a tiny registered model on ``corpus`` (dropout on: RNG matters)."""
    config = dict(TINY[model])
    for key in ("dropout", "text_dropout"):
        if key in config:
            config[key] = 0.1
    data = {"corpus": str(corpus), **top.pop("data", {})}
    return TrainConfig.from_dict({
        "name": "tiny", "model": {"name": model, "config": config},
        "preprocess": {"image_size": 32, "max_tokens": 16}, "data": data,
        "optim": {"lr": 2e-3, "warmup_steps": 2, **top.pop("optim", {})},
        "batch_size": 8, "max_steps": 6, "eval_every": 3, "checkpoint_every": 2, "log_every": 1,
        "device": "cpu", "out_dir": str(out), **top,
    })
