"""Distillation objective: soft targets per head + feature hint + attention transfer + task loss.

    L = task * L_gt + kd * L_kd + hint * L_hint + attention * L_at

L_gt    the ground-truth objective of distill/train/losses.py (masked task loss, ITC, MI) on the student.
L_kd    per output, against the teacher's logits at temperature T (all samples: no labels needed):
          single / ordinal   T^2 * KL(softmax(t/T) || softmax(s/T))            (Hinton et al.)
          multi              T^2 * binary KL(sigmoid(t/T) || sigmoid(s/T)), mean over labels
          monetary_span      T^2 * KL over the BIO tags, mean over real tokens (attention_mask)
          ctr_value          MSE between sigmoid(s) and sigmoid(t)
        summed over heads (span and value scaled by ``span`` / ``value``).
L_hint  FitNets hint: MSE(P(student aux/fused), teacher aux/fused), P a learnable projection owned
        by the distiller (:class:`HintProjection`), never part of the exported student. With
        ``hint_normalize`` both sides are layer-normalised first, so the loss does not depend on
        the teacher's feature scale.
L_at    attention transfer (Zagoruyko & Komodakis): squared distance of the L2-normalised spatial
        maps ``aux/attention_map`` (teacher map resized to the student's grid); 0 when either
        model does not output one.

Every KD term is exactly 0 when the student's outputs equal the teacher's (tested), so L_kd
measures disagreement only. KL terms are written as p * (log p - log q) with the log-probabilities
computed by log_softmax / logsigmoid, which is what makes equal inputs give an exact 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from adfusion_edge import schema
from adfusion_edge.errors import ConfigError

FUSED = "aux/fused"
ATTENTION_MAP = "aux/attention_map"
# Teacher outputs the distillation reads (aux/attention_map only when present).
TEACHER_KEYS: tuple[str, ...] = schema.output_names() + (FUSED,)


@dataclass(frozen=True)
class DistillWeights:
    """Weights and options of the distillation loss.

    Attributes:
        temperature: Softmax/sigmoid temperature T of the soft targets (losses scaled by T^2).
        task: Weight of the ground-truth objective (distill/train/losses.py total).
        kd: Weight of the soft-target loss L_kd.
        hint: Weight of the aux/fused feature hint.
        attention: Weight of spatial attention transfer (0 = off).
        span: Weight of the monetary_span tags inside L_kd.
        value: Weight of the ctr_value MSE inside L_kd.
        hint_normalize: Layer-normalise both sides of the hint (scale-free).
    """

    temperature: float = 2.0
    task: float = 1.0
    kd: float = 1.0
    hint: float = 1.0
    attention: float = 0.0
    span: float = 1.0
    value: float = 1.0
    hint_normalize: bool = True

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ConfigError(f"distill temperature must be > 0, got {self.temperature}")
        for name in ("task", "kd", "hint", "attention", "span", "value"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"distill weight {name} must be >= 0, got {getattr(self, name)}")


class HintProjection(nn.Module):
    """Linear map student aux/fused -> teacher aux/fused width; identity-initialised when equal.

    Owned by the distiller (trained with the student, saved in the run's train state), so the
    exported student carries no trace of it.
    """

    def __init__(self, student_dim: int, teacher_dim: int):
        super().__init__()
        self.proj = nn.Linear(student_dim, teacher_dim)
        if student_dim == teacher_dim:
            # Distilling from a model of the same width (e.g. the unpruned student): start at the
            # identity so the hint is 0 where the features already agree.
            with torch.no_grad():
                self.proj.weight.copy_(torch.eye(student_dim))
                self.proj.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


def _kl_softmax(s: torch.Tensor, t: torch.Tensor, temperature: float) -> torch.Tensor:
    """Per-row KL(softmax(t/T) || softmax(s/T)) over the last axis (no T^2)."""
    log_p, log_q = (t / temperature).log_softmax(-1), (s / temperature).log_softmax(-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def _kl_bernoulli(s: torch.Tensor, t: torch.Tensor, temperature: float) -> torch.Tensor:
    """Per-row mean over labels of KL(Bernoulli(sigmoid(t/T)) || Bernoulli(sigmoid(s/T)))."""
    ts, ss = t / temperature, s / temperature
    log_p, log_1p = F.logsigmoid(ts), F.logsigmoid(-ts)
    log_q, log_1q = F.logsigmoid(ss), F.logsigmoid(-ss)
    return (log_p.exp() * (log_p - log_q) + log_1p.exp() * (log_1p - log_1q)).mean(-1)


def kd_losses(student: Mapping[str, torch.Tensor], teacher: Mapping[str, torch.Tensor],
              attention_mask: torch.Tensor, temperature: float) -> dict[str, torch.Tensor]:
    """Unweighted soft-target losses ``kd/<output>`` (each a scalar, mean over samples/tokens).

    Args:
        student: Student forward dict (raw logits).
        teacher: Teacher logits for the same ads (cached float16 is fine: cast here).
        attention_mask: (B, L) 1 for real tokens: span KD ignores padding.
        temperature: T.
    """
    t2 = temperature * temperature
    out: dict[str, torch.Tensor] = {}
    for h in schema.HEADS:
        s, t = student[h.name].float(), teacher[h.name].float()
        per = _kl_bernoulli(s, t, temperature) if h.kind == "multi" else _kl_softmax(s, t, temperature)
        out[f"kd/{h.name}"] = t2 * per.mean()
    s, t = student[schema.SPAN_OUTPUT].float(), teacher[schema.SPAN_OUTPUT].float()
    m = attention_mask.to(s.dtype)
    out[f"kd/{schema.SPAN_OUTPUT}"] = t2 * (_kl_softmax(s, t, temperature) * m).sum() / m.sum().clamp(min=1.0)
    s, t = student[schema.VALUE_OUTPUT].float(), teacher[schema.VALUE_OUTPUT].float()
    out[f"kd/{schema.VALUE_OUTPUT}"] = F.mse_loss(torch.sigmoid(s), torch.sigmoid(t))
    return out


def hint_loss(student_fused: torch.Tensor, teacher_fused: torch.Tensor, projection: nn.Module | None,
              normalize: bool = True) -> torch.Tensor:
    """MSE between the projected student feature and the teacher feature (see module docstring)."""
    s = student_fused.float() if projection is None else projection(student_fused.float())
    t = teacher_fused.float()
    if s.shape != t.shape:
        raise ConfigError(f"hint: student feature {tuple(s.shape)} vs teacher {tuple(t.shape)}; pass a "
                          "HintProjection(student_dim, teacher_dim)")
    if normalize:
        s, t = F.layer_norm(s, s.shape[-1:]), F.layer_norm(t, t.shape[-1:])
    return F.mse_loss(s, t)


def attention_transfer_loss(student_map: torch.Tensor, teacher_map: torch.Tensor) -> torch.Tensor:
    """Mean squared distance of L2-normalised spatial maps (B, h, w); teacher resized to student's."""
    s, t = student_map.float(), teacher_map.float()
    if t.shape[-2:] != s.shape[-2:]:
        t = F.interpolate(t[:, None], size=s.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    s, t = F.normalize(s.flatten(1), dim=-1), F.normalize(t.flatten(1), dim=-1)
    return (s - t).pow(2).sum(-1).mean()


def distill_losses(student: Mapping[str, torch.Tensor], teacher: Mapping[str, torch.Tensor],
                   batch: Mapping, weights: DistillWeights, projection: nn.Module | None = None,
                   loss_weights: object | None = None) -> dict[str, torch.Tensor]:
    """All distillation terms for one batch.

    Args:
        student: Student forward dict.
        teacher: Teacher outputs: every schema output + aux/fused (+ optional aux/attention_map).
        batch: The batch (targets per distill/data/targets.py; needs ``attention_mask``).
        weights: DistillWeights.
        projection: HintProjection for aux/fused (None: widths must already match).
        loss_weights: ``distill.train.losses.LossWeights`` for the ground-truth term (None = defaults);
            only used when ``weights.task`` > 0.

    Returns:
        "total" (what to backpropagate), "kd", "hint", "attention", "gt" (unweighted), the
        per-output "kd/<name>" terms and, when task > 0, the ground-truth terms as "gt/<key>".
    """
    mask = torch.as_tensor(batch["attention_mask"], device=student[schema.HEADS[0].name].device)
    parts = kd_losses(student, teacher, mask, weights.temperature)
    kd = sum((v * (weights.span if k == f"kd/{schema.SPAN_OUTPUT}" else
                   weights.value if k == f"kd/{schema.VALUE_OUTPUT}" else 1.0) for k, v in parts.items()),
             torch.zeros((), device=mask.device))
    zero = torch.zeros((), device=mask.device)
    hint = hint_loss(student[FUSED], teacher[FUSED], projection, weights.hint_normalize) if (
        weights.hint > 0 and FUSED in teacher and FUSED in student) else zero
    att = attention_transfer_loss(student[ATTENTION_MAP], teacher[ATTENTION_MAP]) if (
        weights.attention > 0 and ATTENTION_MAP in teacher and ATTENTION_MAP in student) else zero
    out: dict[str, torch.Tensor] = {}
    gt = zero
    if weights.task > 0:
        from adfusion_edge.distill.train.losses import LossWeights, compute_losses

        gt_parts = compute_losses(student, batch, loss_weights or LossWeights())
        gt = gt_parts["total"]
        out.update({f"gt/{k}": v for k, v in gt_parts.items() if k != "total"})
    total = weights.task * gt + weights.kd * kd + weights.hint * hint + weights.attention * att
    out.update({"total": total, "kd": kd, "hint": hint, "attention": att, "gt": gt, **parts})
    return out
