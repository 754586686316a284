"""Backend interface: one loaded model that maps a dict of numpy inputs to a dict of numpy outputs.

Backends are created loaded and warmed up (a smoke inference at load proves the provider really
runs), are safe to call from many threads at once, and report which provider actually ran.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import numpy as np

from adfusion_edge import io_contract
from adfusion_edge.bundle import TensorSpec
from adfusion_edge.errors import BackendUnavailableError


class NotInstalledError(BackendUnavailableError):
    """The backend / provider is not part of this install (package or ORT build lacks it).

    ``device="auto"`` skips these silently even when strict; a provider that is installed but
    fails to initialise is a plain BackendUnavailableError.
    """


_DTYPES = {"uint8": np.uint8, "int64": np.int64, "int32": np.int32, "float32": np.float32, "float16": np.float16}


class Backend(ABC):
    """A loaded model.

    Attributes:
        name: Backend name (``onnxruntime``, ``tensorrt``, ``torchscript``).
        path: The model file.
        provider: What actually executes the graph, e.g. ``CPUExecutionProvider``,
            ``CUDAExecutionProvider``, ``TensorrtExecutionProvider``, ``tensorrt:fp16``, ``torch:cpu``.
        inputs, outputs: Graph signature.
    """

    name: ClassVar[str] = ""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"model file not found: {self.path}")
        self.provider = ""
        self.inputs: tuple[TensorSpec, ...] = ()
        self.outputs: tuple[TensorSpec, ...] = ()

    @abstractmethod
    def infer(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the model.

        Args:
            feeds: input name -> array (``image`` uint8 (B,S,S,3), ``input_ids`` and
                ``attention_mask`` int64 (B,L)).

        Returns:
            output name -> array, for every output of the graph.
        """

    def dummy_feeds(self, batch: int = 1) -> dict[str, np.ndarray]:
        """Zero inputs of the graph's shapes (symbolic dims: ``batch``; others from the spec)."""
        feeds = {}
        for spec in self.inputs:
            shape = [batch if not isinstance(d, int) or d <= 0 else d for d in spec.shape]
            if spec.name in io_contract.TOKEN_INPUTS and len(shape) == 2 and not isinstance(spec.shape[1], int):
                shape[1] = 8  # a dynamic token axis: any length works for a smoke run
            arr = np.zeros(shape, _DTYPES.get(spec.dtype, np.float32))
            if spec.name == io_contract.ATTENTION_MASK:
                arr[:, :2] = 1  # [CLS] [SEP]: a fully masked row is not a real input
            feeds[spec.name] = arr
        return feeds

    def warmup(self, runs: int = 2, batch: int = 1) -> None:
        """Run a few dummy inferences (allocations, kernel selection, lazy initialisation)."""
        feeds = self.dummy_feeds(batch)
        for _ in range(runs):
            self.infer(feeds)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; the default does nothing."""

    def describe(self) -> dict[str, str]:
        return {"backend": self.name, "provider": self.provider, "model": str(self.path)}
