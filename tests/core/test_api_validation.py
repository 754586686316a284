"""Every public parameter of Analyzer / run_batch / the analyze CLI is validated with a clear,
typed error; a device fallback is visible (logging, warnings, report, CLI --strict)."""

import logging
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from bundle_fixtures import ad_png, fp32_bundle, tiny_artifacts  # noqa: E402, F401 - fixtures

from adfusion_edge import Analyzer  # noqa: E402
from adfusion_edge.cli import main  # noqa: E402
from adfusion_edge.errors import (  # noqa: E402
    AdFusionError,
    BackendUnavailableError,
    ConfigError,
    UnknownFormatError,
)
from adfusion_edge.runtimes.auto import DeviceFallbackWarning  # noqa: E402


@pytest.fixture(scope="module")
def analyzer(fp32_bundle):  # noqa: F811
    return Analyzer(fp32_bundle, device="cpu", threads=1, ocr=False)


@pytest.fixture(scope="module")
def red_png():
    return ad_png("red", np.random.default_rng(0))


@pytest.mark.parametrize("kwargs, msg", [
    ({"threads": 0}, "threads must be an integer >= 1"),
    ({"threads": -2}, "threads must be an integer >= 1"),
    ({"threads": 1.5}, "threads must be an integer >= 1"),
    ({"threads": "2"}, "threads must be an integer >= 1"),
    ({"threads": True}, "threads must be an integer >= 1"),
    ({"cache_size": -1}, "cache_size must be an integer >= 0"),
    ({"cache_size": 2.0}, "cache_size must be an integer >= 0"),
    ({"cache_size": None}, "cache_size must be an integer >= 0"),
    ({"device": 5}, "device must be a string"),
    ({"device": None}, "device must be a string"),
    ({"backend": 3}, "backend must be a string"),
    ({"ocr": "yes"}, "ocr must be True or False"),
    ({"strict": 1}, "strict must be True or False"),
    ({"dla_core": -1}, "dla_core must be an integer >= 0"),
    ({"postprocess": {"threshold": 0.5}}, "postprocess must be a PostprocessConfig"),
])
def test_bad_constructor_arguments(fp32_bundle, kwargs, msg):  # noqa: F811
    with pytest.raises(ConfigError, match=msg):
        Analyzer(fp32_bundle, **({"device": "cpu"} | kwargs))


def test_bad_model_argument():
    with pytest.raises(ConfigError, match="model must be a bundle directory"):
        Analyzer(model=123)


def test_device_names_are_case_insensitive_and_unknown_ones_listed(fp32_bundle):  # noqa: F811
    assert Analyzer(fp32_bundle, device=" CPU ", threads=1).provider == "CPUExecutionProvider"
    with pytest.raises(UnknownFormatError, match="devices are: auto, cpu, cuda, jetson"):
        Analyzer(fp32_bundle, device="gpu")
    with pytest.raises(UnknownFormatError, match="backends are"):
        Analyzer(fp32_bundle, device="cpu", backend="tflite")


@pytest.mark.parametrize("call, msg", [
    (lambda a, img: a.run_batch([img] * 3, batch_size=0), "batch_size must be an integer >= 1"),
    (lambda a, img: a.run_batch([img], batch_size=2.5), "batch_size must be an integer >= 1"),
    (lambda a, img: a.run_batch([img], batch_size=True), "batch_size must be an integer >= 1"),
    (lambda a, img: a.run_batch([img] * 3, texts="hot"), "texts must be a list"),
    (lambda a, img: a.run_batch([img], texts=b"h"), "texts must be a list"),
    (lambda a, img: a.run_batch([img], texts=5), "texts must be a list"),
    (lambda a, img: a.run_batch("ad.png"), "images must be a list"),
    (lambda a, img: a.run_batch(Path("ad.png")), "images must be a list"),
    (lambda a, img: a.run_batch(img), "images must be a list"),
    (lambda a, img: a.run_batch(np.zeros((2, 8, 8, 3), np.uint8)), "images must be a list"),
    (lambda a, img: a.run_batch(7), "images must be a list"),
    (lambda a, img: a.run_batch([img] * 2, texts=["a"]), "2 images but 1 texts"),
    (lambda a, img: a.run_batch([img], on_error="ignore"), "on_error must be"),
])
def test_bad_run_batch_arguments(analyzer, red_png, call, msg):
    with pytest.raises(ConfigError, match=msg):
        call(analyzer, red_png)


def test_run_batch_takes_any_iterable(analyzer, red_png):
    out = analyzer.run_batch((img for img in [red_png, red_png]), texts=iter(["a", "b"]))
    assert [r.text for r in out] == ["a", "b"]


def test_no_home_directory_is_fine_on_cpu(fp32_bundle, monkeypatch):  # noqa: F811
    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.delenv("ADFUSION_TRT_CACHE", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert Analyzer(fp32_bundle, threads=1).provider == "CPUExecutionProvider"  # device="auto"


def test_cli_bad_threads_is_a_clean_error(fp32_bundle, tmp_path, capsys):  # noqa: F811
    img = tmp_path / "ad.png"
    img.write_bytes(ad_png("red", np.random.default_rng(0)))
    rc = main(["analyze", "--model", str(fp32_bundle), "--device", "cpu", "--threads", "0", "--text", "x", str(img)])
    err = capsys.readouterr().err
    assert rc == 2 and "threads must be an integer >= 1" in err and "Traceback" not in err


def test_cli_fifo_is_refused_and_later_files_run(fp32_bundle, tmp_path, capsys):  # noqa: F811
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    img = tmp_path / "ad.png"
    img.write_bytes(ad_png("red", np.random.default_rng(0)))
    rc = main(["analyze", "--model", str(fp32_bundle), "--device", "cpu", "--text", "x", "--json", str(fifo), str(img)])
    out, err = capsys.readouterr()
    assert rc == 1 and "pipe.png: error: InvalidImageError" in err and "FIFO" in err
    assert len(out.strip().splitlines()) == 1


def _cuda_works() -> bool:
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


@pytest.mark.skipif(_cuda_works(), reason="this machine has the CUDA provider: nothing falls back")
def test_device_fallback_is_visible(fp32_bundle, red_png, caplog, tmp_path, capsys):  # noqa: F811
    with caplog.at_level(logging.WARNING, logger="adfusion_edge.runtimes.auto"), \
            pytest.warns(DeviceFallbackWarning, match="device 'cuda' requested, running on CPUExecutionProvider"):
        a = Analyzer(fp32_bundle, device="cuda", threads=1, ocr=False)
    assert any("CPUExecutionProvider instead" in r.getMessage() for r in caplog.records)
    r = a.run(red_png, text="x")
    assert r.fallback and "cuda" in r.fallback and r.provider == "CPUExecutionProvider"
    assert r.to_dict()["fallback"] == r.fallback
    with pytest.raises(BackendUnavailableError, match="strict"):
        Analyzer(fp32_bundle, device="cuda", strict=True)
    # auto on a CPU-only install is not a fallback: nothing was asked that did not come up
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeviceFallbackWarning)
        assert Analyzer(fp32_bundle, threads=1).run(red_png, text="x").fallback is None
    img = tmp_path / "ad.png"
    img.write_bytes(red_png)
    base = ["analyze", "--model", str(fp32_bundle), "--device", "cuda", "--text", "x", str(img)]
    assert main(base) == 0 and "running on CPUExecutionProvider instead" in capsys.readouterr().err
    assert main(base + ["--strict"]) == 2


def test_every_error_is_an_adfusion_error():
    for cls in (ConfigError, UnknownFormatError, BackendUnavailableError):
        assert issubclass(cls, AdFusionError)
