"""Model bundles: a directory a runtime can trust, read without torch and without unpickling.

Layout::

    BUNDLE/bundle.json      format_version, schema (+ fingerprint), preprocessing, model file,
                            precision, input/output names + shapes, files (sha256 + size),
                            provenance (data, steps, metrics, tool versions, command)
    BUNDLE/model.onnx       (or model.torchscript / model.plan + model.plan.json sidecar)
    BUNDLE/tokenizer.json

``load_bundle`` verifies the format version, the label-schema fingerprint and every listed file's
size and sha256 before anything is handed to a runtime, and raises BundleError naming the file
and the reason. Written by adfusion_edge.export.bundle_writer.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adfusion_edge import schema
from adfusion_edge.errors import BundleError
from adfusion_edge.fileops import sha256_file
from adfusion_edge.io_contract import INPUT_NAMES
from adfusion_edge.preprocess import PreprocessConfig

BUNDLE_FILE = "bundle.json"
FORMAT_VERSION = 1
PRECISIONS = ("fp32", "fp16", "int8")
_REQUIRED = ("format_version", "schema", "schema_fingerprint", "preprocess", "tokenizer", "model", "files",
             "inputs", "outputs")


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: name, numpy dtype name, shape (int or symbolic dim name)."""

    name: str
    dtype: str
    shape: tuple[int | str, ...]

    @classmethod
    def from_dict(cls, d: dict) -> TensorSpec:
        return cls(str(d["name"]), str(d["dtype"]), tuple(d["shape"]))

    def to_dict(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


@dataclass(frozen=True)
class Bundle:
    """A verified bundle.

    Attributes:
        path: Bundle directory.
        meta: bundle.json content.
        model_file: The model file to run.
        format: ``onnx``, ``torchscript`` or ``tensorrt``.
        precision: ``fp32``, ``fp16`` or ``int8``.
        tokenizer_file: tokenizer.json path.
        preprocess: Preprocessing parameters the model was trained with.
        inputs, outputs: Graph signature.
    """

    path: Path
    meta: dict[str, Any]
    model_file: Path
    format: str
    precision: str
    tokenizer_file: Path
    preprocess: PreprocessConfig
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def file(self, name: str) -> Path:
        """Path of another verified file of the bundle (e.g. a TensorRT sidecar)."""
        if name not in self.meta["files"]:
            raise BundleError(f"{self.path}: bundle lists no file {name!r}")
        return self.path / name



def _plain_name(name: object, where: str) -> str:
    # Bundle file names are plain names inside the directory: no paths, so a crafted bundle.json
    # cannot make us hash or load files elsewhere on disk.
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name:
        raise BundleError(f"{where}: invalid file name {name!r} (must be a plain name inside the bundle)")
    return name


def verify_files(root: Path, files: dict[str, Any]) -> None:
    """Check size then sha256 of every listed file.

    Raises:
        BundleError: naming the file: missing, wrong size (truncated / grown), or wrong sha256.
    """
    for name, entry in files.items():
        _plain_name(name, str(root / BUNDLE_FILE))
        f = root / name
        try:
            expected_size, expected_sha = int(entry["size"]), str(entry["sha256"])
        except (KeyError, TypeError, ValueError):
            raise BundleError(f"{root / BUNDLE_FILE}: entry for {name!r} needs size and sha256") from None
        if not f.is_file():
            raise BundleError(f"{f}: missing from bundle")
        size = f.stat().st_size
        if size != expected_size:
            kind = "truncated" if size < expected_size else "larger than recorded"
            raise BundleError(f"{f}: {kind}: {size} bytes, bundle.json records {expected_size}")
        if sha256_file(f) != expected_sha:
            raise BundleError(f"{f}: sha256 mismatch: the file was modified or corrupted after export")


def read_bundle_json(path: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """(bundle dir, parsed bundle.json) for a bundle directory or its bundle.json path."""
    p = Path(path)
    root = p.parent if p.name == BUNDLE_FILE else p
    meta_path = root / BUNDLE_FILE
    if not root.exists():
        raise BundleError(f"{root}: model bundle not found")
    if not meta_path.is_file():
        raise BundleError(f"{root}: not a model bundle ({BUNDLE_FILE} missing)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise BundleError(f"{meta_path}: unreadable: {e}") from None
    if not isinstance(meta, dict):
        raise BundleError(f"{meta_path}: not a JSON object")
    return root, meta


def load_bundle(path: str | os.PathLike, verify: bool = True) -> Bundle:
    """Read and verify a bundle.

    Args:
        path: Bundle directory (or its bundle.json).
        verify: Check sizes and sha256 of every file (keep True outside tests of this function).

    Returns:
        The verified Bundle.

    Raises:
        BundleError: missing/unreadable bundle.json, another format version, another label
            schema, a missing / truncated / modified file, or an inconsistent description.
    """
    root, meta = read_bundle_json(path)
    where = str(root / BUNDLE_FILE)
    missing = [k for k in _REQUIRED if k not in meta]
    if missing:
        raise BundleError(f"{where}: missing keys: {', '.join(missing)}")
    if meta["format_version"] != FORMAT_VERSION:
        raise BundleError(f"{where}: format_version {meta['format_version']!r} is not supported "
                          f"(this adfusion-edge reads {FORMAT_VERSION}); re-export the model")
    if meta["schema_fingerprint"] != schema.fingerprint():
        raise BundleError(f"{where}: built for another label schema (fingerprint {str(meta['schema_fingerprint'])[:12]}, "
                          f"this adfusion-edge has {schema.fingerprint()[:12]}); re-export with this version")
    files = meta["files"]
    if not isinstance(files, dict) or not files:
        raise BundleError(f"{where}: 'files' must list the bundle's files")
    model = meta["model"]
    try:
        model_name = _plain_name(model["file"], where)
        fmt, precision = str(model["format"]), str(model["precision"])
        tok_name = _plain_name(meta["tokenizer"], where)
        pre = PreprocessConfig.from_dict(meta["preprocess"])
        inputs = tuple(TensorSpec.from_dict(d) for d in meta["inputs"])
        outputs = tuple(TensorSpec.from_dict(d) for d in meta["outputs"])
    except BundleError:
        raise
    except Exception as e:  # KeyError, TypeError, ConfigError from a hand-edited file
        raise BundleError(f"{where}: malformed description: {e}") from None
    for name in (model_name, tok_name):
        if name not in files:
            raise BundleError(f"{where}: {name!r} is not listed in 'files' (cannot verify it)")
    if precision not in PRECISIONS:
        raise BundleError(f"{where}: unknown precision {precision!r}; one of {', '.join(PRECISIONS)}")
    if tuple(i.name for i in inputs) != INPUT_NAMES:
        raise BundleError(f"{where}: inputs {[i.name for i in inputs]} differ from the model contract's "
                          f"{list(INPUT_NAMES)}")
    if tuple(o.name for o in outputs) != schema.output_names():
        raise BundleError(f"{where}: outputs {[o.name for o in outputs]} differ from the schema's")
    if verify:
        verify_files(root, files)
    return Bundle(root, meta, root / model_name, fmt, precision, root / tok_name, pre, inputs, outputs)
