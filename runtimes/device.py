"""Device detection: CUDA through ONNX Runtime's providers, TensorRT, Jetson boards."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DEVICES = ("auto", "cpu", "cuda", "jetson")
_TEGRA_RELEASE = Path("/etc/nv_tegra_release")
_DT_MODEL = Path("/proc/device-tree/model")


def is_jetson() -> bool:
    """True on an NVIDIA Jetson (L4T): /etc/nv_tegra_release or a Jetson device-tree model."""
    if _TEGRA_RELEASE.exists():
        return True
    try:
        return "jetson" in _DT_MODEL.read_bytes().decode("utf-8", "replace").lower()
    except OSError:
        return False


def ort_providers() -> list[str]:
    """Execution providers this onnxruntime build has (not proof that they work: see the backend)."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def has_tensorrt() -> bool:
    """The TensorRT Python package is importable (checked without importing it)."""
    return importlib.util.find_spec("tensorrt") is not None
