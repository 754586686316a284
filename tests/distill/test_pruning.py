"""Structured pruning: consistent heads/widths, exact rebuild + reload, lossless dead-head removal."""

from __future__ import annotations

import copy

import numpy as np
import onnxruntime as ort
import pytest
import torch
from model_fixtures import make_batch, run
from student_fixtures import randomize_norms, tiny_student

from adfusion_edge import schema
from adfusion_edge.distill.models.checkpoint import load_model, save_model
from adfusion_edge.distill.models.student_blocks import Attention
from adfusion_edge.distill.prune.latency import (
    OrtTimer,
    compare_latency,
    count_macs,
    ort_latency,
)
from adfusion_edge.distill.prune.pruner import (
    PruneConfig,
    PruneTarget,
    PruningError,
    prune_step,
    prune_student,
    rebuild_verified,
)
from adfusion_edge.errors import ConfigError
from adfusion_edge.export.onnx_tools import export_onnx_bytes


@pytest.fixture(scope="module")
def batch(tokenizer_file):
    return make_batch(tokenizer_file, n=3)


@pytest.fixture(scope="module")
def student():
    return randomize_norms(tiny_student(seed=0))


@pytest.fixture(scope="module")
def pruned(student):
    """One step to 60% of every width (heads 2 -> 1)."""
    return prune_step(student, 0.6, student, PruneConfig(PruneTarget("params", 0.5)))


def _attention_shapes_consistent(model):
    for a in (m for m in model.modules() if isinstance(m, Attention)):
        assert a.q.out_features == a.k.out_features == a.heads * a.qk_head
        assert a.v.out_features == a.o.in_features == a.heads * a.v_head
        assert a.q.in_features == a.o.out_features


def test_prune_step_shrinks_and_writes_config(student, pruned):
    c0, c = student.config, pruned.config
    assert pruned is not student and student.config == c0  # the input model is untouched
    assert c.text_heads == (1, 1) and c.fusion_heads == 1
    assert c.text_dim == 16 and c.stem_channels == 8  # 32 * 0.6 -> 16, 16 * 0.6 -> 8 (nearest multiples of 8)
    assert all(w % 8 == 0 for w in (*c.block_out, *c.block_hidden, *c.text_ffn, c.fusion_ffn) if w)
    assert c.block_residual == c0.block_residual and c.block_stride == c0.block_stride
    # Contract widths never move: heads, ITC embeddings, aux/fused.
    assert (c.embed_dim, c.fused_dim) == (c0.embed_dim, c0.fused_dim)
    assert pruned.num_parameters() < 0.7 * student.num_parameters()
    assert count_macs(pruned)[0] < count_macs(student)[0]
    # The residual block still adds its input: coupled channels were pruned together.
    assert pruned.blocks[1].residual and pruned.config.block_out[0] == pruned.config.block_out[1]
    _attention_shapes_consistent(pruned)


def test_pruned_keeps_output_shapes(batch, student, pruned):
    a, b = run(student, batch), run(pruned, batch)
    for k in schema.output_names() + ("aux/fused", "aux/image_emb", "aux/text_emb"):
        assert a[k].shape == b[k].shape, k
        assert torch.isfinite(b[k]).all(), k


def test_pruned_reloads_bit_exactly_from_config_and_weights(tmp_path, batch, pruned):
    save_model(pruned, tmp_path / "ckpt")
    again = load_model(tmp_path / "ckpt")
    assert again.config == pruned.config
    a, b = run(pruned, batch), run(again, batch)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_pruned_exports_and_matches_ort(batch, pruned):
    sess = ort.InferenceSession(export_onnx_bytes(pruned), providers=["CPUExecutionProvider"])
    feed = {k: batch[k].numpy() for k in ("image", "input_ids", "attention_mask")}
    got = dict(zip(schema.output_names(), sess.run(None, feed), strict=True))
    with torch.no_grad():
        raw = run(pruned, batch)
    np.testing.assert_allclose(got["theme"], torch.softmax(raw["theme"], -1).numpy(), atol=1e-4)
    np.testing.assert_allclose(got[schema.SPAN_OUTPUT], torch.softmax(raw[schema.SPAN_OUTPUT], -1).numpy(), atol=1e-4)


def test_dead_heads_are_the_ones_removed_and_removal_is_lossless(batch):
    """Zero head 1's value path everywhere: its contribution is exactly 0, so removing it (and only
    it) must leave every output unchanged. A wrong head count or head split would not."""
    model = randomize_norms(tiny_student(seed=1, text_heads=(4, 4), fusion_heads=4))
    with torch.no_grad():
        for a in (m for m in model.modules() if isinstance(m, Attention)):
            for lin in (a.q, a.k, a.v):
                lin.weight[a.qk_head: 2 * a.qk_head] = 0.0
                lin.bias[a.qk_head: 2 * a.qk_head] = 0.0
            a.o.weight[:, a.v_head: 2 * a.v_head] = 0.0
    out = prune_step(model, 1.0, model, PruneConfig(PruneTarget("params", 0.5)), keep_heads=0.75)
    assert out.config.text_heads == (3, 3) and out.config.fusion_heads == 3
    assert out.config.text_dim == model.config.text_dim  # widths untouched
    _attention_shapes_consistent(out)
    a, b = run(model, batch), run(out, batch)
    for k in a:
        torch.testing.assert_close(b[k], a[k], atol=1e-5, rtol=1e-5, msg=k)


def test_head_dim_pruning_folds_the_attention_scale(batch):
    model = randomize_norms(tiny_student(seed=2, text_qk_dims=(64, 64), text_v_dims=(64, 64),
                                         fusion_qk_dim=64, fusion_v_dim=64))
    out = prune_step(model, 1.0, model, PruneConfig(PruneTarget("params", 0.5), attention="head_dims"),
                     keep_heads=0.5)
    assert out.config.text_heads == (2, 2) and out.config.text_qk_dims == (32, 32)
    _attention_shapes_consistent(out)
    assert all(a.scale == pytest.approx(16 ** -0.5) for a in out.modules() if isinstance(a, Attention))
    assert all(torch.isfinite(v).all() for v in run(out, batch).values())


def test_verification_rejects_wrong_head_counts(student):
    def attn_and_heads(model):
        attn = {n: a for n, a in model.named_modules() if isinstance(a, Attention)}
        return attn, {lin: a.heads for a in attn.values() for lin in (a.q, a.k, a.v)}

    m = copy.deepcopy(student)
    attn, tp_heads = attn_and_heads(m)
    wrong = {n: 4 for n in attn}  # 32-wide q with 2 real heads relabelled as 4: must be refused
    with pytest.raises(PruningError, match="head counts"):
        rebuild_verified(m, wrong, tp_heads)
    m = copy.deepcopy(student)
    attn, tp_heads = attn_and_heads(m)
    ok = rebuild_verified(m, {n: 2 for n in attn}, tp_heads)
    assert ok.config == student.config


def test_prune_student_to_param_target(student):
    result = prune_student(student, PruneConfig(PruneTarget("params", 0.6), step=0.1), progress=False)
    assert result.reached
    first, last = result.history[0], result.history[-1]
    assert last["params"] <= 0.6 * first["params"] < result.history[-2]["params"]
    assert result.model.num_parameters() == last["params"]
    assert [h["step"] for h in result.history] == sorted(h["step"] for h in result.history)


def test_prune_student_to_latency_target_records_measurements(student):
    cfg = PruneConfig(PruneTarget("latency", 0.5), step=0.3, min_keep=0.35, latency_rounds=1, latency_runs=10)
    result = prune_student(student, cfg, progress=False)
    steps = result.history[1:]
    assert 1 <= len(steps) <= 2
    for rec in steps:
        assert rec["latency_ms"] > 0 and rec["base_latency_ms"] > 0
        assert rec["ratio"] == pytest.approx(rec["latency_ms"] / rec["base_latency_ms"])
    assert result.reached == (steps[-1]["ratio"] <= 0.5)


def test_latency_helpers(student):
    assert ort_latency(student, runs=5, warmup=1, threads=1) > 0
    a, b = compare_latency([OrtTimer(student, 1), OrtTimer(student, 1)], rounds=1, runs=5)
    assert a > 0 and b > 0


@pytest.mark.parametrize("text", ["params", "params=1.5", "latency=0", "size=0.5", "params=x"])
def test_target_parse_errors(text):
    with pytest.raises(ConfigError):
        PruneTarget.parse(text)


def test_target_parse():
    assert PruneTarget.parse("latency=0.7") == PruneTarget("latency", 0.7)


def test_prune_student_refuses_other_models():
    with pytest.raises(ConfigError, match="student"):
        prune_student(torch.nn.Linear(4, 4), PruneConfig(PruneTarget("params", 0.5)))  # type: ignore[arg-type]
