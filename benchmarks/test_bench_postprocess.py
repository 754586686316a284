"""Postprocessing: graph probabilities -> typed per-head results (adfusion_edge.postprocess.decode).

The probabilities are real: the student's FP32 ONNX graph run on the sample ads.
"""

from __future__ import annotations

import pytest
from bench_models import Unavailable
from bench_util import record

KEY = "student"


@pytest.mark.parametrize("batch", [1, 64])
def test_postprocess(benchmark, model_zoo, tokenizer_path: str, sample_ads, batch: int) -> None:
    post = pytest.importorskip("adfusion_edge.postprocess", reason="adfusion_edge/postprocess.py not in this checkout")
    from bench_data import tile

    from adfusion_edge import schema
    from adfusion_edge.tokenizer import AdTokenizer

    try:
        runner = model_zoo.runner(KEY, "ort-fp32")
    except Unavailable as e:
        pytest.skip(f"needs real model outputs: {e}")
    inp = model_zoo.inputs(KEY, batch)
    outputs = dict(zip(schema.output_names(), runner.run(inp), strict=True))
    texts = [a.text for a in tile(sample_ads, batch)]
    tb = AdTokenizer(tokenizer_path, inp["input_ids"].shape[1]).encode(texts)

    def decode_all() -> list:
        return [post.decode(outputs, i, texts[i], tb.offsets[i], tb.special[i]) for i in range(batch)]

    results = benchmark(decode_all)
    assert len(results) == batch
    record(benchmark, batch, suite="postprocess", stage=f"postprocess batch {batch}")
