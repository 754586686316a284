"""Runtime suite: FP32 vs INT8 inference of the student graph, and Analyzer.run with text given.

Targets (with the trained student, text given, batch 1): preprocess + inference + postprocess
p50 <= 2 ms, p99 <= 5 ms. The student here is the registry's default config with seeded weights:
the same graph and op mix as the trained one, so latency is representative (accuracy is not).

INT8 here is the CPU recipe of export/quantize.py (QuantConfig defaults) applied without the
parity gate: an untrained model's near-uniform outputs say nothing about INT8 accuracy; the gate
is tested in tests/export/test_quantize.py on a trained model.

    python -m pytest benchmarks/test_bench_runtime.py --benchmark-enable -q
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from bench_util import record


@pytest.fixture(scope="module")
def student_bundles(tmp_path_factory, tokenizer_path: str, sample_ads) -> dict[str, Path]:
    torch = pytest.importorskip("torch", reason="building the student needs torch")
    from adfusion_edge.distill.models.registry import create_model
    from adfusion_edge.export.bundle_writer import write_bundle
    from adfusion_edge.export.exporter import export_bundle
    from adfusion_edge.export.onnx_writer import graph_io
    from adfusion_edge.export.quantize import quantize_onnx
    from adfusion_edge.preprocess import PreprocessConfig, prepare_image
    from adfusion_edge.tokenizer import AdTokenizer

    torch.manual_seed(0)
    pre = PreprocessConfig()
    model = create_model("student", pre).eval()
    root = tmp_path_factory.mktemp("runtime-bench")
    fp32 = export_bundle(model, "onnx", root / "fp32", tokenizer_path).bundle
    tok = AdTokenizer(tokenizer_path, pre.max_tokens)
    tb = tok.encode([a.text for a in sample_ads])
    calib = [{"image": np.stack([prepare_image(a.jpeg, pre.image_size) for a in sample_ads]),
              "input_ids": tb.input_ids, "attention_mask": tb.attention_mask}]
    q = quantize_onnx(fp32 / "model.onnx", root / "int8-tmp" / "model.onnx", calib)
    io = graph_io(q.path)
    int8 = write_bundle(root / "int8", q.path, "onnx", "int8", tokenizer_path, pre, io["inputs"], io["outputs"],
                        {"note": "benchmark only: no parity gate (untrained weights)"})
    return {"fp32": fp32, "int8": int8}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_student_inference(benchmark, student_bundles, sample_ads, tokenizer_path, precision, threads):
    from adfusion_edge.bundle import load_bundle
    from adfusion_edge.preprocess import prepare_image
    from adfusion_edge.runtimes.onnxruntime_backend import OnnxRuntimeBackend
    from adfusion_edge.tokenizer import AdTokenizer

    b = load_bundle(student_bundles[precision])
    backend = OnnxRuntimeBackend(b.model_file, threads=threads)
    tb = AdTokenizer(b.tokenizer_file, b.preprocess.max_tokens).encode([sample_ads[0].text])
    feeds = {"image": prepare_image(sample_ads[0].jpeg, b.preprocess.image_size)[None],
             "input_ids": tb.input_ids, "attention_mask": tb.attention_mask}
    benchmark(backend.infer, feeds)
    record(benchmark, 1, suite="runtime", stage=f"student inference {precision}", precision=precision,
           backend=backend.provider, threads=threads)


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_analyzer_run_with_text(benchmark, student_bundles, sample_ads, precision):
    from adfusion_edge.analyzer import Analyzer

    analyzer = Analyzer(student_bundles[precision], device="cpu", threads=1)
    ad = sample_ads[0]
    analyzer.run(ad.jpeg, text=ad.text)
    report = benchmark(analyzer.run, ad.jpeg, text=ad.text)
    t = report.timings
    record(benchmark, 1, suite="runtime", stage=f"Analyzer.run text given {precision}", precision=precision,
           backend=analyzer.provider,
           note=f"decode {t.decode_ms:.2f} tokenize {t.tokenize_ms:.2f} infer {t.infer_ms:.2f} "
                f"post {t.postprocess_ms:.2f} ms")


def test_analyzer_two_caller_threads(benchmark, student_bundles, sample_ads):
    """RTB shape: one Analyzer (1 intra-op thread) shared by 2 request threads; ads/s."""
    from adfusion_edge.analyzer import Analyzer

    analyzer = Analyzer(student_bundles["int8"], device="cpu", threads=1)
    ads = [(a.jpeg, a.text) for a in sample_ads]
    per_thread = 50

    def burst() -> float:
        def work() -> None:
            for i in range(per_thread):
                analyzer.run(ads[i % len(ads)][0], text=ads[i % len(ads)][1])

        t0 = time.perf_counter()
        ts = [threading.Thread(target=work) for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return time.perf_counter() - t0

    burst()
    benchmark.pedantic(burst, rounds=5, iterations=1)
    record(benchmark, 2 * per_thread, suite="runtime", stage="Analyzer.run int8, 2 caller threads",
           precision="int8", backend=analyzer.provider)
