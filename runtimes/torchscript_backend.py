"""TorchScript backend, for users who already have torch (the base install does not).

torch is imported here, lazily, never on the default runtime path. ``torch.jit.load`` reads a
TorchScript archive with TorchScript's own restricted loader (no arbitrary Python objects), but
prefer ONNX bundles where torch is not wanted at all.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from adfusion_edge import io_contract, schema
from adfusion_edge.bundle import TensorSpec
from adfusion_edge.errors import BackendUnavailableError
from adfusion_edge.runtimes.base import Backend, NotInstalledError


class TorchScriptBackend(Backend):
    """A traced ExportWrapper (outputs in schema.output_names() order).

    Args:
        path: ``.torchscript`` file.
        device: ``cpu`` or ``cuda``.
        threads: torch intra-op threads (process-wide in torch!); None leaves torch's default.
        inputs: Input specs from the bundle (TorchScript files do not carry names).
    """

    name = "torchscript"

    def __init__(self, path: str | os.PathLike, device: str = "cpu", threads: int | None = None,
                 inputs: tuple[TensorSpec, ...] = (), warmup: int = 2):
        super().__init__(path)
        try:
            import torch
        except ImportError:
            raise NotInstalledError("torch not installed (the torchscript backend needs it; "
                                          "use an ONNX bundle for a torch-free runtime)") from None
        if device == "cuda" and not torch.cuda.is_available():
            raise NotInstalledError("torch has no CUDA device here")
        if threads is not None:
            torch.set_num_threads(int(threads))
        self._torch = torch
        self._device = torch.device(device)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.12 steers to torch.export
                self._module = torch.jit.load(str(self.path), map_location=self._device).eval()
        except Exception as e:
            raise BackendUnavailableError(f"{self.path}: torch cannot load the TorchScript file: {e}") from None
        self.inputs = tuple(inputs)
        self.outputs = tuple(TensorSpec(n, "float32", ()) for n in schema.output_names())
        self.provider = f"torch:{device}"
        if self.inputs:
            self.warmup(runs=max(1, warmup))

    def infer(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        torch = self._torch
        with torch.inference_mode():
            # torch.tensor copies: decoded images are read-only numpy views, which from_numpy warns about.
            args = [torch.tensor(feeds[n], device=self._device)
                    for n in io_contract.INPUT_NAMES]
            outs = self._module(*args)
        return {n: o.detach().cpu().numpy() for n, o in zip(schema.output_names(), outs, strict=True)}


def candidates(path: Path, device: str, threads: int | None, precision: str = "fp32", dla_core: int | None = None,
               inputs: tuple[TensorSpec, ...] = ()) -> list[tuple[str, Callable[[], Backend]]]:
    """torch on CUDA then CPU (auto / cuda / jetson), or CPU only."""
    def on(dev: str) -> Callable[[], Backend]:
        return lambda: TorchScriptBackend(path, device=dev, threads=threads, inputs=inputs)

    if device == "cpu":
        return [("torchscript:cpu", on("cpu"))]
    return [("torchscript:cuda", on("cuda")), ("torchscript:cpu", on("cpu"))]
