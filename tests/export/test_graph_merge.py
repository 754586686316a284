"""Sibling Linear merge (export/graph_merge.py): exact, fewer nodes, and only where it is legal."""

from __future__ import annotations

import collections
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from adfusion_edge.export import graph_rules
from adfusion_edge.export.graph_merge import merge_sibling_linears

RNG = np.random.default_rng(0)


def _init(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(RNG.standard_normal(shape).astype(np.float32), name)


def _model(nodes, inits, inputs, outputs) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, feed: dict) -> list[np.ndarray]:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # compare the graphs as written
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, feed)


def _ops(model: onnx.ModelProto) -> collections.Counter:
    return collections.Counter(n.op_type for n in model.graph.node)


def _heads_model() -> onnx.ModelProto:
    """x (B,8) -> three Gemm heads (transB 1 and 0, one without bias) -> Softmax / Sigmoid outputs."""
    nodes = [
        helper.make_node("Gemm", ["x", "w0", "b0"], ["h0"], name="head0", transB=1),
        helper.make_node("Gemm", ["x", "w1"], ["h1"], name="head1", transB=1),
        helper.make_node("Gemm", ["x", "w2", "b2"], ["h2"], name="head2"),
        helper.make_node("Softmax", ["h0"], ["p0"], name="sm0", axis=-1),
        helper.make_node("Softmax", ["h1"], ["p1"], name="sm1", axis=-1),
        helper.make_node("Sigmoid", ["h2"], ["p2"], name="sg2"),
    ]
    inits = [_init("w0", 5, 8), _init("b0", 5), _init("w1", 3, 8), _init("w2", 8, 4), _init("b2", 4)]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])
    outs = [helper.make_tensor_value_info(f"p{i}", TensorProto.FLOAT, ["batch", n]) for i, n in enumerate((5, 3, 4))]
    return _model(nodes, inits, [x], outs)


def test_sibling_gemms_become_one_gemm_and_split_with_identical_outputs() -> None:
    model = _heads_model()
    feed = {"x": RNG.standard_normal((4, 8)).astype(np.float32)}
    before = _run(model, feed)
    merged = onnx.ModelProto()
    merged.CopyFrom(model)
    assert merge_sibling_linears(merged) == 1  # 3 Gemms -> Gemm + Split
    onnx.checker.check_model(merged, full_check=True)
    assert _ops(merged)["Gemm"] == 1 and _ops(merged)["Split"] == 1
    # The members' weights are gone; only the merged ones remain.
    assert {t.name for t in merged.graph.initializer}.isdisjoint({"w0", "w1", "w2", "b0", "b2"})
    for a, b in zip(before, _run(merged, feed), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_merged_heads_are_still_found_as_head_layers() -> None:
    """The INT8 rules keep heads in float; the walk back from each output must cross the Split."""
    model = _heads_model()
    merge_sibling_linears(model)
    assert graph_rules.head_nodes(model) == [model.graph.node[0].name]


def test_sibling_matmuls_over_a_token_stream_merge() -> None:
    """MatMul by constant 2-D weights (a Linear on (B, L, D)): q / k / v of a 3-D text layer."""
    nodes = [helper.make_node("MatMul", ["t", f"w{i}"], [f"m{i}"], name=f"proj{i}") for i in range(3)]
    nodes += [helper.make_node("Add", [f"m{i}", f"b{i}"], [f"y{i}"], name=f"bias{i}") for i in range(3)]
    inits = [_init(f"w{i}", 6, n) for i, n in enumerate((4, 4, 2))] + [_init(f"b{i}", n) for i, n in enumerate((4, 4, 2))]
    t = helper.make_tensor_value_info("t", TensorProto.FLOAT, ["batch", 7, 6])
    outs = [helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, ["batch", 7, n]) for i, n in enumerate((4, 4, 2))]
    model = _model(nodes, inits, [t], outs)
    feed = {"t": RNG.standard_normal((2, 7, 6)).astype(np.float32)}
    before = _run(model, feed)
    assert merge_sibling_linears(model) == 1
    onnx.checker.check_model(model, full_check=True)
    assert _ops(model)["MatMul"] == 1
    for a, b in zip(before, _run(model, feed), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["activation_weight", "transA", "different_inputs", "alpha", "single"])
def test_what_cannot_be_merged_is_left_alone(case: str) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 8])
    w = helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 8])
    inputs, inits = [x], [_init("w0", 4, 8), _init("w1", 4, 8)]
    second = {"transB": 1}
    b_input, a_input = "w1", "x"
    if case == "activation_weight":
        inputs.append(w)
        b_input = "w"  # a runtime tensor: its values are not known at export
    elif case == "transA":
        second = {"transA": 1, "transB": 1}
        inits[1] = _init("w1", 4, 8)
        a_input = "x_t"
    elif case == "different_inputs":
        inputs.append(z)
        a_input = "z"
    elif case == "alpha":
        second = {"transB": 1, "alpha": 0.5}
    nodes = [helper.make_node("Gemm", ["x", "w0"], ["y0"], name="g0", transB=1)]
    if case == "transA":
        nodes.append(helper.make_node("Transpose", ["x"], ["x_t"], name="t"))
    if case != "single":
        nodes.append(helper.make_node("Gemm", [a_input, b_input], ["y1"], name="g1", **second))
    outs = [helper.make_tensor_value_info(n.output[0], TensorProto.FLOAT, None) for n in nodes if n.op_type == "Gemm"]
    model = _model(nodes, inits, inputs, outs)
    before = model.SerializeToString()
    assert merge_sibling_linears(model) == 0
    assert model.SerializeToString() == before


def test_the_student_export_merges_qkv_and_heads_exactly() -> None:
    """On the real student graph: fewer Gemm nodes, outputs equal to PyTorch's."""
    torch = pytest.importorskip("torch")
    from adfusion_edge.distill.models.registry import create_model
    from adfusion_edge.export.onnx_tools import torch_outputs
    from adfusion_edge.export.onnx_writer import export_onnx
    from adfusion_edge.export.wrapper import example_inputs

    torch.manual_seed(0)
    model = create_model("student", preprocess={"image_size": 64, "max_tokens": 16}).eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, Path(tmp) / "m.onnx")
        proto = onnx.load(str(path))
    ops = _ops(proto)
    # 13 heads + CTR value over the fused vector -> one Gemm; q/k/v per text layer, k/v of fusion.
    assert ops["Split"] >= 3
    assert len(graph_rules.head_nodes(proto)) <= 3  # merged heads + the per-token span head
    image, ids, mask = example_inputs(64, 16, batch=3, seed=2)
    feed = {"image": image.numpy(), "input_ids": ids.numpy(), "attention_mask": mask.numpy()}
    ref = torch_outputs(model, feed)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feed), strict=True))
    for name, want in ref.items():
        np.testing.assert_allclose(got[name], want, rtol=1e-4, atol=1e-5, err_msg=name)
