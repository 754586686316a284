"""ONNX Runtime backend: CPU, CUDA and TensorRT execution providers.

ORT silently falls back to the CPU provider when a GPU provider fails to initialise (missing
CUDA libraries, no GPU). So after creating the session we run a smoke inference and read
``session.get_providers()``: the provider reported is the one that really runs, and asking for
a GPU provider that did not come up raises BackendUnavailableError (AutoBackend then falls back
unless strict).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from adfusion_edge import packed_weights
from adfusion_edge.bundle import TensorSpec
from adfusion_edge.errors import BackendUnavailableError, BundleError, ConfigError, UnknownFormatError
from adfusion_edge.onnx_graph import scan_onnx
from adfusion_edge.runtimes.base import Backend, NotInstalledError

CPU, CUDA, TRT = "CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"
PROVIDERS = {"cpu": CPU, "cuda": CUDA, "tensorrt": TRT}

_ORT_TYPES = {"tensor(uint8)": "uint8", "tensor(int64)": "int64", "tensor(int32)": "int32",
              "tensor(float)": "float32", "tensor(float16)": "float16"}


def _spec(arg: Any) -> TensorSpec:
    shape = tuple(d if isinstance(d, int) else str(d) for d in arg.shape)
    return TensorSpec(arg.name, _ORT_TYPES.get(arg.type, arg.type), shape)


class OnnxRuntimeBackend(Backend):
    """An ONNX model in an ORT InferenceSession (thread-safe ``run``).

    Args:
        path: ``.onnx`` file.
        provider: ``cpu``, ``cuda`` or ``tensorrt`` (the latter two keep CPU as ORT's fallback for
            unsupported nodes, but the *first* provider must come up or the load fails).
        threads: intra-op threads; None = ORT's default (one per physical core). RTB servers
            calling from many threads usually want 1 to avoid oversubscription.
        trt_options: Extra TensorRT-provider options (fp16, int8, DLA core, engine cache).
        warmup: Smoke inference runs at load.
        spin: Let idle intra-op worker threads spin (ORT's default: lowest latency on a dedicated
            machine). False makes them sleep: on shared or oversubscribed CPUs spinning workers
            steal the cores other requests need.
    """

    name = "onnxruntime"

    def __init__(self, path: str | os.PathLike, provider: str = "cpu", threads: int | None = None,
                 trt_options: Mapping[str, Any] | None = None, warmup: int = 2, spin: bool = True):
        super().__init__(path)
        import onnxruntime as ort

        if provider not in PROVIDERS:
            raise UnknownFormatError(f"unknown onnxruntime provider {provider!r}; one of {', '.join(PROVIDERS)}")
        wanted = PROVIDERS[provider]
        available = ort.get_available_providers()
        if wanted not in available:
            raise NotInstalledError(
                f"onnxruntime {ort.__version__} has no {wanted} (available: {', '.join(available)}); "
                f"install onnxruntime-gpu for CUDA / TensorRT"
            )
        chain: list[Any] = []
        if wanted == TRT:
            chain.append((TRT, dict(trt_options or {})))
        if wanted in (TRT, CUDA):
            chain.append(CUDA)
        chain.append(CPU)
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.inter_op_num_threads = 1  # the graph is a chain; parallelism comes from intra-op threads
        if threads is not None:
            if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
                raise ConfigError(f"threads must be an integer >= 1, got {threads!r}")
            so.intra_op_num_threads = int(threads)
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        so.log_severity_level = 3  # ORT warnings about fallbacks are reported by us, precisely
        try:
            external = scan_onnx(self.path).external_files
        except BundleError as e:  # not an ONNX protobuf: the same answer as ORT's own refusal
            raise BackendUnavailableError(f"{self.path}: onnxruntime cannot load the model with {wanted}: {e}") from None
        # Packed weights (int8 or fp16 on disk, float32 in the session): adfusion_edge/packed_weights.py.
        self._initializers = packed_weights.add_to_session_options(
            so, packed_weights.session_initializers(self.path, external))
        try:
            self._session = ort.InferenceSession(str(self.path), so, providers=chain)
        except Exception as e:  # ORT raises its own Fail / InvalidGraph / NoSuchFile types
            raise BackendUnavailableError(f"{self.path}: onnxruntime cannot load the model with {wanted}: {e}") from None
        self.inputs = tuple(_spec(i) for i in self._session.get_inputs())
        self.outputs = tuple(_spec(o) for o in self._session.get_outputs())
        self._output_names = [o.name for o in self.outputs]
        self.threads = threads
        try:
            self.warmup(runs=max(1, warmup))  # smoke inference: proves the provider can run the graph
        except Exception as e:
            raise BackendUnavailableError(f"{self.path}: smoke inference failed on {wanted}: {e}") from None
        active = self._session.get_providers()
        if not active or active[0] != wanted:
            raise BackendUnavailableError(
                f"{wanted} was requested but onnxruntime runs {active[0] if active else 'nothing'} "
                f"(the provider failed to initialise; check CUDA/cuDNN/TensorRT libraries)"
            )
        self.provider = wanted

    def infer(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        outs = self._session.run(self._output_names, dict(feeds))
        return dict(zip(self._output_names, outs, strict=True))

    @property
    def session_providers(self) -> Sequence[str]:
        return tuple(self._session.get_providers())


def _trt_cache_dir() -> Path:
    # Not the bundle directory: it may be read-only package data, and extra files there are noise.
    if "ADFUSION_TRT_CACHE" in os.environ:
        return Path(os.environ["ADFUSION_TRT_CACHE"])
    try:
        home = Path.home()
    except (RuntimeError, KeyError):  # no HOME and no passwd entry (containers): only TensorRT cares
        home = Path(tempfile.gettempdir())
    return home / ".cache" / "adfusion-edge" / "trt"


def _factory(path: Path, provider: str, threads: int | None,
             trt: Mapping[str, Any] | None = None) -> Callable[[], Backend]:
    return lambda: OnnxRuntimeBackend(path, provider=provider, threads=threads, trt_options=trt)


def candidates(path: Path, device: str, threads: int | None, precision: str = "fp32", dla_core: int | None = None,
               inputs: tuple[TensorSpec, ...] = ()) -> list[tuple[str, Callable[[], Backend]]]:
    """Ordered (label, factory) pairs AutoBackend tries for an ``.onnx`` file on ``device``.

    auto: ORT's TensorRT provider -> CUDA -> CPU; cuda: CUDA -> CPU; jetson: TensorRT provider
    (FP16, INT8 for int8 bundles, optional DLA core) -> CUDA -> CPU; cpu: CPU.
    """
    trt_opts: dict[str, Any] = {"trt_fp16_enable": precision != "fp32" or device == "jetson",
                                "trt_int8_enable": precision == "int8",
                                "trt_engine_cache_enable": True, "trt_engine_cache_path": str(_trt_cache_dir())}
    if dla_core is not None:
        trt_opts.update(trt_dla_enable=True, trt_dla_core=int(dla_core))
    table = {
        "cpu": [("onnxruntime:cpu", _factory(path, "cpu", threads))],
        "cuda": [("onnxruntime:cuda", _factory(path, "cuda", threads))],
        "jetson": [("onnxruntime:tensorrt", _factory(path, "tensorrt", threads, trt_opts)),
                   ("onnxruntime:cuda", _factory(path, "cuda", threads))],
    }
    table["auto"] = [("onnxruntime:tensorrt", _factory(path, "tensorrt", threads, trt_opts))] + table["cuda"] + table["cpu"]
    chain = table[device]
    return chain + table["cpu"] if device in ("cuda", "jetson") else chain
