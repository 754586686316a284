"""OCR: the SDK's engine (adfusion_edge.ocr, shipped settings, model token budget) on a 360 px ad.

OCR is the slowest stage of the no-text path; quick runs measure it once, full runs repeat it.
Real ads, and old vs new settings, are in test_bench_ocr_real.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from bench_data import AD_COPY, render_ad
from bench_util import record
from ocr_compare import MODEL_TOKENS

from adfusion_edge.image_io import decode_image

AD_PX = 360


def test_ocr(benchmark, quick: bool) -> None:
    pytest.importorskip("rapidocr", reason="rapidocr not installed")
    from adfusion_edge.ocr import OcrEngine

    engine = OcrEngine(token_budget=MODEL_TOKENS)
    ad = render_ad(AD_COPY[0], size=AD_PX)
    img = np.asarray(decode_image(ad.jpeg))
    engine.warmup()  # loads the models; quick runs time one call after it
    if not quick:
        engine.read(img)
    rounds = 1 if quick else 10
    result = benchmark.pedantic(engine.read, args=(img,), rounds=rounds, iterations=1)
    found = result.text.replace("\n", " ")
    record(benchmark, 1, suite="ocr", stage=f"OCR {AD_PX}px (shipped settings)", text_expected=ad.text,
           text_found=found, note=f"read {found!r}" + ("" if quick else "; warm (one call before timing)"))
    assert AD_COPY[0].headline.split()[0].lower() in found.lower(), f"OCR read {found!r}, expected {ad.text!r}"
