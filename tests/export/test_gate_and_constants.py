"""The INT8 gate reads every head, multi-label ones included (the face detector's weights move only
``objects``), and large Constant nodes become initializers so the weight packer sees them."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from adfusion_edge import schema
from adfusion_edge.errors import ParityError
from adfusion_edge.export import parity
from adfusion_edge.export.graph_tidy import constants_to_initializers
from adfusion_edge.export.weight_packing import packable
from adfusion_edge.export.weight_precision import damage


def _outputs(n: int = 200, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for h in schema.HEADS:
        out[h.name] = (rng.uniform(0, 1, (n, h.num_labels)) if h.kind == "multi"
                       else rng.dirichlet(np.ones(h.num_labels), n)).astype(np.float32)
    return out


def test_a_flipped_object_fails_the_gate_even_when_every_single_label_head_agrees():
    ref = _outputs()
    got = {k: v.copy() for k, v in ref.items()}
    person = schema.OBJECTS.index("person")
    flipped = np.flatnonzero(ref["objects"][:, person] < 0.5)[:5]  # 5 of 200 ads gain a person: 97.5%
    got["objects"][flipped, person] = 0.9
    with pytest.raises(ParityError) as e:
        parity.check_int8(ref, got)
    assert e.value.result.agreement["objects"] == pytest.approx(195 / 200)
    assert all(e.value.result.agreement[h.name] == 1.0 for h in schema.HEADS if h.name != "objects")
    assert "objects" in e.value.table
    assert damage(ref, got) > 0  # and the precision search sees the change


def test_identical_outputs_pass_with_every_head_in_the_table():
    ref = _outputs()
    res = parity.check_int8(ref, {k: v.copy() for k, v in ref.items()})
    assert set(res.agreement) == {h.name for h in schema.HEADS} and res.ok


def test_large_constants_become_initializers_and_the_graph_answers_the_same(tmp_path):
    big = np.arange(5000, dtype=np.float32).reshape(1, 5000) / 5000
    small = np.full((1, 5000), 2.0, np.float32)[:, :10]
    nodes = [helper.make_node("Constant", [], ["big"], value=numpy_helper.from_array(big)),
             helper.make_node("Constant", [], ["small"], value=numpy_helper.from_array(small)),
             helper.make_node("Mul", ["x", "big"], ["y"]),
             helper.make_node("ReduceSum", ["small"], ["s"], keepdims=0)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 5000])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5000]),
                               helper.make_tensor_value_info("s", TensorProto.FLOAT, [])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = np.random.default_rng(0).normal(size=(1, 5000)).astype(np.float32)
    before = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    assert "big" not in packable(model)[0]
    assert constants_to_initializers(model, 4096) == 1
    onnx.checker.check_model(model)
    assert [n.op_type for n in model.graph.node].count("Constant") == 1  # the small one stays
    assert "big" in packable(model)[0]
    after = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
