"""AutoBackend selection, strict mode, provider reporting, ORT backend behaviour (real ORT)."""

import os
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from bundle_fixtures import ad_feeds, fp32_bundle, tiny_artifacts  # noqa: E402, F401 - fixtures

from adfusion_edge import schema  # noqa: E402
from adfusion_edge.bundle import load_bundle  # noqa: E402
from adfusion_edge.errors import BackendUnavailableError, UnknownFormatError  # noqa: E402
from adfusion_edge.runtimes import device as devices  # noqa: E402
from adfusion_edge.runtimes.auto import AutoBackend, backend_for_file  # noqa: E402
from adfusion_edge.runtimes.onnxruntime_backend import OnnxRuntimeBackend  # noqa: E402

HAS_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()


@pytest.fixture(scope="module")
def onnx_file(fp32_bundle):  # noqa: F811
    return load_bundle(fp32_bundle).model_file


def test_cpu_provider_reported(onnx_file, tokenizer_file):
    b = AutoBackend(onnx_file, device="cpu", threads=1)
    assert b.name == "onnxruntime" and b.provider == "CPUExecutionProvider"
    out = b.infer(ad_feeds(tokenizer_file, n=2))
    assert list(out) == list(schema.output_names()) and out["theme"].shape == (2, 12)


@pytest.mark.skipif(HAS_CUDA, reason="checks the fallback on a machine without CUDA")
def test_auto_falls_back_to_cpu_and_says_why(onnx_file):
    b = AutoBackend(onnx_file, device="auto")
    assert b.provider == "CPUExecutionProvider"
    assert any("TensorrtExecutionProvider" in f for f in b.fallbacks)
    assert any("CUDAExecutionProvider" in f for f in b.fallbacks)
    assert b.describe()["fallbacks"] == b.fallbacks


@pytest.mark.skipif(HAS_CUDA, reason="needs a machine without CUDA")
def test_strict_cuda_fails_instead_of_falling_back(onnx_file):
    with pytest.raises(BackendUnavailableError, match="(?s)strict.*CUDAExecutionProvider"):
        AutoBackend(onnx_file, device="cuda", strict=True)
    assert AutoBackend(onnx_file, device="cuda").provider == "CPUExecutionProvider"  # non-strict falls back


@pytest.mark.skipif(not HAS_CUDA, reason="CUDA execution provider not available (onnxruntime-gpu + GPU needed)")
def test_cuda_provider_really_runs(onnx_file):
    b = AutoBackend(onnx_file, device="cuda", strict=True)
    assert b.provider == "CUDAExecutionProvider"


@pytest.mark.skipif(devices.is_jetson(), reason="checks the error on a non-Jetson machine")
def test_jetson_requested_on_non_jetson(onnx_file):
    with pytest.raises(BackendUnavailableError, match="not a Jetson"):
        AutoBackend(onnx_file, device="jetson")


@pytest.mark.skipif(not devices.is_jetson(), reason="not a Jetson board")
def test_jetson_selects_tensorrt(onnx_file):
    assert AutoBackend(onnx_file, device="jetson").provider in ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def test_unknown_device_backend_suffix(onnx_file, tmp_path):
    with pytest.raises(UnknownFormatError, match="auto, cpu, cuda, jetson"):
        AutoBackend(onnx_file, device="tpu")
    with pytest.raises(UnknownFormatError, match="onnxruntime, tensorrt, torchscript"):
        AutoBackend(onnx_file, backend="openvino")
    with pytest.raises(UnknownFormatError, match="no backend for suffix '.bin'"):
        backend_for_file(tmp_path / "model.bin")


def test_backend_override_and_suffix_choice(onnx_file):
    assert backend_for_file("x.onnx") == "onnxruntime" and backend_for_file("x.PLAN") == "tensorrt"
    with pytest.raises(BackendUnavailableError, match="tensorrt cannot run on device 'cpu'"):
        AutoBackend(onnx_file, backend="tensorrt", device="cpu")


def test_corrupt_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(os.urandom(256))
    with pytest.raises(BackendUnavailableError, match="cannot load the model"):
        OnnxRuntimeBackend(bad)
    with pytest.raises(FileNotFoundError):
        OnnxRuntimeBackend(tmp_path / "missing.onnx")


def test_spec_and_threads(onnx_file):
    b = OnnxRuntimeBackend(onnx_file, threads=1)
    assert [i.name for i in b.inputs] == ["image", "input_ids", "attention_mask"]
    assert b.inputs[0].dtype == "uint8" and b.inputs[0].shape == ("batch", 64, 64, 3)
    assert b.session_providers == ("CPUExecutionProvider",)
    with pytest.raises(ValueError):
        OnnxRuntimeBackend(onnx_file, threads=0)


def test_concurrent_infer_is_consistent(onnx_file, tokenizer_file):
    from concurrent.futures import ThreadPoolExecutor

    b = OnnxRuntimeBackend(onnx_file, threads=1)
    feeds = ad_feeds(tokenizer_file, n=3)
    ref = b.infer(feeds)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: b.infer(feeds), range(32)))
    for r in results:
        for k in ref:
            np.testing.assert_array_equal(r[k], ref[k])


def test_strict_auto_skips_what_is_not_installed(onnx_file):
    b = AutoBackend(onnx_file, device="auto", strict=True)
    assert b.provider in ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
    if not HAS_CUDA:
        assert b.provider == "CPUExecutionProvider"
