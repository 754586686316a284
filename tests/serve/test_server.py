"""Overload answers over HTTP, the TTL cache, the OCR lane and a real ``adfusion-edge serve`` process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
from conftest import PIZZA, ad_jpeg, b64

from adfusion_edge.serve.cache import TTLCache, cache_key


def test_overload_is_answered_at_once_with_its_code(client):
    lane = client.app.state.engine.lanes["text"]
    saved = lane.batch_s
    lane.batch_s = 5.0  # as if the model were this slow: no default (50 ms) deadline can be met
    try:
        t0 = time.perf_counter()
        r = client.post("/v1/analyze", json={"image": b64(ad_jpeg(0)), "text": "overload"})
        took = time.perf_counter() - t0
    finally:
        lane.batch_s = saved
    assert r.status_code == 429 and r.json()["error"] == "deadline_unmeetable" and r.headers["retry-after"] == "1"
    assert took < 1.0  # answered without waiting for the (pretend) 5 s batch
    assert 'status="429"' in client.get("/metrics").text


def test_ttl_cache_expires_and_evicts():
    now = [0.0]
    c = TTLCache(2, ttl_s=10, clock=lambda: now[0])
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1
    c.put("c", 3)  # evicts b, the least recently used
    assert c.get("b") is None and c.get("c") == 3
    now[0] = 11
    assert c.get("a") is None and len(c) == 1 and c.hits == 2 and c.misses == 2
    assert cache_key(b"img", "t", None) != cache_key(b"img", None, None) != cache_key(b"img", None, "id")


@pytest.mark.slow
def test_ocr_lane_reads_the_text_and_warms_up_before_ready():
    from fastapi.testclient import TestClient

    from adfusion_edge.serve import ServeConfig, create_app
    from adfusion_edge.serve.engine import warmup_image

    app = create_app(ServeConfig(device="cpu", ocr=True))
    with TestClient(app) as c:
        assert app.state.engine.wait_loaded(120), app.state.engine.reason
        assert c.get("/readyz").status_code == 200
        r = c.post("/v1/analyze", json={"image": b64(warmup_image())})
        assert r.status_code == 200, r.text
        rep = r.json()["report"]
        assert rep["text_source"] == "ocr" and "SALE" in rep["text"].upper() and rep["ocr_lines"]
        assert 'adfusion_batch_size_count{lane="ocr"}' in c.get("/metrics").text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_adfusion_edge_serve_process_answers_over_loopback():
    import httpx

    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "adfusion_edge", "serve", "--port", str(port), "--no-ocr",
                             "--device", "cpu", "--log-sample", "1"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.2)
        else:
            pytest.fail("server never became ready")
        r = httpx.post(f"{url}/v1/analyze", json={"image": b64(ad_jpeg(0)), "text": PIZZA, "creative_id": "p1"})
        assert r.status_code == 200 and r.json()["report"]["text"] == PIZZA
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert '"creative_id": "p1"' in out and '"status": 200' in out  # the JSON request log line
