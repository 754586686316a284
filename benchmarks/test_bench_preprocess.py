"""Image preprocessing: JPEG bytes -> decoded, validated, resized uint8 model input.

Two source sizes: a 320 px creative (typical banner thumbnail) and a 1080 px one (social-media
post), both to the model's 160 px input; PIL's reducing_gap makes the large case cheap.
"""

from __future__ import annotations

import pytest
from bench_data import AD_COPY, render_ad
from bench_util import record

from adfusion_edge.preprocess import PreprocessConfig, prepare_image

TARGET = PreprocessConfig().image_size


@pytest.mark.parametrize("source_px", [320, 1080])
def test_decode_resize(benchmark, source_px: int) -> None:
    ad = render_ad(AD_COPY[0], size=source_px)
    out = benchmark(prepare_image, ad.jpeg, TARGET)
    assert out.shape == (TARGET, TARGET, 3)
    record(benchmark, 1, suite="preprocess", stage=f"decode+resize {source_px}->{TARGET}",
           jpeg_bytes=len(ad.jpeg))
