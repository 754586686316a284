"""Peer baseline: standard DistilBERT + ORT transformer optimizer + dynamic INT8 (see bench_peer)."""

from __future__ import annotations

import pytest
from bench_config import batch_sizes
from bench_models import PEER_BACKENDS, PEER_KEY, PEER_PRECISION, Unavailable
from bench_util import peak_rss_delta, record, timed


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "peer_backend" in metafunc.fixturenames:
        params = [(b, n) for b in PEER_BACKENDS for n in batch_sizes(metafunc.config)]
        metafunc.parametrize("peer_backend,batch", params, ids=[f"{b}-b{n}" for b, n in params])


def test_peer_inference(benchmark, model_zoo, quick: bool, peer_backend: str, batch: int) -> None:
    try:
        runner = model_zoo.runner(PEER_KEY, peer_backend)
    except Unavailable as e:
        pytest.skip(f"{PEER_KEY}/{peer_backend}: {e}")
    peer = model_zoo.peer()
    inp = model_zoo.inputs(PEER_KEY, batch)
    _, mem = peak_rss_delta(lambda: runner.fresh(inp))
    timed(benchmark, runner.run, inp, budget_s=0.15 if quick else 3.0, min_rounds=3)
    record(benchmark, batch, suite="peer", kind="inference", model=PEER_KEY,
           label=f"Peer: DistilBERT text-only ({peer.dims['n_layers']}x{peer.dims['dim']})",
           backend=peer_backend, precision=PEER_PRECISION[peer_backend], params=runner.params,
           size_bytes=runner.size_bytes, mem_bytes=mem,
           fused_ops=peer.fused_ops if peer_backend != "ort-fp32" else {})
