"""TorchScript: trace vs eager per output, bundle, backend and Analyzer on it."""

import pytest
import torch
from bundle_fixtures import PRE, ad_feeds, tiny_artifacts, tiny_student  # noqa: F401 - fixtures
from tiny_model import TinyAdModel, TinyConfig

from adfusion_edge import schema
from adfusion_edge.bundle import load_bundle
from adfusion_edge.export import parity
from adfusion_edge.export.exporter import export_bundle
from adfusion_edge.export.onnx_tools import torch_outputs
from adfusion_edge.export.torchscript_writer import export_torchscript
from adfusion_edge.runtimes.torchscript_backend import TorchScriptBackend


@pytest.mark.parametrize("make", [lambda: TinyAdModel(TinyConfig(), PRE).eval(), tiny_student], ids=["tiny", "student"])
def test_trace_matches_eager(make, tmp_path, tokenizer_file):
    torch.manual_seed(0)
    model = make()
    path = export_torchscript(model, tmp_path / "m.torchscript")
    backend = TorchScriptBackend(path)
    feeds = ad_feeds(tokenizer_file, n=3)
    got = backend.infer(feeds)
    assert list(got) == list(schema.output_names())
    parity.check_outputs(torch_outputs(model, feeds), got, "torchscript")
    assert backend.provider == "torch:cpu"


def test_torchscript_bundle_runs_in_analyzer(tiny_artifacts, tokenizer_file, tmp_path):  # noqa: F811
    from adfusion_edge import Analyzer

    res = export_bundle(tiny_artifacts["model"], "torchscript", tmp_path / "ts", tokenizer_file)
    b = load_bundle(res.bundle)
    assert b.format == "torchscript" and b.model_file.suffix == ".torchscript"
    report = Analyzer(res.bundle, device="cpu").run(ad_png_bytes(), text="Hot pizza 50% OFF today only! Order Now")
    assert report.backend == "torchscript" and report.provider == "torch:cpu"
    assert report.theme.label == "food"


def ad_png_bytes() -> bytes:
    import numpy as np
    from bundle_fixtures import ad_png

    return ad_png("red", np.random.default_rng(0))
