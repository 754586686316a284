"""The one table of export formats: suffix, allowed options, required packages, writer, backend.

Writers (export/<fmt>_writer.py) and runtime backends (runtimes/<fmt>_backend.py) mirror each other
by format; this table is the only place that lists them. An unknown format or option raises
UnknownFormatError listing the choices: no "did you mean" guessing, since exporting the wrong
precision silently is worse than an error.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
}


@dataclass(frozen=True)
class ExportFormat:
    """One export format.

    Attributes:
        name: CLI name (``--format``).
        suffix: Model file suffix; AutoBackend picks the backend from it.
        options: Option names this format accepts (keys of OPTIONS).
        packages: Import names the writer needs.
        writer: Module holding ``write(...)`` for this format.
        backend: Runtime backend name that runs the file.
        gpu: True when the format only runs on an NVIDIA GPU.
    """

    name: str
    suffix: str
    options: frozenset[str]
    packages: tuple[str, ...]
    writer: str
    backend: str
    gpu: bool = False

    def missing_packages(self) -> list[str]:
        """Required packages that are not importable here (checked without importing them)."""
        return [p for p in self.packages if importlib.util.find_spec(p) is None]

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
        if given.get("int8") and given.get("fp16") and self.name != "tensorrt":
            raise UnknownFormatError(f"{self.name}: choose one of int8 / fp16")
        return given


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "onnx", ".onnx", frozenset({"int8", "calib", "opset", "dynamic_seq", "fallback"}),
            ("torch", "onnx", "onnxruntime"), "adfusion_edge.export.onnx_writer", "onnxruntime",
        ),
        ExportFormat(
            "torchscript", ".torchscript", frozenset({"dynamic_seq"}),
            ("torch",), "adfusion_edge.export.torchscript_writer", "torchscript",
        ),
        ExportFormat(
            "tensorrt", ".plan",
            frozenset({"int8", "fp16", "calib", "opset", "dynamic_seq", "fallback", "max_batch", "workspace_gb",
                       "dla_core"}),
            ("torch", "onnx", "onnxruntime", "tensorrt"), "adfusion_edge.export.tensorrt_writer", "tensorrt",
            gpu=True,
        ),
    )
}


def get_format(name: str) -> ExportFormat:
    """The format called ``name`` (case-insensitive).

    Raises:
        UnknownFormatError: listing the formats that exist.
    """
    fmt = FORMATS.get(str(name).lower())
    if fmt is None:
        raise UnknownFormatError(f"unknown export format {name!r}; formats are: {', '.join(FORMATS)}")
    return fmt

