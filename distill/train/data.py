"""Loaders for training: a resumable, DDP-aware data order and the bridge to the dataset module.

Exact resumes need the data order to be a pure function of (seed, epoch) and the position inside
an epoch to be restorable. :class:`ResumableSampler` is PyTorch's DistributedSampler (one replica
without torchrun) that can skip the batches an interrupted run had already consumed. Each epoch's
DataLoader also gets its own seeded ``generator`` so creating it never draws from the global torch
RNG (otherwise resuming mid-epoch would shift the dropout stream) and worker seeds are
reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, SequentialSampler

from adfusion_edge.distill.data.subset import FirstN
from adfusion_edge.distill.train.config import TrainConfig
from adfusion_edge.errors import ConfigError


class ResumableSampler(DistributedSampler):
    """DistributedSampler semantics (equal, padded shares per rank; order from (seed, epoch)) that
    can start ``skip`` samples into this rank's order.

    When the dataset exposes ``blocks()`` (AdDataset: Parquet row groups) the epoch order is the
    dataset's block shuffle (blocks in random order, rows shuffled inside each block) instead of a
    global permutation: a global permutation would decode a whole row group per sample through
    the dataset's small row-group cache. Ranks take every ``num_replicas``-th index, so they all
    walk the blocks in the same order.
    """

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int, seed: int, skip: int = 0):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed)
        self.skip = skip

    def _order(self) -> list[int]:
        blocks = getattr(self.dataset, "blocks", None)
        if blocks is None:
            return list(super().__iter__())  # torch's own permutation, already sharded and padded
        rng = np.random.default_rng((self.seed, self.epoch))
        order: list[int] = []
        for bi in rng.permutation(len(blocks())):
            block = blocks()[bi]
            order.extend(block[j] for j in rng.permutation(len(block)))
        order = (order * -(-self.total_size // max(1, len(order))))[: self.total_size]  # pad like torch
        return order[self.rank : self.total_size : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self._order()[self.skip :])

    def __len__(self) -> int:
        return max(0, self.num_samples - self.skip)


@dataclass
class TrainData:
    """What the loop needs from the data side.

    Attributes:
        train: Training dataset (items are collated by ``collate_fn`` into the batch contract of
            distill/data/targets.py, as torch tensors).
        val: Validation dataset, or None (then no periodic validation).
        collate_fn: Batch builder; may return None for a batch whose samples were all bad.
        eval_collate_fn: Batch builder for validation that also keeps texts, offsets and ids
            (monetary span metric); None = ``collate_fn``.
        tokenizer: tokenizer.json shipped with every checkpoint (None: nothing shipped).
        vocab_size: Tokenizer vocabulary size (filled into model configs that take one).
    """

    train: Dataset
    val: Dataset | None
    collate_fn: Callable[[list[Any]], dict[str, Any] | None] | None
    eval_collate_fn: Callable[[list[Any]], dict[str, Any] | None] | None = None
    tokenizer: str | None = None
    vocab_size: int | None = None


def steps_per_epoch(n_samples: int, batch_size: int, world_size: int) -> int:
    """Optimizer steps in one epoch (a last partial batch is dropped when a full one exists)."""
    per_rank = -(-n_samples // world_size)  # DistributedSampler pads to equal shares
    if per_rank == 0:
        raise ConfigError("training split is empty")
    return per_rank // batch_size if per_rank >= batch_size else 1


def train_loader(data: TrainData, cfg: TrainConfig, epoch: int, skip_batches: int, rank: int,
                 world_size: int, pin_memory: bool = False) -> DataLoader:
    """Epoch ``epoch``'s loader, starting after ``skip_batches`` batches of this rank's order."""
    sampler = ResumableSampler(data.train, world_size, rank, cfg.seed, skip=skip_batches * cfg.batch_size)
    sampler.set_epoch(epoch)
    if hasattr(data.train, "set_epoch"):
        data.train.set_epoch(epoch)  # per-sample augmentation draws from (seed, epoch, index)
    gen = torch.Generator()
    gen.manual_seed(cfg.seed * 1_000_003 + epoch)
    per_rank = sampler.num_samples
    return DataLoader(
        data.train, batch_size=cfg.batch_size, sampler=sampler, collate_fn=data.collate_fn,
        num_workers=cfg.data.num_workers, generator=gen, drop_last=per_rank >= cfg.batch_size,
        pin_memory=pin_memory, persistent_workers=False,
    )


def eval_loader(dataset: Dataset, cfg: TrainConfig, collate_fn: Callable | None,
                batch_size: int | None = None) -> DataLoader:
    """In-order loader over a whole split (validation / test; no shuffling, no dropping)."""
    gen = torch.Generator()
    gen.manual_seed(cfg.seed)  # never draw worker seeds from the global RNG (exact resumes)
    return DataLoader(dataset, batch_size=batch_size or cfg.batch_size, sampler=SequentialSampler(dataset),
                      collate_fn=collate_fn, num_workers=cfg.data.num_workers, generator=gen)


def _dataset(cfg: TrainConfig, split: str, train: bool) -> Dataset | None:
    from adfusion_edge.distill.data.dataset import AdDataset

    d = cfg.data
    kwargs = dict(cfg=cfg.preprocess, text_source=d.text_source, seed=cfg.seed,
                  ocr_noise_p=d.ocr_noise if train else 0.0)  # validation reads clean text
    if d.corpus:
        from adfusion_edge.distill.data.shards import load_manifest

        if split not in load_manifest(d.corpus)["splits"]:
            if train:
                raise ConfigError(f"data.train_split: split {split!r} not in corpus {d.corpus}")
            return None
        ds = AdDataset.from_corpus(d.corpus, split, **kwargs)
    elif split in d.manifests:
        ds = AdDataset.from_manifest(d.manifests[split], **kwargs)
    elif train:
        raise ConfigError(f"data: neither data.corpus nor data.manifests[{split!r}] is set")
    else:
        return None
    cap = d.max_train_samples if train else d.max_val_samples
    return FirstN(ds, cap) if cap else ds


def build_train_data(cfg: TrainConfig, tokenizer: str | None = None) -> TrainData:
    """Train/val datasets and collates for ``cfg.data`` (distill/data/dataset.py).

    Args:
        cfg: Run config.
        tokenizer: tokenizer.json to use instead of ``cfg.data.tokenizer_path()`` (a pretrained
            text encoder's own vocabulary).

    Raises:
        ConfigError: no data source, missing split or missing tokenizer file.
    """
    from adfusion_edge.distill.data.dataset import AdCollate
    from adfusion_edge.distill.evaluate.evaluator import EvalCollate
    from adfusion_edge.distill.models.text_encoders import vocab_size_of

    tok = tokenizer or cfg.data.tokenizer_path()
    if not tok or not Path(tok).is_file():
        raise ConfigError(f"data.tokenizer: tokenizer file {tok!r} not found; train one with "
                          "`adfusion-edge data tokenizer CORPUS --out CORPUS/tokenizer.json`")
    train = _dataset(cfg, cfg.data.train_split, True)
    val = _dataset(cfg, cfg.data.val_split, False)
    collate = AdCollate(tok, cfg.preprocess)
    return TrainData(train, val, collate, EvalCollate(collate), tok, vocab_size_of(tok))
