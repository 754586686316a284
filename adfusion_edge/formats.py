"""The one table of model formats, read by export AND by the runtimes.

One row per format: CLI name, file suffixes, the runtime backend that runs it, the export writer
that writes it, the options it accepts, the packages its writer needs and its device needs.
``adfusion-edge export`` dispatches to the row's writer, ``AutoBackend`` picks the row's backend
from a file's suffix. Adding a format is a row here, a writer module (export/<fmt>_writer.py with
``write(job) -> Written``) and a backend module (runtimes/<fmt>_backend.py with
``candidates(...)``); nothing else lists formats.

Torch-free and import-free: writers and backends are named by dotted path and imported only when
used, so the runtime path never loads an exporter.

An unknown format or option raises UnknownFormatError listing the choices: no "did you mean"
guessing, since exporting the wrong precision silently is worse than an error.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from adfusion_edge.errors import UnknownFormatError

# Option name -> one line of help; formats allow a subset.
OPTIONS: dict[str, str] = {
    "int8": "INT8 quantization (ONNX: ORT static QDQ, calibrated; TensorRT: INT8 engine from Q/DQ ONNX)",
    "fp16": "FP16 precision (TensorRT engines)",
    "calib": "calibration corpus: a shard/corpus directory or a folder of images",
    "opset": "ONNX opset version (>= 17)",
    "dynamic_seq": "dynamic token-sequence axis (batch is always dynamic)",
    "fallback": "if the INT8 parity gate fails, fall back to FP16/FP32 instead of failing",
    "max_batch": "largest batch in the TensorRT optimization profile",
    "workspace_gb": "TensorRT builder workspace limit in GiB",
    "dla_core": "Jetson DLA core to build for (TensorRT)",
    "pack_weights": "store large float weights in weights.npz (int8 per channel, else float16: the smallest that passes "
                    "the per-head gate), restored to float32 at load "
                    "(a smaller bundle, the same float graph; ONNX fp32)",
}
DEVICES_ALL = frozenset({"auto", "cpu", "cuda", "jetson"})
DEVICES_GPU = frozenset({"auto", "cuda", "jetson"})


class Written(NamedTuple):
    """What a format's writer produced (the return value of ``write(job)``).

    Attributes:
        model: The model file (its suffix is the row's first suffix).
        precision: Precision actually written (fp32 after an INT8 fallback).
        io: ``{"inputs": [...], "outputs": [...]}`` graph signature for bundle.json.
        extra: Further files the bundle must carry (e.g. a TensorRT engine's sidecar).
    """

    model: Path
    precision: str
    io: dict[str, list[dict]]
    extra: tuple[Path, ...] = ()


@dataclass(frozen=True)
class ModelFormat:
    """One model format.

    Attributes:
        name: CLI name (``--format``) and the bundle's ``model.format``.
        suffixes: File suffixes; the first is what the writer writes, all select this row's backend.
        backend: Runtime backend name (``AutoBackend(backend=...)``).
        backend_module: Module with ``candidates(path, device, threads, precision, dla_core, inputs)``.
        writer: ``module:function`` that writes the file from an export job.
        options: Option names this format accepts (keys of OPTIONS).
        packages: Import names the writer needs.
        devices: Devices the format can run on (``gpu`` formats have no CPU path).
    """

    name: str
    suffixes: tuple[str, ...]
    backend: str
    backend_module: str
    writer: str
    options: frozenset[str]
    packages: tuple[str, ...]
    devices: frozenset[str] = field(default=DEVICES_ALL)

    @property
    def suffix(self) -> str:
        """The suffix the writer writes."""
        return self.suffixes[0]

    @property
    def gpu(self) -> bool:
        """True when the format only runs on an NVIDIA GPU."""
        return "cpu" not in self.devices

    def missing_packages(self) -> list[str]:
        """Required packages that are not importable here (checked without importing them)."""
        return [p for p in self.packages if importlib.util.find_spec(p) is None]

    def load_writer(self) -> Any:
        """The writer function (imports the export package: needs the [export] extra)."""
        module, _, func = self.writer.partition(":")
        return getattr(importlib.import_module(module), func)

    def load_backend_module(self) -> Any:
        """The backend module (light: backends import their heavy runtime lazily)."""
        return importlib.import_module(self.backend_module)

    def validate_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Check option names; options set to None or False count as not given.

        Raises:
            UnknownFormatError: an option this format does not accept, listing the allowed ones.
        """
        given = {k: v for k, v in options.items() if v is not None and v is not False}
        bad = sorted(set(given) - self.options)
        if bad:
            unknown = [b for b in bad if b not in OPTIONS]
            what = "unknown option" if unknown else f"option not supported by format {self.name!r}"
            raise UnknownFormatError(
                f"{what}: {', '.join(bad)}; {self.name} accepts: {', '.join(sorted(self.options)) or 'none'}"
            )
        if given.get("int8") and given.get("fp16") and "fp16" not in self.options:
            raise UnknownFormatError(f"{self.name}: choose one of int8 / fp16")
        return given


FORMATS: dict[str, ModelFormat] = {
    f.name: f
    for f in (
        ModelFormat(
            "onnx", (".onnx",), "onnxruntime", "adfusion_edge.runtimes.onnxruntime_backend",
            "adfusion_edge.export.onnx_writer:write", frozenset({"int8", "calib", "opset", "dynamic_seq", "fallback", "pack_weights"}),
            ("torch", "onnx", "onnxruntime"),
        ),
        ModelFormat(
            "torchscript", (".torchscript", ".pt"), "torchscript", "adfusion_edge.runtimes.torchscript_backend",
            "adfusion_edge.export.torchscript_writer:write", frozenset({"dynamic_seq"}), ("torch",),
        ),
        ModelFormat(
            "tensorrt", (".plan", ".engine"), "tensorrt", "adfusion_edge.runtimes.tensorrt_backend",
            "adfusion_edge.export.tensorrt_writer:write",
            frozenset({"int8", "fp16", "calib", "opset", "dynamic_seq", "fallback", "max_batch", "workspace_gb",
                       "dla_core"}),
            ("torch", "onnx", "onnxruntime", "tensorrt"), devices=DEVICES_GPU,
        ),
    )
}
# Derived, never written by hand: suffix -> format, backend name -> format.
BY_SUFFIX: dict[str, ModelFormat] = {s: f for f in FORMATS.values() for s in f.suffixes}
BY_BACKEND: dict[str, ModelFormat] = {f.backend: f for f in FORMATS.values()}
BACKENDS: tuple[str, ...] = tuple(BY_BACKEND)


def get_format(name: str) -> ModelFormat:
    """The format called ``name`` (case-insensitive).

    Raises:
        UnknownFormatError: listing the formats that exist.
    """
    fmt = FORMATS.get(str(name).lower())
    if fmt is None:
        raise UnknownFormatError(f"unknown export format {name!r}; formats are: {', '.join(FORMATS)}")
    return fmt


def format_for_file(path: str | Path) -> ModelFormat:
    """The format of a model file, by suffix (case-insensitive).

    Raises:
        UnknownFormatError: unknown suffix (lists the known ones).
    """
    suffix = Path(path).suffix.lower()
    if suffix not in BY_SUFFIX:
        raise UnknownFormatError(f"{path}: no backend for suffix {suffix!r}; known: {', '.join(BY_SUFFIX)}")
    return BY_SUFFIX[suffix]


def format_for_backend(backend: str) -> ModelFormat:
    """The format a backend name runs.

    Raises:
        UnknownFormatError: unknown backend (lists the known ones).
    """
    if backend not in BY_BACKEND:
        raise UnknownFormatError(f"unknown backend {backend!r}; backends are: {', '.join(sorted(BACKENDS))}")
    return BY_BACKEND[backend]
