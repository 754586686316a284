"""End to end: Analyzer.run(JPEG bytes) with the text given (RTB fast path) and with OCR.

The bundle is, in order: ``--bench-bundle DIR``; the default bundle shipped in the package; else
one exported here from the registry's student (INT8 ONNX, calibrated on the sample ads, parity
gate with FP32 fallback) -- the same path ``adfusion-edge export`` takes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_config import THREADS
from bench_models import Unavailable
from bench_util import record


@pytest.fixture(scope="module")
def bundle_dir(request, model_zoo, tmp_path_factory, sample_ads, tokenizer_path: str) -> Path:
    given = request.config.getoption("--bench-bundle")
    if given:
        return Path(given)
    analyzer = pytest.importorskip("adfusion_edge.analyzer", reason="adfusion_edge/analyzer.py not in this checkout")
    if (analyzer.DEFAULT_BUNDLE / "bundle.json").is_file():
        return analyzer.DEFAULT_BUNDLE
    exporter = pytest.importorskip("adfusion_edge.export.exporter",
                                   reason="no bundle given and export/exporter.py not in this checkout")
    try:
        model = model_zoo.model("student")
    except Unavailable as e:
        pytest.skip(f"no bundle given and none can be built: {e}")
    calib = tmp_path_factory.mktemp("calib")
    for i, ad in enumerate(sample_ads):  # an image folder with <image>.txt beside: a calibration source
        (calib / f"ad{i}.jpg").write_bytes(ad.jpeg)
        (calib / f"ad{i}.txt").write_text(ad.text)
    out = tmp_path_factory.mktemp("bundle") / "student-int8"
    exporter.export_bundle(model, "onnx", out, tokenizer_path, int8=True, calib=str(calib), fallback=True,
                           measure=False)
    return out


@pytest.mark.parametrize("with_ocr", [False, True], ids=["text-given", "ocr"])
def test_analyzer_run(benchmark, bundle_dir: Path, sample_ads, quick: bool, with_ocr: bool) -> None:
    from adfusion_edge.analyzer import Analyzer

    analyzer = Analyzer(model=bundle_dir, device="cpu", threads=THREADS)
    ad = sample_ads[0]
    text = None if with_ocr else ad.text
    analyzer.run(ad.jpeg, text=text)  # warm-up: OCR engine creation, ORT arenas
    if with_ocr:
        rounds = 1 if quick else 10
        report = benchmark.pedantic(analyzer.run, args=(ad.jpeg,), kwargs={"text": text}, rounds=rounds,
                                    iterations=1)
    else:
        report = benchmark(analyzer.run, ad.jpeg, text=text)
    t = report.timings
    record(benchmark, 1, suite="e2e", stage="Analyzer.run " + ("with OCR" if with_ocr else "with text given"),
           bundle=str(bundle_dir), precision=analyzer.bundle.precision, backend=analyzer.backend_name,
           note=f"{analyzer.bundle.precision} bundle; last call: decode {t.decode_ms:.1f} ms, ocr {t.ocr_ms:.1f} ms, "
                f"tokenize {t.tokenize_ms:.1f} ms, infer {t.infer_ms:.1f} ms, post {t.postprocess_ms:.1f} ms")
    analyzer.close()
