"""The trunk latency race exports what the student would run: uint8 image -> pooled Lite0 features."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch

from adfusion_edge.distill.compare.trunk_latency import (
    DEFAULT_BUNDLE,
    PooledTrunk,
    bundle_feed,
    candidate_name,
    export_candidate,
)
from adfusion_edge.distill.models.efficientnet_lite import pretrained_lite


def test_exported_candidate_matches_the_pretrained_trunk(tmp_path):
    path = tmp_path / "t.onnx"
    export_candidate(5, 64, path)
    image = np.random.default_rng(0).integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": image})[0]
    with torch.no_grad():
        want = PooledTrunk(pretrained_lite("efficientnet_lite0", 5))(torch.from_numpy(image)).numpy()
    assert got.shape == (1, 40)
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert candidate_name(None, 128) == "lite0_full_128" and candidate_name(8, 96) == "lite0_b8_96"


def test_bundle_feed_fits_the_default_bundle():
    feed = bundle_feed(DEFAULT_BUNDLE)
    from adfusion_edge.export.onnx_tools import ort_cpu_session

    # the packed weights restored, as the runtime does (a plain session would read weights.npz as raw bytes)
    sess = ort_cpu_session(DEFAULT_BUNDLE / "model.onnx")
    assert {i.name for i in sess.get_inputs()} == set(feed)
    assert sess.run(None, feed)[0].shape[0] == 1
