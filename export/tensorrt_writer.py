"""TensorRT engine (``.plan``) built from the exported ONNX file with the TensorRT Python API.

* FP16: builder flag FP16 (layers TensorRT judges unsafe stay FP32).
* INT8: explicit quantization from a Q/DQ ONNX model (export/quantize.py with TENSORRT_QUANT:
  symmetric int8 activations and weights, as TensorRT requires), or, with ``calibrator=True``,
  implicit quantization through an IInt8EntropyCalibrator2 fed by our calibration batches
  (deprecated by TensorRT 10 but still the only option on older JetPacks).
* One optimization profile: batch 1 / opt / max (and the token axis when it is dynamic).
* Written as the plain serialized engine + ``<engine>.json`` sidecar (TensorRT and CUDA version,
  GPU name + compute capability, profiles, precision) which the runtime checks before it
  deserializes (runtimes/tensorrt_backend.py; the sidecar format lives there, next to its check).

tensorrt is imported lazily; without it every entry point raises
BackendUnavailableError("tensorrt not installed").
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from adfusion_edge import io_contract
from adfusion_edge.errors import BackendUnavailableError, ConfigError
from adfusion_edge.export.quantize import QuantConfig
from adfusion_edge.formats import Written

# Q/DQ settings TensorRT's explicit quantization accepts: symmetric int8 everywhere, QDQ format,
# all compute ops static (TensorRT fuses Q/DQ into its int8 kernels; no dynamic quantization ops).
TENSORRT_QUANT = QuantConfig(static_ops=("Conv", "Gemm", "MatMul"), dynamic_ops=(), quant_format="qdq",
                             activation_type="int8", weight_type="int8", per_channel=True,
                             symmetric_activations=True, gemm_as_matmul=False)


def _trt():
    try:
        import tensorrt as trt
    except ImportError:
        raise BackendUnavailableError("tensorrt not installed") from None
    return trt


def _profile_shapes(inputs: Sequence[dict[str, Any]], max_batch: int, opt_batch: int, seq: int,
                    dynamic_seq: bool) -> dict[str, tuple[tuple[int, ...], ...]]:
    shapes = {}
    for spec in inputs:
        dims = list(spec["shape"])
        def at(b: int, L: int, dims=dims) -> tuple[int, ...]:
            return tuple(b if i == 0 else (L if isinstance(d, str) else int(d)) for i, d in enumerate(dims))
        lo_seq = 2 if dynamic_seq else seq
        shapes[spec["name"]] = (at(1, lo_seq), at(opt_batch, seq), at(max_batch, seq))
    return shapes


def _calibrator(trt, batches: Sequence[dict[str, np.ndarray]], cache: Path):
    from adfusion_edge.runtimes.tensorrt_backend import _check, _cudart

    cudart = _cudart()

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            super().__init__()
            self._it = iter(batches)
            self._ptrs: dict[str, int] = {}

        def get_batch_size(self) -> int:
            return int(next(iter(batches[0].values())).shape[0])

        def get_batch(self, names):  # noqa: ANN001 - TensorRT's signature
            b = next(self._it, None)
            if b is None:
                return None
            out = []
            for n in names:
                arr = np.ascontiguousarray(b[n])
                if n not in self._ptrs:
                    self._ptrs[n] = _check(cudart.cudaMalloc(arr.nbytes))
                _check(cudart.cudaMemcpy(self._ptrs[n], arr.ctypes.data, arr.nbytes,
                                         cudart.cudaMemcpyKind.cudaMemcpyHostToDevice))
                out.append(self._ptrs[n])
            return out

        def read_calibration_cache(self):
            return cache.read_bytes() if cache.is_file() else None

        def write_calibration_cache(self, data) -> None:  # noqa: ANN001
            cache.write_bytes(bytes(data))

    return EntropyCalibrator()


def build_engine(onnx_path: str | os.PathLike, plan_path: str | os.PathLike, inputs: Sequence[dict[str, Any]],
                 precision: str = "fp16", max_batch: int = 16, opt_batch: int = 1, dynamic_seq: bool = False,
                 workspace_gb: float = 2.0, dla_core: int | None = None,
                 calibration: Sequence[dict[str, np.ndarray]] | None = None) -> Path:
    """Build and save a TensorRT engine plus its JSON sidecar.

    Args:
        onnx_path: FP32 ONNX (fp32/fp16) or a TENSORRT_QUANT Q/DQ ONNX (int8 explicit).
        plan_path: Output ``.plan``; the sidecar is ``<plan_path>.json``.
        inputs: Graph input specs (name, dtype, shape with symbolic dims as strings).
        precision: ``fp32``, ``fp16`` or ``int8``.
        max_batch, opt_batch: Optimization-profile batch sizes.
        dynamic_seq: Whether the token axis is dynamic in the ONNX graph.
        workspace_gb: Builder workspace limit.
        dla_core: Build for a Jetson DLA core (GPU fallback allowed).
        calibration: Batches for an IInt8EntropyCalibrator2 (int8 from an FP32 ONNX); None for
            explicit Q/DQ models.

    Raises:
        BackendUnavailableError: tensorrt not installed / no GPU.
        ConfigError: the ONNX parser or the builder failed (their messages included).
    """
    trt = _trt()
    from adfusion_edge.runtimes.tensorrt_backend import current_env, sidecar_path

    env = current_env()
    if precision not in ("fp32", "fp16", "int8"):
        raise ConfigError(f"precision must be fp32, fp16 or int8, got {precision!r}")
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ConfigError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
        if calibration:
            config.int8_calibrator = _calibrator(trt, calibration, Path(str(plan_path) + ".calib"))
    ids_len = next(s["shape"][1] for s in inputs if s["name"] == io_contract.INPUT_IDS)
    # A fixed token axis is its own length; a dynamic one is profiled up to 64 (PreprocessConfig default).
    seq = 64 if isinstance(ids_len, str) else int(ids_len)
    shapes = _profile_shapes(inputs, max_batch, opt_batch, seq, dynamic_seq)
    profile = builder.create_optimization_profile()
    for name, (lo, opt, hi) in shapes.items():
        profile.set_shape(name, lo, opt, hi)
    config.add_optimization_profile(profile)
    if dla_core is not None:
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = int(dla_core)
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
    engine = builder.build_serialized_network(network, config)
    if engine is None:
        raise ConfigError(f"TensorRT failed to build an engine from {onnx_path} (see the log above)")
    plan_path = Path(plan_path)
    plan_path.write_bytes(bytes(engine))
    sidecar = {**env, "precision": precision, "dla_core": dla_core,
               "profiles": [{n: {"min": lo, "opt": opt, "max": hi} for n, (lo, opt, hi) in shapes.items()}]}
    sidecar_path(plan_path).write_text(json.dumps(sidecar, indent=2))
    return plan_path


def write(job: Any) -> Written:
    """The format table's writer for ``tensorrt``: an engine built from the job's (INT8) ONNX graph.

    INT8 when the ONNX step shipped INT8; else FP16 with ``fp16`` or ``fallback``, else FP32.

    Args:
        job: An export.job.ExportJob.
    """
    onnx = job.onnx()
    precision = onnx.precision if onnx.precision == "int8" else (
        "fp16" if job.option("fp16") or job.option("fallback") else "fp32")
    job.say(f"building TensorRT engine ({precision})")
    trt_options = {k: job.option(k) for k in ("max_batch", "workspace_gb", "dla_core") if job.option(k) is not None}
    plan = build_engine(onnx.model, job.tmpdir / "model.plan", onnx.io["inputs"], precision,
                        dynamic_seq=bool(job.option("dynamic_seq", False)), **trt_options)
    return Written(plan, precision, onnx.io, (Path(str(plan) + ".json"),))
