"""The items of a scoring job: ``{"id", "path", "image", "text"}`` rows from a folder of images, a
JSONL manifest or a Parquet file.

* folder: every image file below it (sorted); id = path relative to the folder; text = OCR.
* JSONL manifest (the format of adfusion_edge's training manifests): ``image`` (path, relative to
  the manifest's folder), optional ``text`` and ``id``; label keys are allowed and ignored.
* Parquet: a ``path`` (or ``image``: bytes) column, optional ``text`` and ``id`` columns.

Ids must be unique: they are what a resumed run skips.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adfusion_edge.errors import ConfigError, ManifestError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
# Keys of a training manifest line that scoring does not use (read and ignored).
_IGNORED_KEYS = {"labels", "monetary_span", "monetary_text", "ctr_value", "meta"}


def _row(id_: str, path: str | None, image: bytes | None, text: str | None) -> dict[str, Any]:
    return {"id": id_, "path": path, "image": image, "text": text}


def from_folder(folder: Path) -> list[dict[str, Any]]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return [_row(str(p.relative_to(folder)), str(p), None, None) for p in files]


def from_manifest(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ManifestError(str(path), n, f"not JSON ({e})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("image"), str):
            raise ManifestError(str(path), n, "needs an object with an 'image' path")
        unknown = set(obj) - {"image", "text", "id"} - _IGNORED_KEYS
        if unknown:
            raise ManifestError(str(path), n, f"unknown keys: {', '.join(sorted(unknown))}")
        text = obj.get("text")
        if text is not None and not isinstance(text, str):
            raise ManifestError(str(path), n, f"text must be a string or null, got {type(text).__name__}")
        image = Path(obj["image"])
        image = image if image.is_absolute() else path.parent / image
        rows.append(_row(str(obj.get("id", f"{path.stem}:{n}")), str(image), None, text))
    return rows


def from_parquet(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    cols = set(table.column_names)
    if not cols & {"path", "image"}:
        raise ConfigError(f"{path}: needs a 'path' or an 'image' (bytes) column; has {sorted(cols)}")
    data = table.to_pydict()
    n = table.num_rows
    paths = data.get("path", [None] * n)
    images = data.get("image", [None] * n)
    texts = data.get("text", [None] * n)
    ids = data.get("id", [str(p) if p is not None else f"{path.stem}:{i}" for i, p in enumerate(paths)])
    return [_row(str(ids[i]), paths[i], images[i], texts[i]) for i in range(n)]


def load_items(source: str | Path) -> list[dict[str, Any]]:
    """Every item of ``source`` (folder, ``.jsonl`` manifest or ``.parquet``).

    Raises:
        FileNotFoundError: no such input. ManifestError: a bad manifest line. ConfigError: an
        unknown input kind or duplicate ids.
    """
    p = Path(source)
    if not p.exists():
        raise FileNotFoundError(f"no input at {p}")
    if p.is_dir():
        rows = from_folder(p)
    elif p.suffix in (".jsonl", ".json"):
        rows = from_manifest(p)
    elif p.suffix == ".parquet":
        rows = from_parquet(p)
    else:
        raise ConfigError(f"{p}: not a folder, a .jsonl manifest or a .parquet file")
    seen: set[str] = set()
    for r in rows:
        if r["id"] in seen:
            raise ConfigError(f"{p}: duplicate id {r['id']!r} (ids must be unique: a resumed run skips by id)")
        seen.add(r["id"])
    return rows
