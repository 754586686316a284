"""The compact student: config validation, budget, shapes, masking, rebuild, ONNX/ORT parity."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from model_fixtures import PRE, assert_overfits_one_batch, make_batch, run
from student_fixtures import TINY_STUDENT, randomize_norms, tiny_student

from adfusion_edge import schema
from adfusion_edge.distill.models import registry
from adfusion_edge.distill.models.student import StudentConfig, StudentModel
from adfusion_edge.distill.prune.latency import count_macs, example_inputs
from adfusion_edge.errors import ConfigError
from adfusion_edge.export.onnx_tools import export_onnx_bytes
from adfusion_edge.preprocess import PreprocessConfig


@pytest.fixture(scope="module")
def batch(tokenizer_file):
    return make_batch(tokenizer_file, n=4)


def test_default_student_budget():
    model = registry.create_model("student")
    assert isinstance(model, StudentModel)
    params = model.num_parameters()
    assert 1_000_000 <= params <= 5_000_000, params
    macs, counted = count_macs(model)
    assert counted == params
    assert macs < 100e6, macs  # the latency budget (~1 ms on 2 threads) leaves no room for more


def test_config_lists_every_width_and_roundtrips_json():
    cfg = StudentConfig()
    d = json.loads(json.dumps(cfg.to_dict()))
    assert StudentConfig(**d) == cfg
    assert isinstance(StudentConfig(**d).block_out, tuple)
    assert len(cfg.block_out) == len(cfg.block_hidden) == len(cfg.block_stride) == len(cfg.block_residual)
    assert len(cfg.text_heads) == len(cfg.text_qk_dims) == len(cfg.text_v_dims) == len(cfg.text_ffn) <= 2
    assert cfg.text_dim <= 256


@pytest.mark.parametrize("bad", [
    dict(activation="gelu"),
    dict(block_out=(24, 32)),  # lengths differ
    dict(block_stride=(2, 3, 1, 2, 1, 2)),
    dict(block_residual=(True, False, False, False, False, False)),  # stride 2 block cannot add its input
    dict(text_heads=(5, 3)),  # 96 not divisible by 5
    dict(fusion_qk_dim=0),
    dict(text_ffn=(256, -1)),
    dict(dropout=1.0),
    dict(text_heads=()),
])
def test_config_validation(bad):
    with pytest.raises(ConfigError):
        StudentConfig(**bad)


def test_preprocess_checks():
    with pytest.raises(ConfigError, match="multiple of the CNN stride"):
        StudentModel(StudentConfig(), PreprocessConfig(image_size=100))
    with pytest.raises(ConfigError, match="max_positions"):
        StudentModel(StudentConfig(max_positions=32), PreprocessConfig(max_tokens=64))


def test_default_forward_shapes_and_aux():
    model = registry.create_model("student").eval()
    image, ids, mask = example_inputs(model, batch=3)
    out = model(image, ids, mask)
    for h in schema.HEADS:
        assert out[h.name].shape == (3, h.num_labels)
    assert out[schema.SPAN_OUTPUT].shape == (3, 64, 3)
    assert out[schema.VALUE_OUTPUT].shape == (3,)
    assert out["aux/fused"].shape == (3, model.config.fused_dim)
    assert out["aux/image_emb"].shape == out["aux/text_emb"].shape == (3, model.config.embed_dim)
    assert out["aux/attention_map"].shape == (3, 5, 5)  # 160 px / stride 32


def test_padding_does_not_leak(batch):
    model = randomize_norms(tiny_student())
    ids, mask = batch["input_ids"].clone(), batch["attention_mask"]
    assert (mask == 0).any()
    ref = run(model, batch)
    ids[mask == 0] = 7  # garbage where the mask says padding
    out = model(batch["image"], ids, mask)
    for k in schema.HEAD_NAMES + (schema.VALUE_OUTPUT, "aux/fused", "aux/text_emb"):
        torch.testing.assert_close(out[k], ref[k], atol=1e-5, rtol=1e-5)
    real = mask.bool()
    torch.testing.assert_close(out[schema.SPAN_OUTPUT][real], ref[schema.SPAN_OUTPUT][real], atol=1e-5, rtol=1e-5)
    # ...while a real token does change the prediction.
    ids2 = batch["input_ids"].clone()
    ids2[:, 1] = (ids2[:, 1] + 1) % 300
    assert not torch.allclose(model(batch["image"], ids2, mask)["theme"], ref["theme"])


def test_rebuild_from_describe_is_bit_exact(batch):
    model = randomize_norms(tiny_student())
    d = json.loads(json.dumps(model.describe()))
    again = registry.create_model(d["name"], d["preprocess"], **d["config"]).eval()
    again.load_state_dict(model.state_dict())
    a, b = run(model, batch), run(again, batch)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_trains_one_step(batch):
    from adfusion_edge.distill.train.losses import LossWeights, compute_losses

    model = tiny_student().train()
    loss = compute_losses(run(model, batch), batch, LossWeights())["total"]
    loss.backward()
    assert model.logit_scale.grad is not None  # ITC temperature is learned
    assert model.stem[0].weight.grad.abs().sum() > 0 and model.tok_embed.weight.grad.abs().sum() > 0


def _ort_outputs(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
    sess = ort.InferenceSession(export_onnx_bytes(model), providers=["CPUExecutionProvider"])
    feed = dict(zip(("image", "input_ids", "attention_mask"), (t.numpy() for t in inputs), strict=True))
    return sess.run(None, feed)


def _torch_probs(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> list[np.ndarray]:
    with torch.no_grad():
        raw = model(*inputs)
    multi = {h.name for h in schema.HEADS if h.kind == "multi"}
    outs = [torch.sigmoid(raw[h.name]) if h.name in multi else torch.softmax(raw[h.name], -1) for h in schema.HEADS]
    outs += [torch.softmax(raw[schema.SPAN_OUTPUT], -1), torch.sigmoid(raw[schema.VALUE_OUTPUT])]
    return [o.numpy() for o in outs]


def test_default_student_onnx_matches_torch_with_dynamic_batch():
    model = randomize_norms(registry.create_model("student")).eval()
    for n in (1, 3):  # exported at batch 1: batch 3 exercises the dynamic axis
        inputs = example_inputs(model, batch=n, seed=n)
        got, want = _ort_outputs(model, inputs), _torch_probs(model, inputs)
        assert [g.shape for g in got] == [w.shape for w in want]
        for g, w, name in zip(got, want, schema.output_names(), strict=True):
            np.testing.assert_allclose(g, w, atol=1e-4, err_msg=name)


def test_onnx_graph_uses_plain_ops():
    import onnx

    model = tiny_student()
    graph = onnx.load_from_string(export_onnx_bytes(model)).graph
    ops = {n.op_type for n in graph.node}
    assert {"Conv", "MatMul", "Softmax", "LayerNormalization"} <= ops | {"Gemm"}
    assert not ops & {"Loop", "If", "Scan"}  # no control flow
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8


def test_student_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        StudentConfig().text_dim = 64  # type: ignore[misc]


def test_tiny_fixture_is_valid():
    m = tiny_student()
    assert m.config.to_dict()["block_residual"] == list(TINY_STUDENT["block_residual"])
    assert m.preprocess == PRE


def test_overfits_one_batch(tokenizer_file):
    """Random labels per ad (model_fixtures): only memorising image + text fits them."""
    assert_overfits_one_batch(tiny_student(), tokenizer_file)
