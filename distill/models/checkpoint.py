"""Checkpoints: model weights + identity (rebuildable from files alone) and resumable train state.

A checkpoint is a directory::

    model.safetensors   weights (safetensors: no pickle)
    model.json          model.describe() = {"name", "config", "preprocess"} + schema fingerprint
    train_state.pt      optional: optimizer / scheduler / scaler state, step, epoch, data position,
                        RNG states, best metric (plain tensors and containers: loads with
                        torch.load(weights_only=True))
    tokenizer.json      optional: the tokenizer the model was trained with (export ships it)
    meta.json           written last: sha256 of every file above + free-form info (metrics, step)

Atomicity: a checkpoint is written whole into ``.<name>.partial`` and then swapped in with two
renames (old -> ``.<name>.old``, partial -> name). A kill at any point leaves either the previous
checkpoint under ``name`` or, between the two renames, under ``.<name>.old``; readers fall back to
it (resolve_checkpoint) and the next save cleans up. meta.json's hashes catch files that were
corrupted or edited afterwards.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from adfusion_edge import schema
from adfusion_edge.errors import CheckpointError
from adfusion_edge.fileops import old_sibling, sha256_file, swap_in_dir

FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
MODEL_JSON = "model.json"
TRAIN_STATE = "train_state.pt"
TOKENIZER = "tokenizer.json"
META = "meta.json"


def unwrap(model: nn.Module) -> nn.Module:
    """The AdModel inside DDP / torch.compile wrappers."""
    while True:
        if isinstance(model, nn.parallel.DistributedDataParallel | nn.DataParallel):
            model = model.module
        elif type(model).__name__ == "OptimizedModule":  # torch.compile; no dynamo import needed
            model = model._orig_mod
        else:
            return model


# ---- atomic directory writes -----------------------------------------------------------------

def _sibling(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{tag}")


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """The directory to read for checkpoint ``path``, honouring an interrupted swap.

    Raises:
        CheckpointError: neither the checkpoint nor its interrupted-swap backup exists.
    """
    path = Path(path)
    if (path / META).is_file() or (path / MODEL_JSON).is_file():
        return path
    old = old_sibling(path)
    if (old / META).is_file():
        return old
    raise CheckpointError(f"no checkpoint at {path}: {META} / {MODEL_JSON} not found")


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())




def write_checkpoint_dir(path: str | os.PathLike, writer: Callable[[Path], None],
                         info: Mapping[str, Any] | None = None) -> Path:
    """Atomically (re)place directory ``path`` with what ``writer(tmp_dir)`` writes + meta.json."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    writer(tmp)
    files = {}
    for f in sorted(tmp.iterdir()):
        f.chmod(0o644)  # safetensors creates 0600 files; checkpoints are shared artefacts
        _fsync_file(f)
        files[f.name] = sha256_file(f)
    meta = {"format_version": FORMAT_VERSION, "files": files, "info": dict(info or {})}
    (tmp / META).write_text(json.dumps(meta, indent=2, sort_keys=True, default=float))
    _fsync_file(tmp / META)
    return swap_in_dir(tmp, path)


def read_meta(path: str | os.PathLike, verify: bool = True) -> dict[str, Any]:
    """meta.json of a checkpoint; with ``verify`` every listed file's sha256 is checked.

    Raises:
        CheckpointError: missing/unreadable meta.json, a listed file missing or changed.
    """
    path = resolve_checkpoint(path)
    meta_path = path / META
    try:
        meta = json.loads(meta_path.read_text())
        files = dict(meta["files"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{meta_path}: unreadable checkpoint metadata ({e})") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{meta_path}: format_version {meta.get('format_version')} != {FORMAT_VERSION}")
    if verify:
        for name, digest in files.items():
            f = path / name
            if not f.is_file():
                raise CheckpointError(f"{f}: missing from checkpoint")
            if sha256_file(f) != digest:
                raise CheckpointError(f"{f}: sha256 mismatch: file is corrupt or was modified")
    meta["dir"] = str(path)
    return meta


# ---- model weights + identity ----------------------------------------------------------------

def model_identity(model: nn.Module) -> dict[str, Any]:
    """model.json content: describe() + schema fingerprint (refuses loading under another schema)."""
    ident = dict(unwrap(model).describe())
    ident.update(format_version=FORMAT_VERSION, schema_fingerprint=schema.fingerprint())
    return ident


def _write_model(model: nn.Module, d: Path, tokenizer: str | os.PathLike | None) -> None:
    from safetensors.torch import save_model as st_save_model

    m = unwrap(model)
    (d / MODEL_JSON).write_text(json.dumps(model_identity(m), indent=2, sort_keys=True))
    # save_model (not save_file) handles tied/shared tensors; values are copied bit for bit.
    st_save_model(m, str(d / WEIGHTS))
    if tokenizer is not None:
        shutil.copyfile(tokenizer, d / TOKENIZER)


def save_model(model: nn.Module, path: str | os.PathLike, info: Mapping[str, Any] | None = None,
               tokenizer: str | os.PathLike | None = None) -> Path:
    """Write weights + model.json (+ tokenizer.json) atomically into directory ``path``."""
    return write_checkpoint_dir(path, lambda d: _write_model(model, d, tokenizer), info)


def read_model_json(path: str | os.PathLike) -> dict[str, Any]:
    """The model identity stored in a checkpoint.

    Raises:
        CheckpointError: missing/unreadable model.json or one written under another label schema.
    """
    f = resolve_checkpoint(path) / MODEL_JSON
    try:
        ident = json.loads(f.read_text())
        ident["name"], ident["config"]  # noqa: B018 - presence check
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{f}: unreadable model identity ({e})") from None
    if ident.get("schema_fingerprint") not in (None, schema.fingerprint()):
        raise CheckpointError(f"{f}: model was trained under a different label schema")
    return ident


def load_weights(model: nn.Module, path: str | os.PathLike, strict: bool = True) -> None:
    """Load model.safetensors of checkpoint ``path`` into ``model`` (bit-exact).

    Raises:
        CheckpointError: naming the file, on corrupt data or missing/unexpected/mis-shaped tensors.
    """
    from safetensors.torch import load_model as st_load_model

    f = resolve_checkpoint(path) / WEIGHTS
    if not f.is_file():
        raise CheckpointError(f"{f}: missing from checkpoint")
    try:
        missing, unexpected = st_load_model(unwrap(model), str(f), strict=False)
    except Exception as e:  # SafetensorError, RuntimeError (shape mismatch), OSError
        raise CheckpointError(f"{f}: cannot load weights: {e}") from None
    if strict and (missing or unexpected):
        raise CheckpointError(f"{f}: weights do not match the model: missing {sorted(missing)[:8]}, "
                              f"unexpected {sorted(unexpected)[:8]}")


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu", verify: bool = True) -> nn.Module:
    """Rebuild a model from a checkpoint directory alone (registry name + config + weights).

    Args:
        path: Checkpoint directory (or a run directory: its ``best/`` then ``last/`` is used).
        device: Where to put the model.
        verify: Check the sha256 of every file against meta.json first.

    Returns:
        The model in eval mode.

    Raises:
        CheckpointError: missing, corrupt or mismatched files (the message names the file).
    """
    from adfusion_edge.distill.models.registry import create_model
    from adfusion_edge.errors import ConfigError

    path = find_checkpoint(path)
    if verify:
        read_meta(path)
    ident = read_model_json(path)
    try:
        model = create_model(ident["name"], preprocess=ident.get("preprocess"), **ident["config"])
    except ConfigError as e:
        raise CheckpointError(f"{Path(path) / MODEL_JSON}: cannot rebuild model: {e}") from None
    load_weights(model, path)
    return model.to(device).eval()


def find_checkpoint(path: str | os.PathLike) -> Path:
    """A checkpoint directory for ``path``: itself, or a run directory's ``best/`` or ``last/``."""
    path = Path(path)
    for cand in (path, path / "best", path / "last"):
        try:
            return resolve_checkpoint(cand)
        except CheckpointError:
            continue
    raise CheckpointError(f"no checkpoint at {path} (nor in its best/ or last/)")


# ---- RNG states as plain tensors (weights_only-safe) -----------------------------------------

def rng_state() -> dict[str, Any]:
    """python / numpy / torch (+ every CUDA device) RNG states as tensors and plain numbers."""
    version, internal, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
        "numpy": {"name": np_name, "keys": torch.from_numpy(np_keys.astype(np.int64)), "pos": int(np_pos),
                  "has_gauss": int(np_has_gauss), "gauss": float(np_gauss)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        # This process's device only: under DDP every rank seeds alike and consumes alike, so rank
        # 0's state restores every rank (get_rng_state_all would hand rank 0's view of the other
        # GPUs, whose generators rank 0 never advanced, to their ranks).
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(x) for x in py["internal"].tolist()), py["gauss"]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


# ---- full training checkpoints ---------------------------------------------------------------

def save_checkpoint(path: str | os.PathLike, model: nn.Module, train_state: Mapping[str, Any] | None = None,
                    info: Mapping[str, Any] | None = None, tokenizer: str | os.PathLike | None = None) -> Path:
    """Atomically write model files and (optionally) the training state into directory ``path``.

    Args:
        path: Checkpoint directory (replaced as a whole).
        model: The model (DDP/compile wrappers are unwrapped).
        train_state: Plain data for resuming: tensors, numbers, strings, lists, dicts (e.g.
            ``optimizer.state_dict()``, step counters, :func:`rng_state`). Anything else is
            rejected here, at save time, instead of at resume time.
        info: JSON-able summary for meta.json (step, metrics).
        tokenizer: tokenizer.json to ship with the weights.
    """
    def writer(d: Path) -> None:
        _write_model(model, d, tokenizer)
        if train_state is not None:
            state = {"format_version": FORMAT_VERSION, **train_state}
            torch.save(state, d / TRAIN_STATE)
            # Fail now, not at resume time, if something unpicklable-without-code slipped in.
            torch.load(d / TRAIN_STATE, map_location="cpu", weights_only=True)

    return write_checkpoint_dir(path, writer, info)


def load_train_state(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The training state of checkpoint ``path`` (torch.load with weights_only=True).

    Raises:
        CheckpointError: missing or corrupt train_state.pt, or another format version.
    """
    f = resolve_checkpoint(path) / TRAIN_STATE
    if not f.is_file():
        raise CheckpointError(f"{f}: missing from checkpoint (saved without training state?)")
    try:
        state = torch.load(f, map_location=map_location, weights_only=True)
    except Exception as e:  # UnpicklingError, RuntimeError (zip), EOFError
        raise CheckpointError(f"{f}: corrupt training state: {e}") from None
    if not isinstance(state, dict) or state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{f}: not a training state of format {FORMAT_VERSION}")
    return state
