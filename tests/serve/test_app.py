"""The HTTP API end to end: answers, readiness, cache, metrics, multipart, batch, schema."""

from __future__ import annotations

import json
import logging

import pytest
from conftest import PIZZA, ad_jpeg, b64

from adfusion_edge import Analyzer


def _heads(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in ("timings",)}


def test_analyze_matches_the_library_and_the_published_schema(client):
    jsonschema = pytest.importorskip("jsonschema")
    img = ad_jpeg(1)
    r = client.post("/v1/analyze", json={"image": b64(img), "text": PIZZA, "creative_id": "c-match"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] and body["schema_version"] == 1 and body["creative_id"] == "c-match" and not body["cached"]
    lib = Analyzer(device="cpu", threads=1)
    assert len(body["bundle"]["sha256"]) == 64 and body["bundle"]["precision"] == lib.bundle.precision
    direct = json.loads(lib.run(img, text=PIZZA).to_json())
    assert _heads(body["report"]) == _heads(direct)
    jsonschema.validate(body, client.get("/v1/schema").json())
    # Server-Timing: the app's own time first (load tests read it), then where it went; the parts
    # of a request that went through its lane add up to no more than the whole.
    timing = dict(p.strip().split(";dur=") for p in r.headers["server-timing"].split(","))
    assert list(timing)[:4] == ["app", "queue", "model", "handback"] and "late" in timing
    parts = [float(timing[k]) for k in ("queue", "model", "handback")]
    assert min(parts) >= 0 and sum(parts) <= float(timing["app"]) and float(timing["model"]) > 0


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"alive": True}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["ready"] is True


def test_cache_by_creative_id_and_by_content(client):
    img = ad_jpeg(2)
    before = client.app.state.engine.cache.hits
    first = client.post("/v1/analyze", json={"image": b64(img), "text": "Sale", "creative_id": "c-cache"}).json()
    again = client.post("/v1/analyze", json={"image": b64(img), "text": "Sale", "creative_id": "c-cache"}).json()
    assert not first["cached"] and again["cached"] and again["report"] == first["report"]
    other_text = client.post("/v1/analyze", json={"image": b64(img), "text": "Other", "creative_id": "c-cache"}).json()
    assert not other_text["cached"]
    by_content = client.post("/v1/analyze", json={"image": b64(img), "text": "Sale"}).json()
    by_content2 = client.post("/v1/analyze", json={"image": b64(img), "text": "Sale"}).json()
    assert not by_content["cached"] and by_content2["cached"]
    assert client.app.state.engine.cache.hits == before + 2
    assert "adfusion_cache_hits_total" in client.get("/metrics").text


def test_multipart_upload_gives_the_json_answer(client):
    img = ad_jpeg(3)
    js = client.post("/v1/analyze", json={"image": b64(img), "text": PIZZA}).json()
    mp = client.post("/v1/analyze", files={"image": ("ad.jpg", img, "image/jpeg")},
                     data={"text": PIZZA, "creative_id": "mp-1", "deadline_ms": "500"})
    assert mp.status_code == 200, mp.text
    assert mp.json()["creative_id"] == "mp-1" and _heads(mp.json()["report"]) == _heads(js["report"])


def test_batch_call_answers_every_item_and_a_bad_one_fails_alone(client):
    items = [{"image": b64(ad_jpeg(10 + i)), "text": PIZZA, "creative_id": f"b{i}"} for i in range(3)]
    items.insert(1, {"image": b64(b"not an image"), "creative_id": "bad"})
    items.append(7)
    r = client.post("/v1/analyze/batch", json={"items": items, "deadline_ms": 5000})
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["ok"] for x in res] == [True, False, True, True, False]
    assert res[1]["error"] == "InvalidImageError" and res[1]["creative_id"] == "bad" and res[1]["index"] == 1
    assert res[4]["error"] == "invalid_request" and "items.4" in res[4]["message"]
    assert [x["creative_id"] for x in res[:4]] == ["b0", "bad", "b1", "b2"]


def test_metrics_expose_counts_latency_queue_and_batches(client):
    client.post("/v1/analyze", json={"image": b64(ad_jpeg(4)), "text": PIZZA})
    text = client.get("/metrics").text
    for name in ("adfusion_requests_total", "adfusion_request_latency_seconds_bucket", "adfusion_queue_depth",
                 "adfusion_batch_size_bucket", "adfusion_cache_misses_total", "adfusion_ready 1.0"):
        assert name in text, name
    assert 'adfusion_requests_total{endpoint="/v1/analyze",status="200"}' in text


def test_one_json_log_line_per_request(client, caplog):
    with caplog.at_level(logging.INFO, logger="adfusion_edge.serve"):
        client.post("/v1/analyze", json={"image": b64(ad_jpeg(5)), "text": PIZZA, "creative_id": "logged"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "adfusion_edge.serve"]
    assert len(lines) == 1 and lines[0]["status"] == 200 and lines[0]["creative_id"] == "logged"
    assert lines[0]["lane"] == "text" and lines[0]["latency_ms"] > 0


def test_openapi_documents_both_request_forms(client):
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/v1/analyze"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    assert "429" in spec["paths"]["/v1/analyze"]["post"]["responses"]


def test_a_batch_call_larger_than_the_queue_is_answered_whole():
    from fastapi.testclient import TestClient

    from adfusion_edge.serve import ServeConfig, create_app

    app = create_app(ServeConfig(device="cpu", ocr=False, max_batch=2, max_queue=3, log_sample=0))
    items = [{"image": b64(ad_jpeg(20 + i)), "text": PIZZA} for i in range(12)]
    with TestClient(app) as c:
        assert app.state.engine.wait_loaded(60)
        r = c.post("/v1/analyze/batch", json={"items": items})
    assert r.status_code == 200 and all(x["ok"] for x in r.json()["results"]), r.text
