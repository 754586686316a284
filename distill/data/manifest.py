"""JSONL manifests: how real (non-synthetic) labelled ads enter adfusion-edge.

Format: UTF-8, one JSON object per line; blank lines are ignored. Keys:

    image          str, required. Image file path, relative to the manifest's folder or absolute.
    text           str or null. The ad's printed text in reading order ("" when unknown).
    id             str or int. Unique in the file; default ``<manifest stem>:<line number>``.
    labels         object. Any subset of the schema's heads (adfusion_edge.schema); a value is a
                   label string, a list of label strings for multi-label heads, or null (unknown).
                   Missing or null heads are masked in training.
    monetary_span  [start, end]: character span [start, end) of the monetary mention in ``text``.
    monetary_text  str: the mention itself ("50% OFF"); located as its first occurrence in
                   ``text``. Give one of monetary_span / monetary_text (both only if they agree).
    ctr_value      number in [0, 1].
    meta           object: free-form provenance; ``meta.ocr_text`` is the precomputed OCR text
                   used by ``AdDataset(text_source="ocr")``.

Text-only manifests (real ad text without images, e.g. ``distill.data.realtext``) are read and
written with ``text_only=True``: ``image`` may then be absent and the record's ``image_path`` is None.

Example::

    {"image": "imgs/001.jpg", "text": "Pizza 50% OFF", "labels": {"theme": "food"}, "monetary_text": "50% OFF"}

Any other key is an error rather than ignored: a typo such as ``"lables"`` would otherwise
silently mask every head of every ad. Errors name the file and line: a malformed line raises
:class:`ManifestError`; an unknown label raises :class:`UnknownLabelError` (head + allowed labels)
whose message ends with ``(at FILE:LINE)``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from tqdm import tqdm

from adfusion_edge import schema
from adfusion_edge.distill.data.records import AdRecord, LabelValue
from adfusion_edge.errors import ConfigError, ManifestError, UnknownHeadError, UnknownLabelError

KEYS = ("image", "text", "id", "labels", "monetary_span", "monetary_text", "ctr_value", "meta")


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)  # JSON true is a Python int subclass


Fail = Callable[[str], NoReturn]


def _labels(obj: object, where: str, fail: Fail) -> dict[str, LabelValue]:
    if not isinstance(obj, dict):
        fail(f"'labels' must be an object, got {type(obj).__name__}")
    out: dict = {}
    for name, value in obj.items():
        try:
            h = schema.head(name)
        except UnknownHeadError as e:
            fail(str(e))
        if value is None:
            out[name] = None
            continue
        if h.kind == "multi":
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                fail(f"head {name!r} is multi-label: expected a list of label strings, got {value!r}")
        elif not isinstance(value, str):
            fail(f"head {name!r}: expected one label string, got {value!r}")
        try:
            schema.encode_label(name, value)
        except UnknownLabelError as e:
            raise UnknownLabelError(e.head, e.label, e.allowed, hint=f"at {where}") from None
        out[name] = list(value) if h.kind == "multi" else value
    return out


def _span(obj: dict, text: str, fail: Fail) -> tuple[int, int] | None:
    span, mtext = obj.get("monetary_span"), obj.get("monetary_text")
    if span is not None:
        if not (isinstance(span, list) and len(span) == 2 and all(_is_int(v) for v in span)):
            fail(f"'monetary_span' must be [start, end] integers, got {span!r}")
        s, e = span
        if not 0 <= s < e <= len(text):
            fail(f"'monetary_span' {span} is outside the text (length {len(text)})")
    if mtext is not None:
        if not isinstance(mtext, str) or not mtext:
            fail(f"'monetary_text' must be a non-empty string, got {mtext!r}")
        start = text.find(mtext)
        if start < 0:
            fail(f"'monetary_text' {mtext!r} does not occur in the text {text!r}")
        if span is not None and text[span[0] : span[1]] != mtext:
            fail(f"'monetary_span' {span} selects {text[span[0]:span[1]]!r}, not monetary_text {mtext!r}")
        return (start, start + len(mtext))
    return None if span is None else (span[0], span[1])


def parse_line(obj: object, manifest: Path, line_no: int, text_only: bool = False) -> AdRecord:
    """One decoded manifest line -> AdRecord (``image_path`` absolute or manifest-relative resolved).

    Args:
        obj: The JSON value of the line.
        manifest: The manifest file (for resolving relative image paths and for messages).
        line_no: 1-based line number (for messages and the default id).
        text_only: Allow lines without ``image`` (text-only rows; ``image_path`` None).

    Raises:
        ManifestError: wrong structure or types.
        UnknownLabelError: a label the schema does not know (message names the line).
    """
    where = f"{manifest}:{line_no}"

    def fail(reason: str) -> NoReturn:
        raise ManifestError(str(manifest), line_no, reason)

    if not isinstance(obj, dict):
        fail(f"expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - set(KEYS))
    if unknown:
        fail(f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(KEYS)}")
    image = obj.get("image")
    if image is None and text_only:
        pass
    elif not isinstance(image, str) or not image:
        fail("missing 'image' (a non-empty path string)" if image is None else f"'image' must be a path string, got {image!r}")
    text = obj.get("text")
    if text is None:
        text = ""
    elif not isinstance(text, str):
        fail(f"'text' must be a string or null, got {type(text).__name__}")
    rid = obj.get("id", f"{manifest.stem}:{line_no}")
    if not (isinstance(rid, str) or _is_int(rid)):
        fail(f"'id' must be a string or integer, got {rid!r}")
    ctr = obj.get("ctr_value")
    if ctr is not None and (isinstance(ctr, bool) or not isinstance(ctr, (int, float)) or not 0.0 <= ctr <= 1.0):
        fail(f"'ctr_value' must be a number in [0, 1], got {ctr!r}")
    meta = obj.get("meta", {})
    if not isinstance(meta, dict):
        fail(f"'meta' must be an object, got {type(meta).__name__}")
    labels = _labels(obj.get("labels", {}), where, fail)
    span = _span(obj, text, fail)
    path = None if image is None else Path(image)
    if path is not None and not path.is_absolute():
        path = manifest.resolve().parent / path  # relative to the manifest, not the CWD: manifests move with data
    return AdRecord(
        id=str(rid), image=None, image_path=None if path is None else str(path), text=text, labels=labels, monetary_span=span,
        ctr_value=None if ctr is None else float(ctr), meta=dict(meta),
    )


def read_manifest(path: str | os.PathLike, text_only: bool = False) -> Iterator[AdRecord]:
    """Stream the AdRecords of a JSONL manifest (``image`` None, ``image_path`` set).

    ``text_only=True`` also accepts lines without ``image`` (their ``image_path`` is None).

    Images are not opened here; the Dataset decodes (and reports) them.

    Raises:
        FileNotFoundError: no such manifest.
        ManifestError: bad JSON / UTF-8, wrong structure or types, duplicate id (file:line).
        UnknownLabelError: unknown label; the message ends with ``(at FILE:LINE)``.
    """
    for _, rec in read_manifest_lines(path, text_only):
        yield rec


def read_manifest_lines(path: str | os.PathLike, text_only: bool = False) -> Iterator[tuple[int, AdRecord]]:
    """As :func:`read_manifest`, each record with its line number in the file (blank lines count)."""
    manifest = Path(path)
    if not manifest.is_file():
        raise FileNotFoundError(f"manifest not found: {manifest}")
    seen: dict[str, int] = {}
    with manifest.open("rb") as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ManifestError(str(manifest), line_no, f"not valid UTF-8 (byte {e.start})") from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ManifestError(str(manifest), line_no, f"invalid JSON: {e.msg} (column {e.colno})") from None
            rec = parse_line(obj, manifest, line_no, text_only)
            if rec.id in seen:
                raise ManifestError(str(manifest), line_no, f"duplicate id {rec.id!r} (first on line {seen[rec.id]})")
            seen[rec.id] = line_no
            yield line_no, rec


def _image_ref(image_path: str, manifest_dir: Path) -> str:
    p = Path(image_path).resolve()
    try:
        return p.relative_to(manifest_dir).as_posix()  # portable: the folder can be moved as a whole
    except ValueError:
        return str(p)


def record_to_line(rec: AdRecord, manifest_dir: Path, text_only: bool = False) -> dict[str, Any]:
    """The manifest JSON object of one record (keys with no information are left out)."""
    obj: dict[str, Any] = {"id": rec.id, "text": rec.text}
    if rec.image_path is not None:
        obj["image"] = _image_ref(rec.image_path, manifest_dir)
    elif not text_only:
        raise ValueError(f"record {rec.id!r} has no image_path; pass images_dir to write_manifest")
    labels = {k: v for k, v in rec.labels.items() if v is not None}
    if labels:
        obj["labels"] = labels
    if rec.monetary_span is not None:
        obj["monetary_span"] = list(rec.monetary_span)
    if rec.ctr_value is not None:
        obj["ctr_value"] = float(rec.ctr_value)
    if rec.meta:
        obj["meta"] = rec.meta
    return obj


def _sniff_ext(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return ".jpg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return ".png"
    return ".img"


def write_manifest(path: str | os.PathLike, records: Iterable[AdRecord], images_dir: str | os.PathLike | None = None,
                   text_only: bool = False) -> int:
    """Write records as a JSONL manifest, atomically (temp file + rename).

    Image paths under the manifest's folder are written relative to it, others absolute.

    Args:
        path: Manifest file to write.
        records: Records with ``image_path``, or with ``image`` bytes when ``images_dir`` is given.
        images_dir: Where to store embedded image bytes as files (``<id>.<ext>``); the id's
            path separators are replaced so every record gets one flat file.
        text_only: Records without an image are written without ``image`` (text-only manifest).

    Returns:
        The number of records written.

    Raises:
        ValueError: a record has neither ``image_path`` nor (with ``images_dir``) image bytes.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest_dir = out.parent.resolve()
    tmp = out.with_name(out.name + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as f:
        for rec in records:
            if rec.image_path is None and rec.image is not None and images_dir is not None:
                img_dir = Path(images_dir)
                img_dir.mkdir(parents=True, exist_ok=True)
                name = rec.id.replace("/", "_").replace(os.sep, "_") + _sniff_ext(rec.image)
                (img_dir / name).write_bytes(rec.image)
                obj = record_to_line(replace(rec, image=None, image_path=str(img_dir / name)), manifest_dir)
            else:
                obj = record_to_line(rec, manifest_dir, text_only)
            f.write(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    os.replace(tmp, out)
    return n


def rewrite_text_manifest(rows: str | os.PathLike, out: str | os.PathLike, edit: Callable[[int, AdRecord], None],
                          what: str) -> None:
    """Write the text-only manifest ``rows`` to ``out``, each record passed first to ``edit(line_no, record)``,
    which changes it in place (a relabelling pass: nothing is dropped or reordered).

    Raises:
        ConfigError: ``out`` is ``rows`` (the input would be overwritten while read).
        ManifestError: A malformed line (file and line named), or whatever ``edit`` raises.
    """
    rows, out = Path(rows), Path(out)
    if out.resolve() == rows.resolve():
        raise ConfigError(f"--out {out} is the input manifest; write the {what} rows to another file")
    kept = []
    for line_no, rec in tqdm(read_manifest_lines(rows, text_only=True), desc=f"{what} rows", unit="row"):
        edit(line_no, rec)
        kept.append(rec)
    write_manifest(out, kept, text_only=True)
