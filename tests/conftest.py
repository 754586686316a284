"""Shared fixtures. Everything here is real: real tokenizers, real images, real files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

try:
    import torch

    # CI has 2 cores; two spinning OpenMP threads per test process fight pytest-benchmark and
    # subprocess tests for them and run far slower than one. Speed is measured in benchmarks/.
    torch.set_num_threads(1)
except ImportError:  # base install: the runtime tests need no torch
    pass

AD_TEXTS = [
    "Hot pizza 50% OFF today only! Order Now",
    "New smartphone launch. Buy Now for $499.99",
    "Vote for change. Support Us this election",
    "Summer getaway: flights from $99. Book Now",
    "Glow skincare collection - Buy 1 Get 1 Free. Shop Now",
    "Save €20 on your first order. Free shipping",
    "10% cashback on every purchase with our credit card. Sign Up",
    "Learn to code online. Get Started free",
] * 4


@pytest.fixture(scope="session")
def tokenizer_file(tmp_path_factory) -> str:
    """A copy of the committed tiny WordPiece tokenizer (fixtures/tokenizer/README.md: trained once
    from AD_TEXTS, because the trainer is not deterministic between processes)."""
    import shutil

    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    shutil.copyfile(Path(__file__).parent / "fixtures" / "tokenizer" / "tiny_wordpiece.json", path)
    return str(path)


@pytest.fixture
def jpeg_bytes() -> bytes:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=90)
    return buf.getvalue()
