"""AutoBackend: pick a backend by model file suffix and a provider by device, with fallbacks.

The suffix -> backend map and each format's device needs come from the format table
(adfusion_edge/formats.py); each backend module's ``candidates()`` orders its providers:

    device="auto"    TensorRT (ORT's TensorRT provider) -> ORT CUDA -> ORT CPU for .onnx;
                     native TensorRT for .plan; torch (cuda, then cpu) for .torchscript
    device="cpu"     CPU only
    device="cuda"    ORT CUDA (or native TensorRT for .plan); falls back to CPU unless strict
    device="jetson"  requires a Jetson board; TensorRT FP16 (INT8 for int8 bundles) with an
                     optional DLA core

``strict=True`` raises BackendUnavailableError (with every reason) instead of falling back. With
device="auto", providers this install does not have at all (no onnxruntime-gpu, no tensorrt) are
skipped even when strict; one that is installed but fails to come up raises.
``AutoBackend.provider`` reports what actually runs; ``fallbacks`` lists what was tried and why
it was skipped. When an explicitly requested device (or, with "auto", an installed provider that
failed to come up) is not what runs, ``fallback`` says so in one line, and the load warns through
``logging`` (logger ``adfusion_edge.runtimes.auto``) and ``warnings`` (DeviceFallbackWarning).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from adfusion_edge.bundle import TensorSpec
from adfusion_edge.errors import BackendUnavailableError, UnknownFormatError
from adfusion_edge.formats import format_for_backend, format_for_file
from adfusion_edge.runtimes import device as devices
from adfusion_edge.runtimes.base import Backend, NotInstalledError

_log = logging.getLogger(__name__)


class DeviceFallbackWarning(UserWarning):
    """The model runs on another device / provider than the one requested (strict=False)."""


def backend_for_file(path: str | os.PathLike) -> str:
    """Backend name for a model file, by suffix (the format table's).

    Raises:
        UnknownFormatError: unknown suffix (lists the known ones).
    """
    return format_for_file(path).backend


def candidates(path: Path, backend: str, device: str, threads: int | None, precision: str = "fp32",
               dla_core: int | None = None, inputs: tuple[TensorSpec, ...] = ()) -> list[tuple[str, Callable[[], Backend]]]:
    """Ordered (label, factory) pairs to try: the backend module's chain, if the format runs on ``device``."""
    fmt = format_for_backend(backend)
    if device not in fmt.devices:
        return []
    return fmt.load_backend_module().candidates(path, device, threads, precision, dla_core, inputs)


class AutoBackend:
    """Load a model file with the best available backend/provider.

    Args:
        path: Model file (.onnx / .plan / .torchscript).
        backend: Override the suffix-based choice (``onnxruntime``, ``tensorrt``, ``torchscript``).
        device: ``auto``, ``cpu``, ``cuda`` or ``jetson``.
        threads: Intra-op threads (None: runtime default).
        strict: Fail instead of falling back to another provider / device.
        precision: The bundle's precision (selects TensorRT FP16/INT8 modes).
        dla_core: Jetson DLA core for TensorRT (None: GPU only).
        inputs: Input specs (TorchScript files do not carry them).

    Raises:
        UnknownFormatError: unknown backend, device or suffix.
        BackendUnavailableError: nothing could run the model (or strict and the first choice
            failed), with the reason of every attempt.
    """

    def __init__(self, path: str | os.PathLike, backend: str | None = None, device: str = "auto",
                 threads: int | None = None, strict: bool = False, precision: str = "fp32",
                 dla_core: int | None = None, inputs: tuple[TensorSpec, ...] = ()):
        path = Path(path)
        if device not in devices.DEVICES:
            raise UnknownFormatError(f"unknown device {device!r}; devices are: {', '.join(devices.DEVICES)}")
        name = format_for_backend(backend).backend if backend is not None else backend_for_file(path)
        if device == "jetson" and not devices.is_jetson():
            raise BackendUnavailableError("device='jetson' but this is not a Jetson board "
                                          "(no /etc/nv_tegra_release, no Jetson device-tree model)")
        if device == "auto" and devices.is_jetson() and dla_core is None:
            device = "jetson"
        self.fallbacks: list[str] = []
        chain = candidates(path, name, device, threads, precision, dla_core, inputs)
        if not chain:
            raise BackendUnavailableError(f"{name} cannot run on device {device!r}")
        self.backend: Backend | None = None
        not_installed: list[bool] = []
        for label, make in chain:
            try:
                self.backend = make()
                break
            except NotInstalledError as e:
                # "auto" skips what this install cannot have; an explicit device must come up.
                self.fallbacks.append(f"{label}: {e}")
                not_installed.append(True)
                if strict and device != "auto":
                    break
            except BackendUnavailableError as e:
                self.fallbacks.append(f"{label}: {e}")
                not_installed.append(False)
                if strict:
                    break
        if self.backend is None or (strict and device != "auto" and self.fallbacks):
            raise BackendUnavailableError(f"no backend could run {path} on device {device!r}"
                                          f"{' (strict: no fallback)' if strict else ''}:\n  "
                                          + "\n  ".join(self.fallbacks))
        self.name = self.backend.name
        self.provider = self.backend.provider
        self.inputs, self.outputs = self.backend.inputs, self.backend.outputs
        self.fallback: str | None = None
        # "auto" skipping what this install lacks is the normal case; anything else is a fallback.
        real = [f for f, absent in zip(self.fallbacks, not_installed, strict=True) if device != "auto" or not absent]
        if real:
            self.fallback = (f"device {device!r} requested, running on {self.provider} instead: "
                             + "; ".join(real))
            _log.warning("%s", self.fallback)
            warnings.warn(self.fallback, DeviceFallbackWarning, stacklevel=3)

    def infer(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """See Backend.infer."""
        return self.backend.infer(feeds)  # type: ignore[union-attr]

    def describe(self) -> dict[str, Any]:
        return {**self.backend.describe(), "fallbacks": list(self.fallbacks)}  # type: ignore[union-attr]

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
