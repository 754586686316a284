"""Model inference per model x backend x batch size, and training-step throughput per model.

Each inference benchmark also records: parameters, size on disk of what the backend loads, and
memory = peak RSS growth while loading the model anew and running its first batch (weights +
runtime arenas + activations, the resident cost of serving it). Training time per epoch is the
measured train-step throughput scaled to ``--bench-epoch-size`` samples.
"""

from __future__ import annotations

import pytest
import sysinfo
from bench_config import batch_sizes, is_quick
from bench_models import BACKENDS, PRECISION, SPEC_BY_KEY, SPECS, Unavailable
from bench_train import make_train_step
from bench_util import peak_rss_delta, record, timed

TRAIN_BATCH, QUICK_TRAIN_BATCH = 32, 8  # the paper's batch size; quick runs use a small one


def _cuda_peak(fn) -> int:
    """Peak bytes torch allocated on the GPU while ``fn`` ran (the GPU's share of memory usage)."""
    import torch

    torch.cuda.reset_peak_memory_stats()
    fn()
    return int(torch.cuda.max_memory_allocated())


def _specs(config: pytest.Config):
    return [s for s in SPECS if s.quick or not is_quick(config)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    specs = _specs(metafunc.config)
    if "backend" in metafunc.fixturenames:
        # CUDA rows only where a GPU exists: the report's GPU section says when there was none.
        backends = BACKENDS + (("pytorch-cuda",) if sysinfo.torch_cuda() else ())
        params = [(s.key, b, n) for s in specs for b in backends for n in batch_sizes(metafunc.config)]
        metafunc.parametrize("model_key,backend,batch", params, ids=[f"{k}-{b}-b{n}" for k, b, n in params])
    elif "model_key" in metafunc.fixturenames:
        metafunc.parametrize("model_key", [s.key for s in specs])


def _runner_or_skip(model_zoo, key: str, backend: str):
    try:
        return model_zoo.runner(key, backend)
    except Unavailable as e:
        pytest.skip(f"{key}/{backend}: {e}")


def test_inference(benchmark, model_zoo, quick: bool, model_key: str, backend: str, batch: int) -> None:
    runner = _runner_or_skip(model_zoo, model_key, backend)
    inp = model_zoo.inputs(model_key, batch)
    _, mem = peak_rss_delta(lambda: runner.fresh(inp))
    extra = {"cuda_alloc_bytes": _cuda_peak(lambda: runner.fresh(inp))} if backend.endswith("cuda") else {}
    out = timed(benchmark, runner.run, inp, budget_s=0.15 if quick else 3.0, min_rounds=3)
    assert out is not None
    spec = SPEC_BY_KEY[model_key]
    record(benchmark, batch, suite="models", kind="inference", model=model_key, label=spec.label,
           paper_row=spec.paper_row, backend=backend, precision=PRECISION[backend], params=runner.params,
           size_bytes=runner.size_bytes, mem_bytes=mem, source=runner.source,
           model_source=model_zoo.sources.get(model_key, ""), model_identity=model_zoo.identity(model_key),
           bundle_sha256=runner.bundle_sha256, **extra)


def test_train_step(benchmark, model_zoo, quick: bool, request, model_key: str) -> None:
    try:
        model = model_zoo.model(model_key)
    except Unavailable as e:
        pytest.skip(f"{model_key}: {e}")
    batch = QUICK_TRAIN_BATCH if quick else TRAIN_BATCH
    step = make_train_step(model, model_zoo.batch(model_key, batch))
    loss = timed(benchmark, step, budget_s=0.5 if quick else 5.0, min_rounds=2 if quick else 3, max_rounds=50)
    assert loss == loss  # not NaN: a diverging step would time a different computation
    epoch = request.config.getoption("--bench-epoch-size")
    info = record(benchmark, batch, suite="models", kind="train_step", model=model_key,
                  label=SPEC_BY_KEY[model_key].label, params=sum(p.numel() for p in model.parameters()),
                  epoch_size=epoch, model_source=model_zoo.sources.get(model_key, ""))
    if info.get("samples_per_s"):
        benchmark.extra_info["epoch_minutes"] = epoch / info["samples_per_s"] / 60.0
