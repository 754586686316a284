"""Device detection: the CPU's name, CUDA through ONNX Runtime's providers, TensorRT, Jetson boards."""

from __future__ import annotations

import importlib.util
import platform
from pathlib import Path

DEVICES = ("auto", "cpu", "cuda", "jetson")
_TEGRA_RELEASE = Path("/etc/nv_tegra_release")
_DT_MODEL = Path("/proc/device-tree/model")


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo``), else what platform reports.

    Lives on the runtime path (no torch) because the benchmarks' system info needs it on a base
    install, and the student report names the CPU with it too.
    """
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
