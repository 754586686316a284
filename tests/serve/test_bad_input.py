"""Every malformed request gets a 4xx JSON error naming what was wrong (never a 500)."""

from __future__ import annotations

import pytest
from conftest import ad_jpeg, b64

GOOD = b64(ad_jpeg(0))


@pytest.mark.parametrize("body, status, error, says", [
    ({}, 422, "invalid_request", "image: Field required"),
    ({"text": "hi"}, 422, "invalid_request", "image"),
    ({"image": "@@not base64@@"}, 400, "invalid_base64", "image"),
    ({"image": b64(b"hello, not an image")}, 422, "InvalidImageError", "not a recognised image"),
    ({"image": GOOD, "txt": "typo"}, 422, "invalid_request", "txt: Extra inputs are not permitted"),
    ({"image": 123}, 422, "invalid_request", "image: Input should be a valid string"),
    ({"image": GOOD, "text": 5}, 422, "invalid_request", "text"),
    ({"image": GOOD, "deadline_ms": "50"}, 422, "invalid_request", "deadline_ms"),
    ({"image": GOOD, "deadline_ms": -1}, 422, "invalid_request", "deadline_ms"),
    ([GOOD], 422, "invalid_request", "body"),
])
def test_bad_json_requests(client, body, status, error, says):
    r = client.post("/v1/analyze", json=body)
    assert r.status_code == status, r.text
    j = r.json()
    assert j["ok"] is False and j["error"] == error and says in j["message"], j


def test_not_json_and_wrong_content_type(client):
    r = client.post("/v1/analyze", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_json"
    r = client.post("/v1/analyze", content=b"abc", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and "multipart/form-data" in r.json()["message"]


def test_bad_multipart_requests(client):
    img = ad_jpeg(0)
    r = client.post("/v1/analyze", data={"text": "no file"}, files={"other": ("a.jpg", img, "image/jpeg")})
    assert r.status_code == 422 and "unknown form fields: other" in r.json()["message"]
    r = client.post("/v1/analyze", files={"image": ("a.jpg", img, "image/jpeg")}, data={"deadline_ms": "soon"})
    assert r.status_code == 422 and "deadline_ms: not a number" in r.json()["message"]
    r = client.post("/v1/analyze", files={"image": ("a.txt", b"plain text", "text/plain")})
    assert r.status_code == 422 and r.json()["error"] == "InvalidImageError"


def test_oversized_bodies_are_refused(client):
    limit = client.app.state.config.max_body_bytes
    r = client.post("/v1/analyze", content=b"x" * (limit + 1), headers={"content-type": "application/json"})
    assert r.status_code == 413 and str(limit) in r.json()["message"]

    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    r = client.post("/v1/analyze", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"


def test_bad_batch_bodies(client):
    assert client.post("/v1/analyze/batch", json={"items": []}).status_code == 422
    r = client.post("/v1/analyze/batch", json={"itemz": [{"image": GOOD}]})
    assert r.status_code == 422 and "itemz" in r.json()["message"]
    r = client.post("/v1/analyze/batch", json={"items": [{"image": GOOD}], "deadline_ms": "x"})
    assert r.status_code == 422 and "deadline_ms" in r.json()["message"]


def test_a_bundle_that_fails_to_load_keeps_readyz_false_with_the_reason(tmp_path):
    from fastapi.testclient import TestClient

    from adfusion_edge.serve import ServeConfig, create_app

    (tmp_path / "bundle.json").write_text("{ truncated")
    app = create_app(ServeConfig(model=str(tmp_path), device="cpu", ocr=False))
    with TestClient(app) as c:
        assert not app.state.engine.wait_loaded(30)
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["ready"] is False and "BundleError" in r.json()["reason"]
        r = c.post("/v1/analyze", json={"image": GOOD, "text": "x"})
        assert r.status_code == 503 and r.json()["error"] == "not_ready" and "BundleError" in r.json()["message"]
        assert c.get("/healthz").status_code == 200
