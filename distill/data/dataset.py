"""Torch Dataset / DataLoader over shard corpora and JSONL manifests.

``AdDataset[i]`` returns a :class:`Sample` (the record as the model should see it + its uint8
HxWx3 image) or None for bad input. Images are decoded with the runtime's own
``adfusion_edge.preprocess.prepare_image``: one source of truth, so training and serving cannot
disagree on decoding or resizing (a parity test checks it).

Bad input (corrupt, truncated, missing or non-image file) never stops a run: it is logged once
per path with ``logging.warning`` and counted in ``dataset.skipped`` (path -> times skipped), and
the collate drops it. A batch whose samples were all bad is skipped by :class:`AdLoader`. With
worker processes the skips are sent back with each batch, so ``dataset.skipped`` in the main
process stays complete.

Shards are read one Parquet row group at a time through a memory-mapped file, with a small LRU
cache of decoded row groups: random access never loads the whole corpus's images into RAM.
:class:`BlockShuffleSampler` shuffles row-group order and rows within each group, which keeps the
cache effective while still giving every epoch a new order.

Per-sample randomness (OCR noise) comes from ``numpy.random.default_rng((seed, epoch, index))``:
the same sample gets the same noise whatever the worker count or batch order.
"""

from __future__ import annotations

import logging
import os
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, get_worker_info

from adfusion_edge.distill.data import ocr_noise, shards
from adfusion_edge.distill.data.manifest import read_manifest
from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.distill.data.targets import encode_batch
from adfusion_edge.errors import ConfigError, InvalidImageError
from adfusion_edge.image_io import decode_image
from adfusion_edge.preprocess import PreprocessConfig, prepare_image
from adfusion_edge.tokenizer import AdTokenizer

log = logging.getLogger(__name__)

TEXT_SOURCES = ("gt", "ocr")


class Sample(NamedTuple):
    """One good sample: the record (text/span/labels as used for training) and its image."""

    record: AdRecord
    image: np.ndarray  # uint8 (S, S, 3)


class _ShardSource:
    """Random access to the rows of a corpus split, one memory-mapped row group at a time."""

    def __init__(self, root: str | os.PathLike, split: str, cache_groups: int = 2):
        self.files = [str(p) for p in shards.split_files(root, split)]
        starts, groups = [], []
        total = 0
        for fi, f in enumerate(self.files):
            md = pq.ParquetFile(f, memory_map=True).metadata
            for rg in range(md.num_row_groups):
                n = md.row_group(rg).num_rows
                starts.append(total)
                groups.append((fi, rg, total, n))
                total += n
        self._starts = np.asarray(starts, np.int64)
        self._groups = groups
        self._len = total
        self._cache_groups = max(1, cache_groups)
        self._open: dict[int, pq.ParquetFile] = {}
        self._cache: OrderedDict[int, pa.Table] = OrderedDict()

    def __getstate__(self) -> dict:
        # Open files and cached tables stay in their process; workers reopen lazily.
        return {**self.__dict__, "_open": {}, "_cache": OrderedDict()}

    def __len__(self) -> int:
        return self._len

    def blocks(self) -> list[range]:
        return [range(start, start + n) for _, _, start, n in self._groups]

    def _group(self, g: int) -> pa.Table:
        table = self._cache.get(g)
        if table is None:
            fi, rg, _, _ = self._groups[g]
            if fi not in self._open:
                self._open[fi] = pq.ParquetFile(self.files[fi], memory_map=True)
            table = self._open[fi].read_row_group(rg)
            self._cache[g] = table
            while len(self._cache) > self._cache_groups:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(g)
        return table

    def get(self, idx: int) -> tuple[AdRecord, str]:
        g = int(np.searchsorted(self._starts, idx, side="right")) - 1
        fi, _, start, _ = self._groups[g]
        row = self._group(g).slice(idx - start, 1).to_pylist()[0]
        rec = AdRecord.from_row(row)
        where = rec.image_path if rec.image is None and rec.image_path else f"{self.files[fi]}[row {idx - start}, id {rec.id}]"
        return rec, where


class _ListSource:
    def __init__(self, records: list[AdRecord]):
        self.records = records

    def __len__(self) -> int:
        return len(self.records)

    def blocks(self) -> list[range]:
        return [range(len(self.records))]  # files on disk: any order is equally cheap

    def get(self, idx: int) -> tuple[AdRecord, str]:
        rec = self.records[idx]
        return rec, rec.image_path or f"record {rec.id}"


def _locate(needle: str | None, text: str) -> tuple[int, int] | None:
    if not needle:
        return None
    start = text.find(needle)
    if start < 0 and len(text.lower()) == len(text):  # lower() can change lengths (e.g. "İ")
        start = text.lower().find(needle.lower())
    return None if start < 0 else (start, start + len(needle))


class AdDataset(Dataset):
    """Ads from a shard corpus split or JSONL manifests; use :meth:`from_corpus` / :meth:`from_manifest`.

    Args:
        source: Internal row source (built by the constructors).
        cfg: Preprocessing (image size, token length).
        text_source: ``"gt"``: the record's text; ``"ocr"``: ``meta["ocr_text"]`` (see
            :func:`precompute_ocr`), with the monetary span relocated by finding the mention in
            the OCR text (the monetary head is masked for that ad when it is not found).
        ocr_noise_p: Probability of applying :func:`ocr_noise.augment` to a sample (training).
        ocr_noise_strength: ``strength`` passed to augment.
        seed: Seed of the per-sample noise.
    """

    def __init__(self, source: _ShardSource | _ListSource, cfg: PreprocessConfig | None = None,
                 text_source: str = "gt", ocr_noise_p: float = 0.0, ocr_noise_strength: float = 0.5,
                 seed: int = 0):
        if text_source not in TEXT_SOURCES:
            raise ConfigError(f"text_source must be one of {TEXT_SOURCES}, got {text_source!r}")
        if not 0.0 <= ocr_noise_p <= 1.0 or not 0.0 <= ocr_noise_strength <= 1.0:
            raise ConfigError(f"ocr_noise_p and ocr_noise_strength must be in [0, 1], got {ocr_noise_p}, {ocr_noise_strength}")
        self.source = source
        self.cfg = cfg or PreprocessConfig()
        self.text_source = text_source
        self.ocr_noise_p = float(ocr_noise_p)
        self.ocr_noise_strength = float(ocr_noise_strength)
        self.seed = int(seed)
        self.epoch = 0
        self.skipped: Counter[str] = Counter()

    @classmethod
    def from_corpus(cls, root: str | os.PathLike, split: str, cache_groups: int = 2, **kwargs: Any) -> AdDataset:
        """Dataset over one split of a shard corpus (``DIR/manifest.json``); kwargs as the constructor."""
        return cls(_ShardSource(root, split, cache_groups), **kwargs)

    @classmethod
    def from_manifest(cls, paths: str | os.PathLike | Sequence[str | os.PathLike], **kwargs: Any) -> AdDataset:
        """Dataset over one or more JSONL manifests (read and validated now; images decoded lazily)."""
        paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        return cls(_ListSource([r for p in paths for r in read_manifest(p)]), **kwargs)

    def __len__(self) -> int:
        return len(self.source)

    def blocks(self) -> list[range]:
        """Index ranges that are cheap to read together (row groups; one range for manifests)."""
        return self.source.blocks()

    def set_epoch(self, epoch: int) -> None:
        """Change the per-sample noise draw (call once per epoch; :meth:`AdLoader.set_epoch` does)."""
        self.epoch = int(epoch)

    def record(self, idx: int) -> AdRecord:
        """The stored record at ``idx`` (no image decoding, no text source / noise applied)."""
        return self.source.get(self._check(idx))[0]

    def _check(self, idx: int) -> int:
        idx = int(idx)
        if idx < 0:
            idx += len(self)
        if not 0 <= idx < len(self):
            raise IndexError(f"index {idx} out of range for dataset of {len(self)}")
        return idx

    def _skip(self, where: str, reason: object) -> None:
        if where not in self.skipped:
            log.warning("skipping bad image %s: %s", where, reason)
        self.skipped[where] += 1

    def _text_view(self, rec: AdRecord, idx: int) -> AdRecord:
        text, span, labels = rec.text, rec.monetary_span, rec.labels
        if self.text_source == "ocr":
            ocr = rec.meta.get("ocr_text")
            if not isinstance(ocr, str):
                raise ConfigError(f"record {rec.id!r} has no meta['ocr_text']; run precompute_ocr() "
                                  "on the corpus or use text_source='gt'")
            text, span = ocr, _locate(rec.monetary_text, ocr)
        if self.ocr_noise_p > 0.0:
            rng = np.random.default_rng((self.seed, self.epoch, idx))
            if rng.random() < self.ocr_noise_p:
                text, span = ocr_noise.augment(text, span, rng, self.ocr_noise_strength)
        if rec.monetary_span is not None and span is None and labels.get("monetary") is not None:
            # The mention is no longer found in this text: all-"O" span tags would be a wrong
            # target, so the monetary head is masked for this sample (see targets.py).
            labels = {**labels, "monetary": None}
        if text is rec.text and span == rec.monetary_span:
            return rec
        return replace(rec, text=text, monetary_span=span, labels=labels)

    def __getitem__(self, idx: int) -> Sample | None:
        idx = self._check(idx)
        rec, where = self.source.get(idx)
        src = rec.image if rec.image is not None else rec.image_path
        if src is None:
            self._skip(where, "record has neither image bytes nor image_path")
            return None
        try:
            image = prepare_image(src, self.cfg.image_size)
        except (InvalidImageError, OSError) as e:  # OSError: missing / unreadable file
            self._skip(where, e)
            return None
        return Sample(self._text_view(rec, idx), image)


class AdCollate:
    """Samples -> torch batch with the key names of ``targets.encode_batch``; None if all were bad.

    Tokenizes the whole batch in one call. Picklable for worker processes (the tokenizer is
    rebuilt from its file in each process).

    Args:
        tokenizer: An AdTokenizer or the path of a ``tokenizer.json``.
        cfg: Preprocessing; ``cfg.max_tokens`` is used when ``tokenizer`` is a path.
    """

    def __init__(self, tokenizer: AdTokenizer | str | os.PathLike, cfg: PreprocessConfig):
        self.cfg = cfg
        if isinstance(tokenizer, AdTokenizer):
            self._path, self._max_tokens, self._tok = tokenizer.path, tokenizer.max_tokens, tokenizer
        else:
            self._path, self._max_tokens, self._tok = str(tokenizer), cfg.max_tokens, None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_tok": None}

    @property
    def tokenizer(self) -> AdTokenizer:
        if self._tok is None:
            self._tok = AdTokenizer(self._path, self._max_tokens)
        return self._tok

    def __call__(self, samples: Sequence[Sample | None]) -> dict[str, torch.Tensor] | None:
        good = [s for s in samples if s is not None]
        if not good:
            return None
        batch = encode_batch([s.record for s in good], [s.image for s in good], self.tokenizer, self.cfg)
        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in batch.items()}


class _ReportingCollate:
    """Runs in the worker: returns (batch, skips new in this worker) so the main process can count them."""

    def __init__(self, collate: AdCollate):
        self.collate = collate
        self._seen: Counter[str] = Counter()

    def __call__(self, samples: Sequence[Sample | None]) -> tuple[dict[str, torch.Tensor] | None, dict[str, int]]:
        batch = self.collate(samples)
        info = get_worker_info()
        if info is None:
            return batch, {}  # main process: the dataset counted them itself
        now = info.dataset.skipped
        new = now - self._seen
        self._seen = Counter(now)
        return batch, dict(new)


class BlockShuffleSampler(Sampler[int]):
    """Seeded shuffle of block order and of rows inside each block (see module docstring).

    Args:
        blocks: Index ranges (``AdDataset.blocks()``).
        shuffle: False gives the stored order.
        seed: Base seed; the order of epoch ``e`` is drawn from ``(seed, e)``.
    """

    def __init__(self, blocks: Sequence[range], shuffle: bool = True, seed: int = 0):
        self.blocks, self.shuffle, self.seed, self.epoch = list(blocks), shuffle, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return sum(len(b) for b in self.blocks)

    def __iter__(self) -> Iterator[int]:
        if not self.shuffle:
            for b in self.blocks:
                yield from b
            return
        rng = np.random.default_rng((self.seed, self.epoch))
        for bi in rng.permutation(len(self.blocks)):
            block = self.blocks[bi]
            for j in rng.permutation(len(block)):
                yield block[j]


class AdLoader(DataLoader):
    """DataLoader that merges worker skip reports into ``dataset.skipped`` and drops empty batches.

    Build it with :func:`make_loader`: it expects the ``(batch, skips)`` pairs of its collate.
    """

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:  # type: ignore[override]
        for batch, skipped in super().__iter__():
            self.dataset.skipped.update(skipped)  # type: ignore[attr-defined]
            if batch is not None:
                yield batch

    def set_epoch(self, epoch: int) -> None:
        """New shuffle order and new per-sample noise for ``epoch``."""
        self.sampler.set_epoch(epoch)  # type: ignore[attr-defined]
        self.dataset.set_epoch(epoch)  # type: ignore[attr-defined]


def default_num_workers() -> int:
    """0 on machines with <= 2 usable cores (workers would fight the training loop), else up to 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return 0 if cores <= 2 else min(4, cores - 1)


def make_loader(dataset: AdDataset, tokenizer: AdTokenizer | str | os.PathLike, batch_size: int = 32,
                shuffle: bool = True, seed: int = 0, num_workers: int | None = None,
                drop_last: bool = False) -> AdLoader:
    """Batches of ``dataset`` as torch tensors (keys of ``targets.encode_batch``).

    Args:
        dataset: The AdDataset.
        tokenizer: AdTokenizer or tokenizer.json path.
        batch_size: Samples per batch before bad ones are dropped.
        shuffle: Seeded block shuffle (:class:`BlockShuffleSampler`); False keeps stored order.
        seed: Shuffle seed.
        num_workers: Worker processes; None -> :func:`default_num_workers`.
        drop_last: Drop the last incomplete batch.

    Returns:
        An :class:`AdLoader`; call ``set_epoch(e)`` before each epoch for a new order.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    workers = default_num_workers() if num_workers is None else int(num_workers)
    return AdLoader(
        dataset, batch_size=batch_size, sampler=BlockShuffleSampler(dataset.blocks(), shuffle, seed),
        collate_fn=_ReportingCollate(AdCollate(tokenizer, dataset.cfg)), num_workers=workers,
        drop_last=drop_last,
    )


def precompute_ocr(corpus: str | os.PathLike, split: str, ocr_fn: Callable[[np.ndarray], str]) -> int:
    """Run OCR once over a corpus split and store the text as ``meta["ocr_text"]`` in its shards.

    Each shard is rewritten atomically (``shards.write_shard``), so an interrupted run leaves
    whole shards; rows that already have ``ocr_text`` are not run again. Images that cannot be
    decoded are logged and left without OCR text (the Dataset skips them anyway).

    Args:
        corpus: Corpus directory.
        split: Split name.
        ocr_fn: Full-resolution RGB uint8 HxWx3 image -> text in reading order (e.g. the SDK's
            RapidOCR wrapper).

    Returns:
        Number of rows that got OCR text in this call.
    """
    done = 0
    for path in shards.split_files(corpus, split):
        records = list(shards.iter_shard(path))
        changed = False
        for rec in records:
            if isinstance(rec.meta.get("ocr_text"), str):
                continue
            try:
                img = np.asarray(decode_image(rec.image if rec.image is not None else rec.image_path))
            except (InvalidImageError, OSError, TypeError) as e:
                log.warning("precompute_ocr: skipping %s[id %s]: %s", path, rec.id, e)
                continue
            rec.meta["ocr_text"] = str(ocr_fn(img))
            changed, done = True, done + 1
        if changed:
            shards.write_shard(Path(path), records)
    return done
