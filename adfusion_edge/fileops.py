"""Crash-safe file operations shared by every on-disk artefact (bundles, checkpoints, caches)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, streamed in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def old_sibling(path: Path) -> Path:
    """Where the previous version of directory ``path`` waits during a swap: ``.<name>.old``."""
    return path.with_name(f".{path.name}.old")


def swap_in_dir(tmp: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Replace directory ``path`` by the fully written directory ``tmp`` with two renames.

    A kill at any point leaves the previous version either at ``path`` or, between the renames,
    at ``old_sibling(path)``; the next swap finishes such an interrupted one first, and readers
    may fall back to the old sibling.
    """
    tmp, path = Path(tmp), Path(path)
    old = old_sibling(path)
    if not path.exists() and old.exists():
        os.replace(old, path)  # finish the swap a previous kill interrupted
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
    return path
