"""Model bundles: a directory a runtime can trust, read without torch and without unpickling.

Layout::

    BUNDLE/bundle.json      format_version, schema (+ fingerprint), preprocessing, model file,
                            precision, input/output names + shapes, files (sha256 + size),
                            provenance (data, steps, metrics, tool versions, command)
    BUNDLE/model.onnx       (or model.torchscript / model.plan + model.plan.json sidecar)
    BUNDLE/tokenizer.json

``load_bundle`` validates bundle.json strictly (every key present and of its type, no unknown
keys, no defaults filled in), checks that the declared signature is the one this label schema and
these preprocessing sizes need, verifies every listed file's size and sha256, and for ONNX reads
the graph itself (adfusion_edge/onnx_graph.py): every external-data file it would load must be
listed (hence hashed), the precision claim must match its operators, and a graph that mixes the
ads of a batch (dynamic quantization) is marked ``batch_independent=False``. The model's real
inputs/outputs and a smoke inference are checked once a runtime has loaded it
(adfusion_edge/bundle_check.py). Every refusal is a BundleError naming the file and what differs.
Written by adfusion_edge.export.bundle_writer.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adfusion_edge import schema
from adfusion_edge.errors import AdFusionError, BundleError
from adfusion_edge.fileops import sha256_file
from adfusion_edge.formats import FORMATS
from adfusion_edge.io_contract import INPUT_NAMES, SPEC_BY_NAME
from adfusion_edge.preprocess import PreprocessConfig

BUNDLE_FILE = "bundle.json"
FORMAT_VERSION = 1
PRECISIONS = ("fp32", "fp16", "int8")
_REQUIRED = ("format_version", "schema", "schema_fingerprint", "preprocess", "tokenizer", "model", "files",
             "inputs", "outputs")
# Optional keys: provenance (free-form), batch_independent (written by the exporter from its check),
# ctr_thresholds (the [low/medium, medium/high] CTR values the ctr buckets were made with).
_KNOWN = _REQUIRED + ("provenance", "batch_independent", "ctr_thresholds")
_HEX = frozenset("0123456789abcdef")


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
        batch_independent: Whether one ad's outputs are the same whatever else is in its batch.
            False (dynamic quantization) makes Analyzer.run_batch run the model one ad at a time.
        batch_mixing: Why not, when False (e.g. ``{"DynamicQuantizeLinear": 12}``).
        ctr_thresholds: (t1, t2): CTR below t1 is ``low``, below t2 ``medium``, else ``high``, on
            the scale of the model's CTR estimate; with them the reported bucket is the estimate's
            bucket, so the two never contradict each other (postprocess.decode). None: not recorded.
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
    batch_independent: bool = True
    batch_mixing: dict[str, int] | None = None
    ctr_thresholds: tuple[float, float] | None = None

    def file(self, name: str) -> Path:
        """Path of another verified file of the bundle (e.g. a TensorRT sidecar)."""
        if name not in self.meta["files"]:
            raise BundleError(f"{self.path}: bundle lists no file {name!r}")
        return self.path / name



def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


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
        if (not isinstance(entry, dict) or set(entry) != {"size", "sha256"} or not _is_int(entry["size"])
                or entry["size"] < 0 or not isinstance(entry["sha256"], str) or len(entry["sha256"]) != 64
                or not set(entry["sha256"]) <= _HEX):
            raise BundleError(f"{root / BUNDLE_FILE}: entry for {name!r} must be exactly "
                              f"{{'size': bytes, 'sha256': 64 lowercase hex digits}}, got {entry!r}")
        expected_size, expected_sha = entry["size"], entry["sha256"]
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


def _expect(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise BundleError(f"{where}: {what}")


def _tensor_specs(items: object, key: str, where: str) -> tuple[TensorSpec, ...]:
    _expect(isinstance(items, list) and len(items) > 0, where, f"'{key}' must be a non-empty list")
    specs = []
    for d in items:  # type: ignore[union-attr]
        ok = (isinstance(d, dict) and set(d) == {"name", "dtype", "shape"} and isinstance(d["name"], str)
              and isinstance(d["dtype"], str) and isinstance(d["shape"], list)
              and all((_is_int(x) and x > 0) or (isinstance(x, str) and x) for x in d["shape"]))
        _expect(ok, where, f"'{key}' entry {d!r} must be {{'name': str, 'dtype': str, 'shape': [int > 0 or "
                           f"symbol, ...]}}")
        specs.append(TensorSpec(d["name"], d["dtype"], tuple(d["shape"])))
    names = [t.name for t in specs]
    _expect(len(set(names)) == len(names), where, f"'{key}' names repeat: {names}")
    return tuple(specs)


def _preprocess(d: object, where: str) -> PreprocessConfig:
    keys = {"image_size", "max_tokens", "mean", "std"}
    _expect(isinstance(d, dict) and set(d) == keys, where,
            f"'preprocess' must have exactly {sorted(keys)} (no defaults are assumed), got "
            f"{sorted(d) if isinstance(d, dict) else type(d).__name__}")
    ok = (_is_int(d["image_size"]) and _is_int(d["max_tokens"])  # type: ignore[index]
          and all(isinstance(v, list) and len(v) == 3 and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                              for x in v) for v in (d["mean"], d["std"])))  # type: ignore[index]
    _expect(ok, where, f"'preprocess' values have the wrong types: {d!r}")
    try:
        return PreprocessConfig(d["image_size"], d["max_tokens"], tuple(d["mean"]), tuple(d["std"]))  # type: ignore[index]
    except AdFusionError as e:
        raise BundleError(f"{where}: 'preprocess': {e}") from None


def expected_outputs(max_tokens: int | str) -> dict[str, tuple[int | str, ...]]:
    """Output name -> shape after the batch axis that this label schema needs."""
    out: dict[str, tuple[int | str, ...]] = {h.name: (h.num_labels,) for h in schema.HEADS}
    out[schema.SPAN_OUTPUT] = (max_tokens, len(schema.SPAN_TAGS))
    out[schema.VALUE_OUTPUT] = ()
    return out


def _check_signature(inputs: tuple[TensorSpec, ...], outputs: tuple[TensorSpec, ...], pre: PreprocessConfig,
                     where: str) -> None:
    """The declared signature must be what Analyzer feeds and what the schema decodes."""
    _expect(tuple(i.name for i in inputs) == INPUT_NAMES, where,
            f"inputs {[i.name for i in inputs]} differ from {list(INPUT_NAMES)}")
    s, length = pre.image_size, pre.max_tokens
    # What the model input contract (io_contract.py) says for this preprocessing, after the batch axis.
    want = {name: (spec.dtype, spec.shape(s, length)[1:]) for name, spec in SPEC_BY_NAME.items()}
    for t in inputs:
        dtype, rest = want[t.name]
        # The token axis may be symbolic (a dynamic-sequence export); the batch axis must be.
        fits = (t.dtype == dtype and len(t.shape) == 1 + len(rest) and isinstance(t.shape[0], str)
                and all(a == b or (t.name != "image" and isinstance(a, str)) for a, b in zip(t.shape[1:], rest, strict=False)))
        _expect(fits, where, f"input {t.name!r} is {t.dtype} {list(t.shape)}; preprocess "
                             f"(image_size {s}, max_tokens {length}) needs {dtype} ['batch', {', '.join(map(str, rest))}]")
    _expect(tuple(o.name for o in outputs) == schema.output_names(), where,
            f"outputs {[o.name for o in outputs]} differ from the schema's {list(schema.output_names())}")
    shapes = expected_outputs(length)
    for o in outputs:
        rest = shapes[o.name]
        fits = (o.dtype in ("float32", "float16") and len(o.shape) == 1 + len(rest) and isinstance(o.shape[0], str)
                and all(a == b or (o.name == schema.SPAN_OUTPUT and j == 0 and isinstance(a, str))
                        for j, (a, b) in enumerate(zip(o.shape[1:], rest, strict=False))))
        _expect(fits, where, f"output {o.name!r} is {o.dtype} {list(o.shape)}; the label schema needs float32 "
                             f"['batch'{''.join(f', {d}' for d in rest)}]")


def load_bundle(path: str | os.PathLike, verify: bool = True) -> Bundle:
    """Read and verify a bundle.

    Args:
        path: Bundle directory (or its bundle.json).
        verify: Check sizes and sha256 of every file and read the ONNX graph (keep True outside
            tests of this function).

    Returns:
        The verified Bundle.

    Raises:
        BundleError: missing/unreadable bundle.json, a key missing / unknown / of the wrong type,
            another format version or label schema, a signature the schema or preprocessing
            cannot use, a missing / truncated / modified / unlisted file, or a precision that
            the graph contradicts.
    """
    root, meta = read_bundle_json(path)
    where = str(root / BUNDLE_FILE)
    missing = [k for k in _REQUIRED if k not in meta]
    _expect(not missing, where, f"missing keys: {', '.join(missing)}")
    unknown = sorted(set(meta) - set(_KNOWN))
    _expect(not unknown, where, f"unknown keys: {', '.join(unknown)} (this adfusion-edge reads {', '.join(_KNOWN)})")
    if not _is_int(meta["format_version"]) or meta["format_version"] != FORMAT_VERSION:
        raise BundleError(f"{where}: format_version {meta['format_version']!r} is not supported "
                          f"(this adfusion-edge reads {FORMAT_VERSION}); re-export the model")
    if meta["schema_fingerprint"] != schema.fingerprint() or meta["schema"] != schema.to_dict():
        raise BundleError(f"{where}: built for another label schema (fingerprint {str(meta['schema_fingerprint'])[:12]}, "
                          f"this adfusion-edge has {schema.fingerprint()[:12]}); re-export with this version")
    files = meta["files"]
    _expect(isinstance(files, dict) and len(files) > 0, where, "'files' must list the bundle's files")
    model = meta["model"]
    _expect(isinstance(model, dict) and set(model) == {"file", "format", "precision"}
            and all(isinstance(v, str) for v in model.values()), where,
            f"'model' must be exactly {{'file': str, 'format': str, 'precision': str}}, got {model!r}")
    model_name, tok_name = _plain_name(model["file"], where), _plain_name(meta["tokenizer"], where)
    fmt, precision = model["format"], model["precision"]
    _expect(fmt in FORMATS, where, f"unknown model format {fmt!r}; one of {', '.join(FORMATS)}")
    _expect(Path(model_name).suffix.lower() in FORMATS[fmt].suffixes, where,
            f"model file {model_name!r} is not a {fmt} file (expected {' or '.join(FORMATS[fmt].suffixes)})")
    _expect(precision in PRECISIONS, where, f"unknown precision {precision!r}; one of {', '.join(PRECISIONS)}")
    _expect(fmt == "tensorrt" or precision != "fp16", where, f"precision fp16 is only written for TensorRT, not {fmt}")
    claimed_independent = meta.get("batch_independent", None)
    _expect(claimed_independent is None or isinstance(claimed_independent, bool), where,
            f"'batch_independent' must be true or false, got {claimed_independent!r}")
    ctr_t = meta.get("ctr_thresholds", None)
    _expect(ctr_t is None or (isinstance(ctr_t, list) and len(ctr_t) == 2
                              and all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in ctr_t)
                              and 0.0 < ctr_t[0] < ctr_t[1] < 1.0), where,
            f"'ctr_thresholds' must be two increasing CTRs in (0, 1), got {ctr_t!r}")
    pre = _preprocess(meta["preprocess"], where)
    inputs = _tensor_specs(meta["inputs"], "inputs", where)
    outputs = _tensor_specs(meta["outputs"], "outputs", where)
    _check_signature(inputs, outputs, pre, where)
    for name in (model_name, tok_name):
        _expect(name in files, where, f"{name!r} is not listed in 'files' (cannot verify it)")
    mixing: dict[str, int] | None = None
    if verify:
        verify_files(root, files)
        if fmt == "onnx":
            mixing = _check_onnx_graph(root, model_name, files, precision, where)
    independent = not mixing and claimed_independent is not False
    if claimed_independent is True and mixing:
        raise BundleError(f"{where}: says batch_independent but {model_name} has batch-mixing nodes {mixing}")
    return Bundle(root, meta, root / model_name, fmt, precision, root / tok_name, pre, inputs, outputs,
                  independent, mixing or None, None if ctr_t is None else (float(ctr_t[0]), float(ctr_t[1])))


def _check_onnx_graph(root: Path, model_name: str, files: dict, precision: str, where: str) -> dict[str, int]:
    """External data listed + precision claim vs operators; returns the batch-mixing node counts."""
    from adfusion_edge.onnx_graph import scan_onnx

    scan = scan_onnx(root / model_name)
    for loc in sorted(scan.external_files):
        _plain_name(loc, f"{root / model_name}: external data")
        _expect(loc in files, where, f"{model_name} loads external data {loc!r}, which 'files' does not list "
                                     f"(it would be loaded unverified)")
    if precision == "int8":
        _expect(scan.quantized, where, f"precision is int8 but {model_name} has no quantized operators")
    else:
        _expect(not scan.quantized, where, f"precision is {precision} but {model_name} has quantized operators "
                                           f"({', '.join(sorted(op for op in scan.op_types if 'Quant' in op or 'QLinear' in op or 'Integer' in op))})")
    return scan.batch_mixing_nodes
