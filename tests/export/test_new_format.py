"""A new format is a table row, a writer and a backend: nothing else in export or the runtimes.

The test adds a format the code base has never heard of ("ortx": an ONNX graph under another
suffix, run by ORT) with a writer module and a backend module written into tmp_path, then runs a
real export, bundle load and Analyzer on it.
"""

import sys
import textwrap

import numpy as np
import pytest
from bundle_fixtures import ad_png, tiny_artifacts  # noqa: F401 - fixtures

from adfusion_edge import formats
from adfusion_edge.bundle import load_bundle
from adfusion_edge.export.exporter import export_bundle

WRITER = '''
import shutil

from adfusion_edge.formats import Written


def write(job):
    onnx = job.onnx()  # the gated FP32 graph
    out = onnx.model.with_suffix(".ortx")
    shutil.copy(onnx.model, out)
    return Written(out, onnx.precision, onnx.io)
'''
BACKEND = '''
from adfusion_edge.runtimes.onnxruntime_backend import OnnxRuntimeBackend


def candidates(path, device, threads, precision="fp32", dla_core=None, inputs=()):
    return [("ortx:cpu", lambda: OnnxRuntimeBackend(path, provider="cpu", threads=threads))]
'''


@pytest.fixture()
def ortx(tmp_path, monkeypatch):
    (tmp_path / "ortx_writer.py").write_text(textwrap.dedent(WRITER))
    (tmp_path / "ortx_backend.py").write_text(textwrap.dedent(BACKEND))
    monkeypatch.syspath_prepend(str(tmp_path))
    row = formats.ModelFormat("ortx", (".ortx",), "ortx-runtime", "ortx_backend", "ortx_writer:write",
                              frozenset({"opset"}), ("torch", "onnx", "onnxruntime"))
    monkeypatch.setitem(formats.FORMATS, row.name, row)
    monkeypatch.setitem(formats.BY_SUFFIX, ".ortx", row)
    monkeypatch.setitem(formats.BY_BACKEND, row.backend, row)
    yield row
    for m in ("ortx_writer", "ortx_backend"):
        sys.modules.pop(m, None)


def test_a_row_a_writer_and_a_backend_make_a_format(ortx, tiny_artifacts, tokenizer_file, tmp_path):  # noqa: F811
    from adfusion_edge import Analyzer

    res = export_bundle(tiny_artifacts["model"], "ortx", tmp_path / "bundle", tokenizer_file)
    b = load_bundle(res.bundle)
    assert b.format == "ortx" and b.model_file.suffix == ".ortx" and res.precision == "fp32"
    assert res.metrics["parity_fp32"] == "ok"
    report = Analyzer(res.bundle, device="cpu").run(ad_png("red", np.random.default_rng(0)),
                                                     text="Hot pizza 50% OFF today only! Order Now")
    assert report.provider == "CPUExecutionProvider"
    assert report.theme.label == "food"
