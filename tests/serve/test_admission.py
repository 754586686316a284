"""Admission control before the body is read (adfusion_edge/serve/admission.py), on the real app,
the real Analyzer and ONNX Runtime: the model call is only held at a gate so that "the worker is
busy" is a fact, not a timing."""

from __future__ import annotations

import asyncio
import threading

import httpx
from conftest import PIZZA, ad_jpeg, b64

from adfusion_edge.serve import ServeConfig, create_app


def test_past_max_inflight_a_request_is_refused_before_its_body_is_read():
    app = create_app(ServeConfig(device="cpu", ocr=False, max_batch=1, max_wait_us=0, max_inflight=1,
                                 cache_items=0, log_sample=0))
    engine = app.state.engine
    engine.start()  # the lifespan's job; httpx's ASGI transport does not run the lifespan
    assert engine.wait_loaded(60), engine.reason
    real_run_batch = engine.analyzer.run_batch
    entered, gate = threading.Event(), threading.Event()

    def held_run_batch(*args, **kwargs):
        entered.set()
        gate.wait(30)
        return real_run_batch(*args, **kwargs)

    engine.analyzer.run_batch = held_run_batch
    good = {"image": b64(ad_jpeg(0)), "text": PIZZA}
    not_json = b"{this is not JSON"  # read by the app, it is a 400 invalid_json

    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as c:
            first = asyncio.create_task(c.post("/v1/analyze", json=good))
            assert await asyncio.to_thread(entered.wait, 30)  # the one slot is in the model, held
            refused = await c.post("/v1/analyze", content=not_json, headers={"content-type": "application/json"})
            refused_batch = await c.post("/v1/analyze/batch", json={"items": [good]})
            probes = [(await c.get(p)).status_code for p in ("/healthz", "/readyz", "/metrics")]
            still_held = not gate.is_set() and not first.done()
            gate.set()
            served = await first
            # The slot is free again: the same bad body is now read and answered for what it is.
            bad = await c.post("/v1/analyze", content=not_json, headers={"content-type": "application/json"})
            after = await c.post("/v1/analyze", json=good)
            metrics = (await c.get("/metrics")).text
        return refused, refused_batch, probes, still_held, served, bad, after, metrics

    try:
        refused, refused_batch, probes, still_held, served, bad, after, metrics = asyncio.run(main())
    finally:
        gate.set()
        engine.close()
    # Refused while the only slot was provably busy, and with a 503, not the 400 its body deserves:
    # so its body was never read. No wall-clock bound (CI runs on a loaded machine).
    assert still_held
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert refused.json()["error"] == "overloaded" and "max-inflight" in refused.json()["message"]
    assert refused_batch.status_code == 503 and refused_batch.json()["error"] == "overloaded"
    assert probes == [200, 200, 200]  # health, readiness and metrics are never refused
    assert served.status_code == 200 and served.json()["ok"]
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_json"
    assert after.status_code == 200  # every slot given back, also after an error answer
    assert 'adfusion_requests_total{endpoint="/v1/analyze",status="503"} 1.0' in metrics
