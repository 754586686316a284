"""Native TensorRT backend for ``.plan`` engines (GPU, Jetson).

A serialized engine only runs on the TensorRT version and GPU architecture it was built for, and
deserializing a mismatched one gives an opaque error (or a crash). So the JSON sidecar written at
export (``<engine>.json``: TensorRT / CUDA version, GPU name, compute capability, profiles) is
checked *before* deserializing, and the error says exactly what does not match.

tensorrt and cuda-python are imported lazily inside this module's functions.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from adfusion_edge.bundle import TensorSpec
from adfusion_edge.errors import BackendUnavailableError, BundleError
from adfusion_edge.runtimes.base import Backend, NotInstalledError


def sidecar_path(engine: str | os.PathLike) -> Path:
    """``model.plan`` -> ``model.plan.json``."""
    return Path(str(engine) + ".json")


def check_sidecar(sidecar: Mapping[str, Any], env: Mapping[str, Any]) -> list[str]:
    """What prevents an engine described by ``sidecar`` from running in ``env``.

    Args:
        sidecar: The engine's sidecar (tensorrt_version, cuda_version, compute_capability, gpu_name).
        env: The same keys for this machine (see :func:`current_env`).

    Returns:
        Human-readable mismatches; empty when the engine can be deserialized here. A different
        GPU name with the same compute capability is not a mismatch (same kernels).
    """
    problems = []
    if sidecar.get("tensorrt_version") != env.get("tensorrt_version"):
        problems.append(f"TensorRT version: engine built with {sidecar.get('tensorrt_version')}, "
                        f"this machine has {env.get('tensorrt_version')}")
    if str(sidecar.get("compute_capability")) != str(env.get("compute_capability")):
        problems.append(f"GPU compute capability: engine built for {sidecar.get('compute_capability')} "
                        f"({sidecar.get('gpu_name')}), this GPU is {env.get('compute_capability')} ({env.get('gpu_name')})")
    built_cuda, here_cuda = str(sidecar.get("cuda_version", "")), str(env.get("cuda_version", ""))
    if built_cuda.split(".")[0] != here_cuda.split(".")[0]:
        problems.append(f"CUDA major version: engine built with {built_cuda}, this machine has {here_cuda}")
    return problems


def _cudart():
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        try:
            from cuda import cudart  # older cuda-python
        except ImportError:
            raise NotInstalledError("cuda-python not installed (pip install 'adfusion-edge[tensorrt]')") from None
    return cudart


def _check(result: tuple) -> Any:
    err, *rest = result
    if int(err) != 0:
        raise BackendUnavailableError(f"CUDA error {err}")
    return rest[0] if len(rest) == 1 else rest


def current_env(device: int = 0) -> dict[str, Any]:
    """TensorRT version, CUDA runtime version, GPU name and compute capability of this machine.

    Raises:
        BackendUnavailableError: tensorrt / cuda-python missing or no CUDA device.
    """
    try:
        import tensorrt as trt
    except ImportError:
        raise NotInstalledError("tensorrt not installed") from None
    cudart = _cudart()
    version = _check(cudart.cudaRuntimeGetVersion())
    props = _check(cudart.cudaGetDeviceProperties(device))
    name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
    return {"tensorrt_version": trt.__version__, "cuda_version": f"{version // 1000}.{(version % 1000) // 10}",
            "gpu_name": name.strip("\x00"), "compute_capability": f"{props.major}.{props.minor}"}


class TensorRTBackend(Backend):
    """A deserialized TensorRT engine with one execution context (calls are serialized by a lock).

    Args:
        path: ``.plan`` engine; its sidecar ``<path>.json`` must exist.
        dla_core: Jetson DLA core the engine was built for (None = GPU).
    """

    name = "tensorrt"

    def __init__(self, path: str | os.PathLike, dla_core: int | None = None, warmup: int = 2):
        super().__init__(path)
        side = sidecar_path(self.path)
        if not side.is_file():
            raise BundleError(f"{side}: TensorRT sidecar missing (needed to check the engine before loading it)")
        try:
            sidecar = json.loads(side.read_text())
        except ValueError as e:
            raise BundleError(f"{side}: unreadable sidecar: {e}") from None
        env = current_env()
        problems = check_sidecar(sidecar, env)
        if problems:
            raise BackendUnavailableError(f"{self.path}: engine cannot run here: " + "; ".join(problems)
                                          + " (re-export with --format tensorrt on this machine)")
        import tensorrt as trt

        self._trt, self._cudart = trt, _cudart()
        self._logger = trt.Logger(trt.Logger.WARNING)
        runtime = trt.Runtime(self._logger)
        if dla_core is not None:
            runtime.DLA_core = int(dla_core)
        self._engine = runtime.deserialize_cuda_engine(self.path.read_bytes())
        if self._engine is None:
            raise BackendUnavailableError(f"{self.path}: TensorRT could not deserialize the engine")
        self._context = self._engine.create_execution_context()
        self._stream = _check(self._cudart.cudaStreamCreate())
        self._lock = threading.Lock()
        self._buffers: dict[str, tuple[int, int]] = {}  # name -> (device ptr, bytes)
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        is_input = {n: self._engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT for n in names}
        self._dtypes = {n: np.dtype(trt.nptype(self._engine.get_tensor_dtype(n))) for n in names}
        spec = {n: TensorSpec(n, self._dtypes[n].name, tuple(int(d) if d >= 0 else "dynamic"
                                                            for d in self._engine.get_tensor_shape(n)))
                for n in names}
        self.inputs = tuple(spec[n] for n in names if is_input[n])
        self.outputs = tuple(spec[n] for n in names if not is_input[n])
        self.provider = f"tensorrt:{sidecar.get('precision', '?')}" + (f":dla{dla_core}" if dla_core is not None else "")
        self.warmup(runs=max(1, warmup))

    def _buffer(self, name: str, nbytes: int) -> int:
        ptr, size = self._buffers.get(name, (0, 0))
        if size < nbytes:
            if ptr:
                _check(self._cudart.cudaFree(ptr))
            ptr = _check(self._cudart.cudaMalloc(nbytes))
            self._buffers[name] = (ptr, nbytes)
        return ptr

    def infer(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        cudart = self._cudart
        h2d, d2h = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        with self._lock:
            for spec in self.inputs:
                arr = np.ascontiguousarray(feeds[spec.name], dtype=self._dtypes[spec.name])
                self._context.set_input_shape(spec.name, arr.shape)
                ptr = self._buffer(spec.name, arr.nbytes)
                _check(cudart.cudaMemcpyAsync(ptr, arr.ctypes.data, arr.nbytes, h2d, self._stream))
                self._context.set_tensor_address(spec.name, ptr)
            results = {}
            for spec in self.outputs:
                shape = tuple(self._context.get_tensor_shape(spec.name))
                out = np.empty(shape, self._dtypes[spec.name])
                ptr = self._buffer(spec.name, max(out.nbytes, 1))
                self._context.set_tensor_address(spec.name, ptr)
                results[spec.name] = (out, ptr)
            if not self._context.execute_async_v3(self._stream):
                raise BackendUnavailableError(f"{self.path}: TensorRT execution failed")
            for out, ptr in results.values():
                _check(cudart.cudaMemcpyAsync(out.ctypes.data, ptr, out.nbytes, d2h, self._stream))
            _check(cudart.cudaStreamSynchronize(self._stream))
        return {n: out.astype(np.float32, copy=False) for n, (out, _) in results.items()}

    def close(self) -> None:
        for ptr, _ in self._buffers.values():
            self._cudart.cudaFree(ptr)
        self._buffers.clear()


def candidates(path: Path, device: str, threads: int | None, precision: str = "fp32", dla_core: int | None = None,
               inputs: tuple[TensorSpec, ...] = ()) -> list[tuple[str, Callable[[], Backend]]]:
    """Native TensorRT for a ``.plan`` engine (GPU devices only: the format table says so)."""
    return [("tensorrt", lambda: TensorRTBackend(path, dla_core=dla_core))]
