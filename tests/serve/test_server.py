"""Overload answers over HTTP, the TTL cache, the OCR lane and a real ``adfusion-edge serve`` process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
from conftest import PIZZA, ad_jpeg, b64, pretend_cost

from adfusion_edge.report_cache import ReportCache
from adfusion_edge.serve.cache import cache_key


def test_overload_is_answered_at_once_with_its_code(client):
    lane = client.app.state.engine.lanes["text"]
    saved = lane.cost
    lane.cost = pretend_cost(5.0)  # as if each ad took 5 s: once one is running, a 200 ms deadline cannot be met
    items = [{"image": b64(ad_jpeg(i)), "text": f"overload {i}"} for i in range(4)]
    try:
        t0 = time.perf_counter()
        r = client.post("/v1/analyze/batch", json={"items": items, "deadline_ms": 200})
        took = time.perf_counter() - t0
    finally:
        lane.cost = saved
    res = r.json()["results"]
    assert res[0]["ok"]  # the idle lane takes the first one
    assert {x["error"] for x in res[1:]} == {"deadline_unmeetable"} and "after the deadline" in res[1]["message"]
    assert took < 2.0  # answered without waiting for the (pretend) 5 s per ad
    r = client.post("/v1/analyze", json={"image": b64(ad_jpeg(9)), "text": "x", "deadline_ms": 1})
    assert r.status_code in (200, 504)  # idle lane: admitted; a 1 ms deadline may pass before the model runs


def test_ttl_cache_expires_and_evicts():
    now = [0.0]
    c = ReportCache(2, ttl_s=10, clock=lambda: now[0])
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1
    c.put("c", 3)  # evicts b, the least recently used
    assert c.get("b") is None and c.get("c") == 3
    now[0] = 11
    assert c.get("a") is None and len(c) == 1 and c.hits == 2 and c.misses == 2
    assert cache_key(b"img", "t", None) != cache_key(b"img", None, None) != cache_key(b"img", None, "id")
    # An id that contains what a text would look like cannot collide with another id + text.
    assert cache_key(b"img", None, "a\x00text:b\x00<ocr>") != cache_key(b"img", "b\x00<ocr>", "a")


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


def test_server_and_scoring_modules_import_nothing_heavy():
    code = ("import sys, adfusion_edge.serve.app, adfusion_edge.cli.serve, adfusion_edge.score.job, "
            "adfusion_edge.score.stages\n"
            "print([m for m in ('torch', 'transformers', 'onnx', 'adfusion_edge.distill', 'adfusion_edge.export') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
