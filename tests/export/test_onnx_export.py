"""FP32 ONNX round trip vs PyTorch, per output, for the tiny model and the registered student."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from bundle_fixtures import PRE, ad_feeds, tiny_student
from tiny_model import TinyAdModel, TinyConfig

from adfusion_edge import schema
from adfusion_edge.errors import ConfigError
from adfusion_edge.export import parity
from adfusion_edge.export.onnx_tools import ort_outputs, torch_outputs
from adfusion_edge.export.onnx_writer import export_onnx, graph_io


def _tiny():
    torch.manual_seed(0)
    return TinyAdModel(TinyConfig(), PRE).eval()


MODELS = {"tiny": _tiny, "student": tiny_student}


@pytest.fixture(scope="module", params=sorted(MODELS))
def exported(request, tmp_path_factory):
    model = MODELS[request.param]()
    path = export_onnx(model, tmp_path_factory.mktemp("onnx") / "model.onnx")
    return model, path


def test_signature(exported):
    _, path = exported
    io = graph_io(path)
    assert [i["name"] for i in io["inputs"]] == ["image", "input_ids", "attention_mask"]
    assert [i["dtype"] for i in io["inputs"]] == ["uint8", "int64", "int64"]
    assert io["inputs"][0]["shape"] == ["batch", 64, 64, 3]
    assert io["inputs"][1]["shape"] == ["batch", 16]  # L fixed by default (the student needs it)
    assert [o["name"] for o in io["outputs"]] == list(schema.output_names())  # no aux/ outputs
    assert all(o["shape"][0] == "batch" for o in io["outputs"])
    assert io["outputs"][-2]["shape"] == ["batch", 16, 3] and io["outputs"][-1]["shape"] == ["batch"]
    assert onnx.load(str(path)).opset_import[0].version >= 17


@pytest.mark.parametrize("batch", [1, 3])
def test_matches_pytorch_per_output(exported, tokenizer_file, batch):
    model, path = exported
    feeds = ad_feeds(tokenizer_file, n=batch)
    rows = parity.check_outputs(torch_outputs(model, feeds), ort_outputs(path, feeds), "onnx fp32")
    assert [r.name for r in rows] == list(schema.output_names()) and all(r.ok for r in rows)


def test_outputs_are_probabilities(exported, tokenizer_file):
    _, path = exported
    out = ort_outputs(path, ad_feeds(tokenizer_file, n=2))
    for h in schema.HEADS:
        p = out[h.name]
        assert ((p >= 0) & (p <= 1)).all()
        if h.kind != "multi":
            np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(out[schema.SPAN_OUTPUT].sum(-1), 1.0, atol=1e-5)
    assert ((out[schema.VALUE_OUTPUT] > 0) & (out[schema.VALUE_OUTPUT] < 1)).all()


def test_gate_fails_on_a_wrong_output(exported, tokenizer_file):
    model, path = exported
    feeds = ad_feeds(tokenizer_file, n=2)
    got = ort_outputs(path, feeds)
    got["emotion"] = got["emotion"][:, ::-1].copy()
    with pytest.raises(parity.ParityError) as e:
        parity.check_outputs(torch_outputs(model, feeds), got, "onnx fp32")
    assert "emotion" in e.value.table and "FAIL" in e.value.table


def test_dynamic_sequence_axis_for_models_that_support_it(tmp_path, tokenizer_file):
    model = _tiny()
    path = export_onnx(model, tmp_path / "m.onnx", dynamic_seq=True)
    assert graph_io(path)["inputs"][1]["shape"] == ["batch", "seq"]
    feeds = ad_feeds(tokenizer_file, n=2)
    short = {**feeds, "input_ids": feeds["input_ids"][:, :9], "attention_mask": feeds["attention_mask"][:, :9]}
    parity.check_outputs(torch_outputs(model, short), ort_outputs(path, short), "onnx dynamic seq")


def test_opset_below_17_refused(tmp_path):
    with pytest.raises(ConfigError, match="opset"):
        export_onnx(_tiny(), tmp_path / "m.onnx", opset=16)


def test_checker_passes_and_session_loads(exported):
    _, path = exported
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert sess.get_providers() == ["CPUExecutionProvider"]
