"""Parquet shards of AdRecords plus a ``manifest.json`` describing the corpus.

Layout of a corpus directory::

    DIR/manifest.json                 splits -> shard files and counts, generator config, schema
    DIR/<split>/shard-00000.parquet   one row per AdRecord (see AdRecord.to_row)

Shards are written whole, atomically (temp file + rename), so a killed 1M-ad run leaves only
complete shards and can resume by skipping them. Readers memory-map the files, so a corpus larger
than RAM is fine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from adfusion_edge import schema
from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.errors import ConfigError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1

ARROW_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("image", pa.binary()),
        ("image_path", pa.string()),
        ("text", pa.string()),
        ("labels", pa.string()),
        ("monetary_span", pa.list_(pa.int32())),
        ("ctr_value", pa.float64()),
        ("text_boxes", pa.string()),
        ("object_boxes", pa.string()),
        ("meta", pa.string()),
    ]
)


def shard_path(root: str | os.PathLike, split: str, index: int) -> Path:
    return Path(root) / split / f"shard-{index:05d}.parquet"


def write_shard(path: str | os.PathLike, records: Iterable[AdRecord]) -> int:
    """Write records to one Parquet file atomically; returns the row count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [r.to_row() for r in records]
    table = pa.Table.from_pylist(rows, schema=ARROW_SCHEMA)
    tmp = path.with_suffix(".parquet.tmp")
    # Images are already compressed (JPEG): skip Parquet compression for them to save CPU.
    # Small row groups let the Dataset's random access read ~256 images instead of a whole shard.
    compression = {"image": "NONE"} | {c: "zstd" for c in ARROW_SCHEMA.names if c != "image"}
    pq.write_table(table, tmp, row_group_size=256, compression=compression)
    os.replace(tmp, path)
    return len(rows)


def read_shard(path: str | os.PathLike, columns: list[str] | None = None) -> pa.Table:
    """Memory-mapped table of one shard (optionally only some columns)."""
    return pq.read_table(path, columns=columns, memory_map=True)


def iter_shard(path: str | os.PathLike) -> Iterator[AdRecord]:
    table = read_shard(path)
    for batch in table.to_batches(max_chunksize=256):
        for row in batch.to_pylist():
            yield AdRecord.from_row(row)


def write_manifest(root: str | os.PathLike, splits: dict[str, list[dict[str, Any]]], info: dict[str, Any]) -> Path:
    """Write DIR/manifest.json.

    Args:
        root: Corpus directory.
        splits: split name -> list of {"file": relative path, "count": rows}.
        info: Provenance: generator name/config/seed, creation tool versions, etc.
    """
    manifest = {
        "format_version": FORMAT_VERSION,
        "schema_fingerprint": schema.fingerprint(),
        "splits": {
            name: {"count": sum(s["count"] for s in shards), "shards": shards} for name, shards in splits.items()
        },
        "info": info,
    }
    path = Path(root) / MANIFEST
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    os.replace(tmp, path)
    return path


def load_manifest(root: str | os.PathLike) -> dict[str, Any]:
    """Read and check DIR/manifest.json.

    Raises:
        FileNotFoundError: no manifest in ``root``.
        ConfigError: unknown format version or a corpus made with another label schema.
    """
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"no {MANIFEST} in {root}: not an AdSynth/shard corpus directory")
    manifest = json.loads(path.read_text())
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ConfigError(f"{path}: format_version {manifest.get('format_version')} != {FORMAT_VERSION}")
    if manifest.get("schema_fingerprint") != schema.fingerprint():
        raise ConfigError(f"{path}: corpus was written with a different label schema; regenerate it")
    return manifest


def split_files(root: str | os.PathLike, split: str) -> list[Path]:
    """Shard files of ``split``, in order.

    Raises:
        ConfigError: the split does not exist (names the ones that do).
    """
    manifest = load_manifest(root)
    if split not in manifest["splits"]:
        raise ConfigError(f"split {split!r} not in {root}; splits: {', '.join(manifest['splits'])}")
    return [Path(root) / s["file"] for s in manifest["splits"][split]["shards"]]


def iter_split(root: str | os.PathLike, split: str) -> Iterator[AdRecord]:
    for f in split_files(root, split):
        yield from iter_shard(f)
