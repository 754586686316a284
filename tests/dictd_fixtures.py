"""Dictionaries in dictd format written by the tests (the layout FreeDict ships and adfusion_edge/gloss.py
reads), so the gloss and its adoption check are tested without anything installed."""

from __future__ import annotations

import gzip
from pathlib import Path

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def dictd_b64(n: int) -> str:
    """``n`` in dictd's base64 digits (the index's offsets and lengths)."""
    out = ""
    while True:
        out = _B64[n % 64] + out
        n //= 64
        if not n:
            return out


def write_dictd(folder: Path, name: str, entries: list[tuple[str, str]], zipped: bool = True) -> tuple[Path, Path]:
    """``folder/<name>.index`` and ``<name>.dict.dz`` (``.dict`` unzipped) of (index word, entry body)."""
    folder.mkdir(parents=True, exist_ok=True)
    data, lines = b"", []
    for word, body in entries:
        raw = body.encode()
        lines.append(f"{word}\t{dictd_b64(len(data))}\t{dictd_b64(len(raw))}")
        data += raw
    index = folder / f"{name}.index"
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dict_file = folder / f"{name}.dict{'.dz' if zipped else ''}"
    dict_file.write_bytes(gzip.compress(data) if zipped else data)
    return index, dict_file
