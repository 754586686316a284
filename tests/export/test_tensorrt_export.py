"""TensorRT: engine build + native backend (skipped without TensorRT / a GPU); the parts that
must behave on every machine (clear errors, the sidecar check) always run."""

import importlib.util
import json

import pytest
from bundle_fixtures import tiny_artifacts  # noqa: F401 - fixture

from adfusion_edge.errors import BackendUnavailableError, BundleError
from adfusion_edge.export.exporter import export_bundle
from adfusion_edge.runtimes.tensorrt_backend import TensorRTBackend, check_sidecar

HAS_TRT = importlib.util.find_spec("tensorrt") is not None
needs_trt = pytest.mark.skipif(not HAS_TRT, reason="tensorrt not installed")

ENV = {"tensorrt_version": "10.3.0", "cuda_version": "12.4", "gpu_name": "Orin", "compute_capability": "8.7"}


def test_sidecar_match_and_each_mismatch_named():
    assert check_sidecar(ENV, ENV) == []
    assert check_sidecar({**ENV, "gpu_name": "Other 8.7 GPU"}, ENV) == []  # same kernels
    problems = check_sidecar({**ENV, "tensorrt_version": "8.6.1", "compute_capability": "9.0",
                              "cuda_version": "11.8"}, ENV)
    assert len(problems) == 3
    assert "TensorRT version: engine built with 8.6.1, this machine has 10.3.0" in problems[0]
    assert "compute capability: engine built for 9.0" in problems[1]
    assert "CUDA major version" in problems[2]


@pytest.mark.skipif(HAS_TRT, reason="checks the error raised where tensorrt is missing")
def test_export_without_tensorrt_says_so(tiny_artifacts, tokenizer_file, tmp_path):  # noqa: F811
    with pytest.raises(BackendUnavailableError, match="tensorrt not installed"):
        export_bundle(tiny_artifacts["model"], "tensorrt", tmp_path / "trt", tokenizer_file, fp16=True)


def test_engine_without_sidecar_is_refused_before_deserializing(tmp_path):
    plan = tmp_path / "model.plan"
    plan.write_bytes(b"not an engine")
    with pytest.raises(BundleError, match="sidecar missing"):
        TensorRTBackend(plan)


@pytest.mark.skipif(HAS_TRT, reason="checks the error raised where tensorrt is missing")
def test_engine_with_sidecar_needs_tensorrt(tmp_path):
    plan = tmp_path / "model.plan"
    plan.write_bytes(b"not an engine")
    (tmp_path / "model.plan.json").write_text(json.dumps(ENV))
    with pytest.raises(BackendUnavailableError, match="tensorrt not installed"):
        TensorRTBackend(plan)


@needs_trt
@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_build_and_run_engine(tiny_artifacts, tokenizer_file, tmp_path, precision):  # noqa: F811
    from adfusion_edge import Analyzer

    res = export_bundle(tiny_artifacts["model"], "tensorrt", tmp_path / precision, tokenizer_file,
                        fp16=precision == "fp16", int8=precision == "int8", calib=tiny_artifacts["corpus"],
                        fallback=True)
    side = json.loads((res.bundle / "model.plan.json").read_text())
    assert {"tensorrt_version", "cuda_version", "gpu_name", "compute_capability", "profiles"} <= set(side)
    import numpy as np
    from bundle_fixtures import ad_png

    report = Analyzer(res.bundle, device="cuda", strict=True).run(ad_png("red", np.random.default_rng(0)),
                                                                  text="Hot pizza 50% OFF today only! Order Now")
    assert report.provider.startswith("tensorrt") and report.theme.label == "food"
