"""Teacher outputs computed once and stored beside the corpus (a "reinforced dataset", MobileCLIP).

Distilling on a CPU cannot afford a teacher forward per sample per epoch, so the teacher runs once
over a split and its outputs are written, keyed by ad id::

    CORPUS/teacher_outputs/<teacher hash[:16]>/<split>.safetensors   float16 tensors, one row per ad:
        every schema head (logits), monetary_span (B, L, 3), ctr_value (B,), aux/fused (B, D)
        [+ aux/attention_map (B, h, w) when the teacher outputs it]
    CORPUS/teacher_outputs/<teacher hash[:16]>/<split>.json          written last (= complete):
        format version, teacher hash + identity, corpus manifest hash, tokenizer hash, text
        source, preprocessing, split, ids in row order

A cache is only valid for the exact teacher (sha256 of its weights and identity), corpus (sha256
of manifest.json), tokenizer and text source: :func:`load_teacher_cache` refuses anything else.
Reading memory-maps the tensors, so a million-ad cache costs no RAM until rows are touched.
Teacher outputs are computed on the clean text (no OCR-noise augmentation): with ``ocr_noise`` > 0
the student sees noisy text against clean-text targets; use the live teacher for that setting.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from adfusion_edge import io_contract
from adfusion_edge.distill.data import shards
from adfusion_edge.distill.kd.losses import ATTENTION_MAP, TEACHER_KEYS
from adfusion_edge.errors import CheckpointError
from adfusion_edge.fileops import sha256_file

CACHE_DIRNAME = "teacher_outputs"
FORMAT_VERSION = 1
_NP_DTYPES = {"F16": np.float16, "F32": np.float32}


class TeacherCacheError(CheckpointError):
    """A teacher cache that is missing, incomplete, or made for another teacher / corpus / tokenizer."""




def teacher_hash(model: nn.Module) -> str:
    """sha256 of a model's identity (name, config, preprocess) and every tensor of its state dict."""
    h = hashlib.sha256()
    ident = model.describe() if hasattr(model, "describe") else {"class": type(model).__name__}
    h.update(json.dumps(ident, sort_keys=True, default=str).encode())
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        # uint8 view: hashes the raw bytes of any dtype (bfloat16 has no numpy equivalent).
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def manifest_hash(corpus: str | os.PathLike) -> str:
    """sha256 of the corpus's manifest.json (changes whenever shards are added or regenerated)."""
    path = Path(corpus) / shards.MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"no {shards.MANIFEST} in {corpus}: not a shard corpus directory")
    return sha256_file(path)


def cache_paths(corpus: str | os.PathLike, t_hash: str, split: str, root: str | os.PathLike | None = None
                ) -> tuple[Path, Path]:
    """(tensor file, metadata file) of a split's cache for the teacher with hash ``t_hash``."""
    d = Path(root) if root is not None else Path(corpus) / CACHE_DIRNAME
    d = d / t_hash[:16]
    return d / f"{split}.safetensors", d / f"{split}.json"


def _expected_meta(teacher_h: str, corpus: str | os.PathLike, split: str, tokenizer: str | os.PathLike,
                   text_source: str) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, "teacher_hash": teacher_h, "manifest_hash": manifest_hash(corpus),
            "tokenizer_hash": sha256_file(tokenizer), "text_source": text_source, "split": split}


class TeacherOutputs:
    """Read side of a cache: ``lookup(ids)`` -> float32 arrays of the teacher's outputs for those ads.

    Tensors are memory-mapped; the object pickles as its paths (DataLoader workers reopen it).

    Attributes:
        meta: The metadata JSON (hashes, identity, ids, ...).
        keys: Output names stored.
    """

    def __init__(self, tensor_file: str | os.PathLike, meta: Mapping[str, Any]):
        self.tensor_file = str(tensor_file)
        self.meta = dict(meta)
        self._row = {ad_id: i for i, ad_id in enumerate(self.meta["ids"])}
        if len(self._row) != len(self.meta["ids"]):
            raise TeacherCacheError(f"{tensor_file}: duplicate ad ids in the cache")
        self._arrays: dict[str, np.ndarray] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_arrays": None}

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = _mmap_safetensors(self.tensor_file)
        return self._arrays

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.arrays)

    def __len__(self) -> int:
        return len(self._row)

    def feature_dim(self, key: str = "aux/fused") -> int:
        """Width of a stored per-ad vector (the hint projection's output width)."""
        return int(self.arrays[key].shape[-1])

    def lookup(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Teacher outputs of ``ids`` (row order = ids order), as float32.

        Raises:
            TeacherCacheError: an id the cache does not hold (the corpus changed, or the ad was
                skipped as a bad image when the cache was built).
        """
        try:
            rows = np.fromiter((self._row[i] for i in ids), np.int64, len(ids))
        except KeyError as e:
            raise TeacherCacheError(f"{self.tensor_file}: no teacher outputs for ad id {e.args[0]!r}") from None
        order = np.argsort(rows)  # sorted reads are sequential in the memory map
        out = {}
        for k, a in self.arrays.items():
            vals = np.empty((len(ids),) + a.shape[1:], np.float32)
            vals[order] = a[rows[order]]
            out[k] = vals
        return out


def _mmap_safetensors(path: str) -> dict[str, np.ndarray]:
    """Memory-map every tensor of a safetensors file (format: u64 header size, JSON header, data)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _NP_DTYPES.get(info["dtype"])
        if dtype is None:
            raise TeacherCacheError(f"{path}: unsupported dtype {info['dtype']} for {name}")
        begin, _end = info["data_offsets"]
        shape = tuple(info["shape"])
        out[name] = np.memmap(path, dtype=dtype, mode="r", offset=8 + n + begin, shape=shape) if all(shape) else (
            np.zeros(shape, dtype))
    return out


def load_teacher_cache(corpus: str | os.PathLike, teacher: nn.Module | str, split: str,
                       tokenizer: str | os.PathLike, text_source: str = "gt",
                       root: str | os.PathLike | None = None) -> TeacherOutputs:
    """Open a split's cache and check it belongs to this teacher, corpus, tokenizer and text source.

    Args:
        corpus: Shard corpus directory.
        teacher: The teacher model, or its :func:`teacher_hash`.
        split: Split name.
        tokenizer: tokenizer.json the student trains with.
        text_source: "gt" or "ocr" (as AdDataset).
        root: Cache root (default ``CORPUS/teacher_outputs``).

    Raises:
        TeacherCacheError: missing/incomplete cache, or any hash that does not match.
    """
    t_hash = teacher if isinstance(teacher, str) else teacher_hash(teacher)
    tensor_file, meta_file = cache_paths(corpus, t_hash, split, root)
    if not meta_file.is_file() or not tensor_file.is_file():
        raise TeacherCacheError(f"no teacher cache for split {split!r} at {meta_file.parent} (build it with "
                                "build_teacher_cache or `adfusion-edge distill`)")
    meta = json.loads(meta_file.read_text())
    expected = _expected_meta(t_hash, corpus, split, tokenizer, text_source)
    for key, want in expected.items():
        if meta.get(key) != want:
            raise TeacherCacheError(f"{meta_file}: {key} is {meta.get(key)!r}, expected {want!r}: the cache was "
                                    "made for another teacher, corpus, tokenizer or text source; rebuild it")
    if meta.get("tensor_sha256") != sha256_file(tensor_file):
        raise TeacherCacheError(f"{tensor_file}: contents do not match the sha256 in {meta_file.name}")
    return TeacherOutputs(tensor_file, meta)


@torch.no_grad()
def build_teacher_cache(teacher: nn.Module, corpus: str | os.PathLike, split: str, tokenizer: str | os.PathLike,
                        text_source: str = "gt", batch_size: int = 64, device: str | torch.device = "cpu",
                        root: str | os.PathLike | None = None, progress: bool = True,
                        num_workers: int = 0, limit: int | None = None) -> TeacherOutputs:
    """Run ``teacher`` once over ``split`` and store its outputs (see module docstring).

    The teacher reads the split at its own preprocessing (``teacher.preprocess``); ads whose image
    cannot be decoded are skipped by the dataset and get no row. ``limit`` covers only the first
    ``limit`` ads (what a run with ``data.max_train_samples`` reads).

    Returns:
        The written cache, opened (and verified) for reading.
    """
    from safetensors.numpy import save_file
    from tqdm import tqdm

    from adfusion_edge.distill.data.dataset import AdCollate, AdDataset
    from adfusion_edge.tokenizer import AdTokenizer

    t_hash = teacher_hash(teacher)
    tensor_file, meta_file = cache_paths(corpus, t_hash, split, root)
    ds: torch.utils.data.Dataset = AdDataset.from_corpus(corpus, split, cfg=teacher.preprocess,
                                                         text_source=text_source)
    if limit is not None and limit < len(ds):
        ds = torch.utils.data.Subset(ds, range(limit))
    collate = IdCollate(AdCollate(AdTokenizer(tokenizer, teacher.preprocess.max_tokens), teacher.preprocess))
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False, collate_fn=collate,
                                         num_workers=num_workers)
    device = torch.device(device)
    was_training = teacher.training
    teacher.to(device).eval()
    chunks: dict[str, list[np.ndarray]] = {}
    ids: list[str] = []
    try:
        for batch in tqdm(loader, desc=f"teacher outputs [{split}]", unit="batch", disable=not progress):
            if batch is None:
                continue
            out = teacher(*(batch[k].to(device) for k in io_contract.INPUT_NAMES))
            for k in TEACHER_KEYS + (ATTENTION_MAP,):
                if k in out:
                    chunks.setdefault(k, []).append(out[k].float().cpu().numpy().astype(np.float16))
            ids.extend(batch["id"])
    finally:
        teacher.train(was_training)
    missing = [k for k in TEACHER_KEYS if k not in chunks] if ids else []
    if missing:
        raise TeacherCacheError(f"teacher outputs lack {missing}: not an AdModel following distill/models/base.py")
    tensors = {k: np.ascontiguousarray(np.concatenate(v)) for k, v in chunks.items()}
    tensor_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = tensor_file.with_name(tensor_file.name + f".tmp{os.getpid()}")
    save_file(tensors, str(tmp))
    os.replace(tmp, tensor_file)
    meta = {**_expected_meta(t_hash, corpus, split, tokenizer, text_source),
            "teacher": teacher.describe() if hasattr(teacher, "describe") else None,
            "count": len(ids), "limit": limit, "keys": sorted(tensors), "tensor_sha256": sha256_file(tensor_file), "ids": ids}
    # Metadata last: its presence means the tensor file is complete.
    tmp = meta_file.with_name(meta_file.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(meta))
    os.replace(tmp, meta_file)
    return load_teacher_cache(corpus, t_hash, split, tokenizer, text_source, root)


def ensure_teacher_cache(teacher: nn.Module, corpus: str | os.PathLike, split: str, tokenizer: str | os.PathLike,
                         text_source: str = "gt", root: str | os.PathLike | None = None, limit: int | None = None,
                         **build_kwargs: Any) -> TeacherOutputs:
    """Open the split's cache for this teacher, building it first when there is none.

    A cache that exists but does not match (corpus regenerated, other tokenizer) is refused, not
    silently rebuilt: delete it to rebuild. One that covers fewer ads than ``limit`` asks for (an
    earlier quick run) is extended by rebuilding.
    """
    t_hash = teacher_hash(teacher)
    _, meta_file = cache_paths(corpus, t_hash, split, root)
    if meta_file.is_file():
        cache = load_teacher_cache(corpus, t_hash, split, tokenizer, text_source, root)
        have = cache.meta.get("limit")
        if have is None or (limit is not None and limit <= have):
            return cache
    return build_teacher_cache(teacher, corpus, split, tokenizer, text_source, root=root, limit=limit,
                               **build_kwargs)


class IdCollate:
    """Wraps AdCollate: adds ``id`` (list of ad ids, row order of the batch)."""

    def __init__(self, collate: Any):
        self.collate = collate

    def __call__(self, samples: Sequence[Any]) -> dict[str, Any] | None:
        batch = self.collate(samples)
        if batch is not None:
            batch["id"] = [s.record.id for s in samples if s is not None]
        return batch


class TeacherCollate(IdCollate):
    """Wraps AdCollate: adds ``id`` and the cached teacher outputs as ``t/<output>`` float32 tensors."""

    def __init__(self, collate: Any, cache: TeacherOutputs):
        super().__init__(collate)
        self.cache = cache

    def __call__(self, samples: Sequence[Any]) -> dict[str, Any] | None:
        batch = super().__call__(samples)
        if batch is not None:
            for k, v in self.cache.lookup(batch["id"]).items():
                batch[f"t/{k}"] = torch.from_numpy(v)
        return batch
