"""Write a model bundle directory (format: adfusion_edge/bundle.py, which reads and verifies it).

The bundle is assembled in ``.<name>.partial`` beside the target and renamed into place, so an
interrupted export never leaves a half-written bundle under the final name.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from adfusion_edge import __version__, schema
from adfusion_edge.bundle import BUNDLE_FILE, FORMAT_VERSION, PRECISIONS
from adfusion_edge.errors import BundleError
from adfusion_edge.fileops import sha256_file, swap_in_dir
from adfusion_edge.preprocess import PreprocessConfig

TOKENIZER_NAME = "tokenizer.json"


def tool_versions() -> dict[str, str | None]:
    """Versions of the tools that build a bundle (None when a tool is not installed)."""
    from importlib import metadata

    out: dict[str, str | None] = {"adfusion-edge": __version__, "python": sys.version.split()[0]}
    for dist in ("torch", "onnx", "onnxruntime", "onnxscript", "tokenizers", "numpy", "tensorrt"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def write_bundle(out_dir: str | os.PathLike, model_file: str | os.PathLike, fmt: str, precision: str,
                 tokenizer_file: str | os.PathLike, preprocess: PreprocessConfig,
                 inputs: Sequence[Mapping[str, Any]], outputs: Sequence[Mapping[str, Any]],
                 provenance: Mapping[str, Any] | None = None,
                 extra_files: Sequence[str | os.PathLike] = (), batch_independent: bool | None = None,
                 ctr_thresholds: Sequence[float] | None = None) -> Path:
    """Assemble a bundle directory.

    Args:
        out_dir: Bundle directory to create (an existing bundle there is replaced; any other
            non-empty directory is refused).
        model_file: The model file; copied under its own name.
        fmt: Export format name (onnx / torchscript / tensorrt).
        precision: fp32, fp16 or int8.
        tokenizer_file: tokenizer.json the model was trained with.
        preprocess: The model's preprocessing parameters.
        inputs, outputs: Graph signature, dicts with name / dtype / shape.
        provenance: data, steps, metrics, command, ... (tool versions are added here).
        extra_files: Other files to ship and verify (e.g. a TensorRT sidecar).
        batch_independent: What the INT8 gate measured (None: not measured). Written as false
            when either it or the ONNX graph (batch-mixing operators) says the model mixes the
            ads of a batch; the runtime then runs it one ad at a time.
        ctr_thresholds: The two CTR values the model's ctr buckets were made with (bundle.py).

    Returns:
        The bundle directory.

    Raises:
        BundleError: bad precision, or ``out_dir`` is a non-empty directory that is not a bundle.
    """
    if precision not in PRECISIONS:
        raise BundleError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / BUNDLE_FILE).is_file())):
        raise BundleError(f"{out}: exists and is not a model bundle; refusing to overwrite it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    model_name = Path(model_file).name
    shutil.copyfile(model_file, tmp / model_name)
    shutil.copyfile(tokenizer_file, tmp / TOKENIZER_NAME)
    for f in extra_files:
        shutil.copyfile(f, tmp / Path(f).name)
    files = {f.name: {"sha256": sha256_file(f), "size": f.stat().st_size} for f in sorted(tmp.iterdir())}
    independent = batch_independent is not False
    if fmt == "onnx":
        from adfusion_edge.onnx_graph import scan_onnx

        independent = independent and not scan_onnx(tmp / model_name).batch_mixing_nodes
    meta = {
        "format_version": FORMAT_VERSION,
        "schema": schema.to_dict(),
        "schema_fingerprint": schema.fingerprint(),
        "preprocess": preprocess.to_dict(),
        "tokenizer": TOKENIZER_NAME,
        "model": {"file": model_name, "format": fmt, "precision": precision},
        "inputs": [dict(i) for i in inputs],
        "outputs": [dict(o) for o in outputs],
        "files": files,
        "batch_independent": independent,
        "provenance": {**dict(provenance or {}), "tools": tool_versions()},
    }
    if ctr_thresholds is not None:
        meta["ctr_thresholds"] = [float(t) for t in ctr_thresholds]
    (tmp / BUNDLE_FILE).write_text(json.dumps(meta, indent=2, sort_keys=False, default=str), encoding="utf-8")
    return swap_in_dir(tmp, out)
