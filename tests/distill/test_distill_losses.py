"""Distillation losses: exactly zero on agreement, positive and differentiable on disagreement."""

from __future__ import annotations

import math

import pytest
import torch
from model_fixtures import make_batch, run
from student_fixtures import tiny_student

from adfusion_edge import schema
from adfusion_edge.distill.kd.losses import (
    DistillWeights,
    HintProjection,
    attention_transfer_loss,
    distill_losses,
    hint_loss,
    kd_losses,
)
from adfusion_edge.distill.train.losses import LossWeights, compute_losses
from adfusion_edge.errors import ConfigError


@pytest.fixture(scope="module")
def batch(tokenizer_file):
    return make_batch(tokenizer_file, n=4)


@pytest.fixture(scope="module")
def outputs(batch):
    """Student outputs and those of a different (teacher) student on the same batch."""
    with torch.no_grad():
        s = run(tiny_student(seed=0), batch)
        t = run(tiny_student(seed=1, fused_dim=40), batch)
    return s, t


ALL_ON = DistillWeights(temperature=3.0, task=0.0, kd=1.0, hint=1.0, attention=1.0)


def test_zero_when_student_equals_teacher(batch, outputs):
    s, _ = outputs
    proj = HintProjection(s["aux/fused"].shape[-1], s["aux/fused"].shape[-1])
    losses = distill_losses(s, s, batch, ALL_ON, proj)
    for k, v in losses.items():
        assert v.item() == pytest.approx(0.0, abs=1e-6), k
    assert {"kd", "hint", "attention"} <= set(losses) and len([k for k in losses if k.startswith("kd/")]) == 15


def test_zero_when_equal_with_task_term_equals_ground_truth(batch, outputs):
    s, _ = outputs
    w = DistillWeights(task=0.7, kd=1.0, hint=0.0)
    losses = distill_losses(s, s, batch, w, loss_weights=LossWeights())
    gt = compute_losses(s, batch, LossWeights())["total"]
    assert losses["kd"].item() == pytest.approx(0.0, abs=1e-6)
    torch.testing.assert_close(losses["total"], 0.7 * gt)
    assert "gt/task" in losses and "gt/itc" in losses


def test_positive_and_differentiable_on_disagreement(batch, tokenizer_file):
    student = tiny_student(seed=0).train()
    with torch.no_grad():
        teacher = run(tiny_student(seed=1, fused_dim=40), batch)
    proj = HintProjection(student.config.fused_dim, 40)
    losses = distill_losses(run(student, batch), teacher, batch, ALL_ON, proj)
    for k in ("kd", "hint", "attention", "total"):
        assert losses[k].item() > 0, k
    for h in schema.HEADS:
        assert losses[f"kd/{h.name}"].item() > 0, h.name
    losses["total"].backward()
    assert proj.proj.weight.grad.abs().sum() > 0
    assert student.fuse.weight.grad.abs().sum() > 0 and student.span_head.weight.grad.abs().sum() > 0


def test_kd_matches_hinton_formula_for_a_single_head():
    s, t = torch.tensor([[1.0, 2.0, 0.5]]), torch.tensor([[0.2, 3.0, -1.0]])
    T = 4.0
    p, q = torch.softmax(t / T, -1), torch.softmax(s / T, -1)
    expected = T * T * (p * (p / q).log()).sum().item()
    outs = {h.name: torch.zeros(1, h.num_labels) for h in schema.HEADS}
    outs.update({schema.SPAN_OUTPUT: torch.zeros(1, 2, 3), schema.VALUE_OUTPUT: torch.zeros(1)})
    s_out, t_out = dict(outs, sentiment=s), dict(outs, sentiment=t)
    got = kd_losses(s_out, t_out, torch.ones(1, 2), T)
    assert got["kd/sentiment"].item() == pytest.approx(expected, rel=1e-5)
    assert got["kd/theme"].item() == 0.0


def test_multi_label_kd_is_binary_kl():
    outs = {h.name: torch.zeros(2, h.num_labels) for h in schema.HEADS}
    outs.update({schema.SPAN_OUTPUT: torch.zeros(2, 2, 3), schema.VALUE_OUTPUT: torch.zeros(2)})
    k = schema.head("keywords").num_labels
    t = dict(outs, keywords=torch.full((2, k), 2.0))
    got = kd_losses(outs, t, torch.ones(2, 2), 1.0)["kd/keywords"].item()
    p = 1 / (1 + math.exp(-2.0))  # teacher prob; student prob 0.5
    expected = p * math.log(p / 0.5) + (1 - p) * math.log((1 - p) / 0.5)
    assert got == pytest.approx(expected, rel=1e-5)


def test_span_kd_ignores_padding():
    outs = {h.name: torch.zeros(1, h.num_labels) for h in schema.HEADS}
    outs.update({schema.VALUE_OUTPUT: torch.zeros(1)})
    s = dict(outs, **{schema.SPAN_OUTPUT: torch.zeros(1, 3, 3)})
    t_span = torch.zeros(1, 3, 3)
    t_span[0, 2] = torch.tensor([5.0, -5.0, 0.0])  # disagreement only at a padding position
    t = dict(outs, **{schema.SPAN_OUTPUT: t_span})
    mask = torch.tensor([[1, 1, 0]])
    assert kd_losses(s, t, mask, 2.0)[f"kd/{schema.SPAN_OUTPUT}"].item() == 0.0
    assert kd_losses(s, t, torch.ones(1, 3), 2.0)[f"kd/{schema.SPAN_OUTPUT}"].item() > 0


def test_hint_projection_identity_init_and_width_check():
    x = torch.randn(5, 16)
    proj = HintProjection(16, 16)
    assert torch.equal(proj(x), x)
    assert hint_loss(x, x, proj).item() == 0.0
    assert hint_loss(x, 3.0 * x + 1.0, None, normalize=True).item() == pytest.approx(0.0, abs=1e-6)
    assert hint_loss(x, 3.0 * x, None, normalize=False).item() > 0
    with pytest.raises(ConfigError, match="HintProjection"):
        hint_loss(x, torch.randn(5, 8), None)


def test_attention_transfer_resizes_teacher_map():
    s = torch.rand(2, 4, 4)
    assert attention_transfer_loss(s, 2.5 * s).item() == pytest.approx(0.0, abs=1e-6)  # scale-free
    big = torch.nn.functional.interpolate(s[:, None], size=(8, 8), mode="bilinear", align_corners=False)[:, 0]
    assert attention_transfer_loss(s, big).item() < attention_transfer_loss(s, torch.rand(2, 8, 8)).item()


def test_missing_teacher_aux_gives_zero_terms(batch, outputs):
    s, t = outputs
    t = {k: v for k, v in t.items() if not k.startswith("aux/")}
    losses = distill_losses(s, t, batch, ALL_ON, HintProjection(s["aux/fused"].shape[-1], 40))
    assert losses["hint"].item() == 0.0 and losses["attention"].item() == 0.0 and losses["kd"].item() > 0


@pytest.mark.parametrize("bad", [dict(temperature=0.0), dict(kd=-1.0), dict(hint=float("nan"))])
def test_weights_validation(bad):
    with pytest.raises(ConfigError):
        DistillWeights(**bad)
