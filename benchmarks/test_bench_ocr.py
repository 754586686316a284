"""OCR: RapidOCR (the runtime's text reader when no text is given) on a 360 px ad.

OCR is the slowest stage of the no-text path; quick runs measure it once, full runs repeat it.
"""

from __future__ import annotations

import numpy as np
import pytest
from bench_data import AD_COPY, render_ad
from bench_util import record

from adfusion_edge.image_io import decode_image

AD_PX = 360


def test_ocr(benchmark, quick: bool) -> None:
    rapidocr = pytest.importorskip("rapidocr", reason="rapidocr not installed")
    engine = rapidocr.RapidOCR()
    ad = render_ad(AD_COPY[0], size=AD_PX)
    img = np.asarray(decode_image(ad.jpeg))
    if not quick:
        engine(img)  # warm-up: first call allocates ORT arenas; quick runs time that one call
    rounds = 1 if quick else 10
    result = benchmark.pedantic(engine, args=(img,), rounds=rounds, iterations=1)
    found = " ".join(result.txts or ())
    record(benchmark, 1, suite="ocr", stage=f"RapidOCR {AD_PX}px", text_expected=ad.text, text_found=found,
           note=f"read {found!r}" + ("" if quick else "; warm (one call before timing)"))
    assert AD_COPY[0].headline.split()[0].lower() in found.lower(), f"OCR read {found!r}, expected {ad.text!r}"
