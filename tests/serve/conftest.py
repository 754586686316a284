"""Serving tests run the real default bundle (shipped in the package), real ONNX Runtime, and the
real FastAPI app through Starlette's TestClient (and once through a real uvicorn process)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the [serve] extra is not installed")
pytest.importorskip("httpx", reason="httpx (dev extra) is not installed")

PIZZA = "Hot pizza 50% OFF today only! Order Now"


def ad_jpeg(seed: int, size: tuple[int, int] = (96, 128)) -> bytes:
    rng = np.random.default_rng(seed)
    arr = np.zeros((*size, 3), np.uint8) + rng.integers(0, 255, 3, dtype=np.uint8)
    arr[10:40, 20:70] = rng.integers(0, 255, 3, dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="session")
def client():
    from fastapi.testclient import TestClient

    from adfusion_edge.serve import ServeConfig, create_app

    app = create_app(ServeConfig(device="cpu", ocr=False, max_batch=4, log_sample=1.0))
    with TestClient(app) as c:
        assert app.state.engine.wait_loaded(60), app.state.engine.reason
        yield c


def pretend_cost(seconds_per_ad: float):
    """A lane cost model that has seen single ads take ``seconds_per_ad`` (a real batch moves it by a fifth)."""
    from adfusion_edge.serve.batcher import BatchCost

    cost = BatchCost(seconds_per_ad)
    cost.observe(1, seconds_per_ad)
    return cost
