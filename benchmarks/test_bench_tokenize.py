"""Tokenization: AdTokenizer (the runtime's WordPiece wrapper) on ad text, batch 1 and 64."""

from __future__ import annotations

import pytest
from bench_data import tile
from bench_util import record

from adfusion_edge.preprocess import PreprocessConfig
from adfusion_edge.tokenizer import AdTokenizer


@pytest.mark.parametrize("batch", [1, 64])
def test_tokenize(benchmark, tokenizer_path: str, sample_ads, batch: int) -> None:
    tok = AdTokenizer(tokenizer_path, PreprocessConfig().max_tokens)
    texts = [a.text for a in tile(sample_ads, batch)]
    out = benchmark(tok.encode, texts)
    assert out.input_ids.shape == (batch, tok.max_tokens)
    record(benchmark, batch, suite="tokenize", stage=f"tokenize batch {batch}")
