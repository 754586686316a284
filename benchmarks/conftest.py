"""Fixtures for the benchmark suites: real sample ads, a trained tokenizer, models and exports.

Options (also passed by ``adfusion-edge benchmark``):
    --bench-quick               small run: batch sizes {1, 8}, small models only, few rounds
    --bench-epoch-size N        samples per training epoch for the time-per-epoch estimate
    --bench-checkpoint KEY=DIR  measure a checkpoint instead of a registry build (repeatable;
                                without one the pruned student is the registry student run
                                through distill.prune.pruner.prune_student)
    --bench-bundle DIR          bundle for the end-to-end suite

Thread counts are fixed here (torch and ONNX Runtime intra-op = THREADS) and written into the
benchmark JSON's machine_info, so every number in one run shares one setting. Idle worker threads
sleep instead of spinning (OMP_WAIT_POLICY=PASSIVE, ORT allow_spinning=0; override by exporting
OMP_WAIT_POLICY=ACTIVE): on a shared 2-core machine, spinning OpenMP workers made PyTorch eager
batch-1 latency swing from 6 ms to 600 ms with load, which no ratio survives.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # bench_* helpers: benchmarks/ is not a package

import sysinfo  # noqa: E402
from bench_config import DEFAULT_EPOCH_SIZE, THREADS, batch_sizes, is_quick  # noqa: E402
from bench_data import sample_ads as _sample_ads  # noqa: E402
from bench_models import ModelZoo, parse_checkpoints  # noqa: E402


def _set_threads() -> dict[str, int | str]:
    # Must precede torch's import: libgomp reads the policy once, when it initialises.
    policy = os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    threads: dict[str, int | str] = {"torch_intra_op": THREADS, "ort_intra_op": THREADS, "ort_inter_op": 1,
                                     "wait_policy": policy}
    try:
        import torch

        torch.set_num_threads(THREADS)
        threads["torch_intra_op"] = torch.get_num_threads()
    except ImportError:  # base install without torch: only the runtime suites run
        pass
    return threads


THREAD_SETTINGS = _set_threads()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("adfusion-bench")
    group.addoption("--bench-quick", action="store_true", help="quick run: batches 1 and 8, small models")
    group.addoption("--bench-epoch-size", type=int, default=DEFAULT_EPOCH_SIZE,
                    help="samples per epoch for the training-time estimate")
    group.addoption("--bench-checkpoint", action="append", default=[], metavar="KEY=DIR",
                    help="measure this checkpoint for model KEY (e.g. pruned_student=runs/pruned)")
    group.addoption("--bench-bundle", default=None, metavar="DIR",
                    help="bundle for the end-to-end suite (default: the packaged one, else exported here)")


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    # The report describes the machine of the run, so it is stored with the numbers.
    machine_info["adfusion"] = sysinfo.collect(THREAD_SETTINGS)
    machine_info["adfusion_run"] = {
        "quick": is_quick(config),
        "batch_sizes": list(batch_sizes(config)),
        "epoch_size": config.getoption("--bench-epoch-size"),
        # Set by `adfusion-edge benchmark`: the exact command, so the report says how to regenerate it.
        "command": os.environ.get("ADFUSION_BENCH_COMMAND"),
    }


_SKIPPED: list[dict[str, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Kept so REPORT.md can say what was not measured and why (the benchmark JSON lists only runs).
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _SKIPPED.append({"test": report.nodeid, "reason": reason.removeprefix("Skipped: ")})


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: list, output_json: dict) -> None:
    output_json["adfusion_skipped"] = list(_SKIPPED)


@pytest.fixture(scope="session")
def quick(request: pytest.FixtureRequest) -> bool:
    return is_quick(request.config)


@pytest.fixture(scope="session")
def threads() -> int:
    return THREADS


@pytest.fixture(scope="session")
def sample_ads():
    """Eight rendered 320x320 JPEG ads with known text."""
    return _sample_ads(320)


@pytest.fixture(scope="session")
def tokenizer_path(tmp_path_factory: pytest.TempPathFactory, sample_ads) -> str:
    """A WordPiece tokenizer.json trained on the sample ads' text (the project's trainer)."""
    from adfusion_edge.distill.data.tokenizer_train import train_wordpiece

    path = tmp_path_factory.mktemp("tokenizer") / "tokenizer.json"
    # The copy repeated so every word clears min_frequency; vocab stays well under any model's.
    train_wordpiece([a.text for a in sample_ads] * 4, path, vocab_size=2000, min_frequency=1)
    return str(path)


@pytest.fixture(scope="session")
def model_zoo(tmp_path_factory: pytest.TempPathFactory, tokenizer_path: str, sample_ads, request) -> ModelZoo:
    """Models and per-backend runners, built on first use and shared by every model benchmark."""
    pytest.importorskip("torch", reason="model benchmarks need torch (pip install 'adfusion-edge[train]')")
    ckpts = parse_checkpoints(request.config.getoption("--bench-checkpoint"))
    return ModelZoo(tmp_path_factory.mktemp("zoo"), tokenizer_path, sample_ads, THREADS, ckpts,
                    quick=is_quick(request.config))
