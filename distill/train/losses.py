"""Training objective of the paper (section III-D): L = alpha * L_task + beta * L_itc + gamma * L_mi.

L_task  sum over the schema's outputs, each term averaged over the samples whose label is known
        (``m/<head>``); a head with no known label in the batch adds exactly 0 and no gradient.
          single / ordinal   cross-entropy with label smoothing
          multi              binary cross-entropy with logits (``multi_pos_weight`` on positives),
                             averaged ("mean", default) or summed ("sum") over labels. "sum" gives
                             each of the 107 keywords a single-label head's gradient, but measured
                             on the CPU teacher (150 steps, runs/ab_*) it swamps the clipped
                             gradient: every head stalled (val overall 0.23 vs 0.60 with "mean")
          monetary_span      token cross-entropy, ignore_index -100 (padding, specials, unknown ads)
          ctr_value          "bce": BCE-with-logits minus the target's entropy, i.e. the KL between
                             Bernoulli(y) and Bernoulli(sigmoid(x)): same gradient as BCE, but a
                             perfect prediction scores 0 on soft targets; or "mse" on sigmoid(x)
L_itc   symmetric InfoNCE between ``aux/image_emb`` and ``aux/text_emb`` (cosine similarity times
        exp(``aux/logit_scale``), the model's learnable inverse temperature, capped as in CLIP).
L_mi    per single/ordinal head with auxiliary unimodal logits, KL(P_v || P_h) =
        sum P_v (log P_v - log P_h), P_v from ``aux/image_logits/<head>``, P_h from
        ``aux/text_logits/<head>``, averaged over all samples (agreement needs no labels) with
        gradient into both pathways, as the paper's "forces both pathways to agree". KL alone is
        minimised by two constant pathways, so each pathway is also anchored to the labels with
        ``mi_anchor`` * masked cross-entropy; without that anchor L_mi teaches nothing.
Terms whose inputs a model does not output (baselines have no aux logits) are 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from adfusion_edge import schema
from adfusion_edge.errors import ConfigError
from adfusion_edge.tokenizer import IGNORE_INDEX

IMAGE_LOGITS = "aux/image_logits/"
TEXT_LOGITS = "aux/text_logits/"


@dataclass(frozen=True)
class LossWeights:
    """Loss weights and options (defaults are the teacher's starting point).

    Attributes:
        alpha: Weight of L_task.
        beta: Weight of L_itc (0 = "no_itc" ablation).
        gamma: Weight of L_mi (0 = "no_mi" ablation).
        label_smoothing: For single/ordinal cross-entropy (task and MI anchor).
        span_weight: Weight of the monetary_span token loss inside L_task.
        value_weight: Weight of the ctr_value loss inside L_task.
        value_loss: "bce" (KL form, see module docstring) or "mse".
        mi_anchor: Weight of the label cross-entropy of each unimodal pathway inside L_mi.
        max_logit_scale: Cap on exp(logit_scale) (CLIP: 100) so the temperature cannot collapse.
        head_weights: Optional per-head multipliers inside L_task ({head: weight}, default 1;
            a mapping is stored as sorted (head, weight) pairs so the config stays frozen).
        multi_reduction: "sum" or "mean" of the per-label BCE of multi-label heads.
        multi_pos_weight: BCE weight of positive labels (> 1 trades precision for recall).
        logit_adjust: Optional {head: tau} for single-label heads trained with logit adjustment
            (Menon et al. 2021, "Long-tail learning via logit adjustment"): the cross-entropy reads
            ``logits + tau * log(prior)``, prior = the training labels' frequencies (a running
            estimate, :class:`LabelPriors`), so the model's own logits learn a class-balanced score.
            Used for theme: the real text rows are 56% food (Pitt), and an advertiser's mix of
            themes is not Pitt's.
        text_distill: Weight of the sentence-embedding distillation term: ``1 - cos`` between the
            model's ``aux/text_embed`` and all-MiniLM-L6-v2's embedding of the same token ids
            (distill/train/text_teacher.py), over the samples that have text. 0 = off.
    """

    alpha: float = 1.0
    beta: float = 0.1
    gamma: float = 0.1
    label_smoothing: float = 0.1
    span_weight: float = 1.0
    value_weight: float = 1.0
    value_loss: str = "bce"
    mi_anchor: float = 1.0
    max_logit_scale: float = 100.0
    head_weights: tuple[tuple[str, float], ...] | Mapping[str, float] = ()
    multi_reduction: str = "mean"
    multi_pos_weight: float = 1.0
    logit_adjust: tuple[tuple[str, float], ...] | Mapping[str, float] = ()
    text_distill: float = 0.0

    def __post_init__(self) -> None:
        adjust = tuple(sorted((str(n), float(t)) for n, t in dict(self.logit_adjust).items()))
        for name, tau in adjust:
            if schema.head(name).kind != "single" or not tau >= 0.0:
                raise ConfigError(f"logit_adjust[{name!r}] needs a single-label head and tau >= 0, got {tau}")
        object.__setattr__(self, "logit_adjust", adjust)
        pairs = tuple(sorted(dict(self.head_weights).items()))
        for name, value in pairs:
            schema.head(name)  # UnknownHeadError lists the heads
            if not float(value) >= 0.0:
                raise ConfigError(f"head_weights[{name!r}] must be >= 0, got {value}")
        object.__setattr__(self, "head_weights", tuple((n, float(v)) for n, v in pairs))
        for name in ("alpha", "beta", "gamma", "span_weight", "value_weight", "mi_anchor"):
            if not getattr(self, name) >= 0.0:
                raise ConfigError(f"loss weight {name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.multi_reduction not in ("sum", "mean"):
            raise ConfigError(f"multi_reduction must be 'sum' or 'mean', got {self.multi_reduction!r}")
        if not self.multi_pos_weight > 0.0:
            raise ConfigError(f"multi_pos_weight must be > 0, got {self.multi_pos_weight}")
        if self.value_loss not in ("bce", "mse"):
            raise ConfigError(f"value_loss must be 'bce' or 'mse', got {self.value_loss!r}")
        if not self.max_logit_scale > 1.0:
            raise ConfigError(f"max_logit_scale must be > 1, got {self.max_logit_scale}")


def _tensor(batch: Mapping, key: str, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(batch[key], device=device)


def masked_mean(per_sample: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``per_sample`` (B,) over ``mask`` (B,) bool; exactly 0 (zero gradient) if none is set."""
    m = mask.to(per_sample.dtype)
    return (per_sample * m).sum() / m.sum().clamp(min=1.0)


def _bernoulli_entropy(y: torch.Tensor) -> torch.Tensor:
    return -(torch.xlogy(y, y) + torch.xlogy(1.0 - y, 1.0 - y))


class LabelPriors:
    """Running label frequencies per head for logit adjustment (see ``LossWeights.logit_adjust``).

    Counts every labelled sample seen so far, starting from one pseudo-count per class, so the
    estimate is the training distribution after a few batches and needs no pass over the data.

    Args:
        heads: Head names to track.
    """

    def __init__(self, heads: tuple[str, ...]):
        self.counts = {h: torch.ones(schema.head(h).num_labels, dtype=torch.float64) for h in heads}

    def update(self, head: str, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Add the batch's labels; return log(prior) (float32, on ``y``'s device)."""
        c = self.counts[head]
        c += torch.bincount(y[mask.bool()].detach().cpu(), minlength=len(c)).to(c.dtype)
        return (c / c.sum()).log().to(torch.float32).to(y.device)


def task_losses(outputs: Mapping[str, torch.Tensor], batch: Mapping, w: LossWeights,
                priors: LabelPriors | None = None) -> dict[str, torch.Tensor]:
    """Per-output task losses ``task/<output>`` (unweighted, masked)."""
    dev = outputs[schema.HEADS[0].name].device
    out: dict[str, torch.Tensor] = {}
    adjust = dict(w.logit_adjust)
    if adjust and priors is None:
        raise ConfigError("logit_adjust needs a LabelPriors (compute_losses(..., priors=...))")
    for h in schema.HEADS:
        logits, y = outputs[h.name], _tensor(batch, f"y/{h.name}", dev)
        mask = _tensor(batch, f"m/{h.name}", dev)
        if h.name in adjust and priors is not None:
            logits = logits + adjust[h.name] * priors.update(h.name, y, mask)
        if h.kind == "multi":
            pos_weight = None if w.multi_pos_weight == 1.0 else logits.new_tensor(w.multi_pos_weight)
            per = F.binary_cross_entropy_with_logits(logits, y.to(logits.dtype), reduction="none",
                                                     pos_weight=pos_weight)
            per = per.sum(-1) if w.multi_reduction == "sum" else per.mean(-1)
        else:
            per = F.cross_entropy(logits, y, label_smoothing=w.label_smoothing, reduction="none")
        out[f"task/{h.name}"] = masked_mean(per, mask)
    span, tags = outputs[schema.SPAN_OUTPUT], _tensor(batch, f"y/{schema.SPAN_OUTPUT}", dev)
    n_tags = (tags != IGNORE_INDEX).sum().clamp(min=1)
    out[f"task/{schema.SPAN_OUTPUT}"] = F.cross_entropy(
        span.reshape(-1, span.shape[-1]), tags.reshape(-1), ignore_index=IGNORE_INDEX, reduction="sum"
    ) / n_tags
    x = outputs[schema.VALUE_OUTPUT]
    y = _tensor(batch, f"y/{schema.VALUE_OUTPUT}", dev).to(x.dtype)
    if w.value_loss == "bce":
        # clamp: rounding can leave -1e-8 at the optimum; the loss is >= 0 by definition
        per = (F.binary_cross_entropy_with_logits(x, y, reduction="none") - _bernoulli_entropy(y)).clamp(min=0.0)
    else:
        per = (torch.sigmoid(x) - y) ** 2
    out[f"task/{schema.VALUE_OUTPUT}"] = masked_mean(per, _tensor(batch, f"m/{schema.VALUE_OUTPUT}", dev))
    return out


def itc_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, logit_scale: torch.Tensor | None = None,
             max_logit_scale: float = 100.0) -> torch.Tensor:
    """Symmetric InfoNCE: (CE(image -> text) + CE(text -> image)) / 2; matching pairs share a row.

    Args:
        image_emb: (B, D) image embeddings (normalised here).
        text_emb: (B, D) text embeddings.
        logit_scale: Scalar log inverse temperature (learned in the model); None = 1/0.07.
        max_logit_scale: Cap on exp(logit_scale).
    """
    n = image_emb.shape[0]
    if n < 2:  # one pair has no negatives: the loss is identically 0
        return image_emb.sum() * 0.0
    a, b = F.normalize(image_emb, dim=-1), F.normalize(text_emb, dim=-1)
    log_scale = torch.tensor(math.log(1 / 0.07), device=a.device) if logit_scale is None else logit_scale
    scale = log_scale.clamp(max=math.log(max_logit_scale)).exp()
    logits = scale * a @ b.t()
    target = torch.arange(n, device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def kl_divergence(p_logits: torch.Tensor, q_logits: torch.Tensor) -> torch.Tensor:
    """Mean over rows of KL(softmax(p) || softmax(q)) = sum p (log p - log q)."""
    log_p, log_q = p_logits.log_softmax(-1), q_logits.log_softmax(-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1).mean()


def mi_losses(outputs: Mapping[str, torch.Tensor], batch: Mapping, w: LossWeights) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of KL(P_v || P_h), sum of label anchors) over heads with both unimodal logits."""
    kl, anchor = [], []
    for key in outputs:
        if not key.startswith(IMAGE_LOGITS) or TEXT_LOGITS + key[len(IMAGE_LOGITS):] not in outputs:
            continue
        name = key[len(IMAGE_LOGITS):]
        if schema.head(name).kind == "multi":
            continue  # no single distribution to compare; the paper's MI is over class distributions
        pv, ph = outputs[key], outputs[TEXT_LOGITS + name]
        kl.append(kl_divergence(pv, ph))
        y, mask = _tensor(batch, f"y/{name}", pv.device), _tensor(batch, f"m/{name}", pv.device)
        ce = [F.cross_entropy(p, y, label_smoothing=w.label_smoothing, reduction="none") for p in (pv, ph)]
        anchor.append(0.5 * (masked_mean(ce[0], mask) + masked_mean(ce[1], mask)))
    if not kl:
        return _zero(outputs), _zero(outputs)
    return torch.stack(kl).sum(), torch.stack(anchor).sum()


def _zero(outputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return torch.zeros((), device=outputs[schema.HEADS[0].name].device)


def text_distill_loss(embed: torch.Tensor, target: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean ``1 - cos(embed, target)`` over the samples with a word between [CLS] and [SEP]."""
    has_text = torch.as_tensor(attention_mask).sum(1) > 2
    if not bool(has_text.any()):
        return embed.sum() * 0.0
    cos = F.cosine_similarity(embed[has_text], target[has_text].to(embed.dtype), dim=-1)
    return (1.0 - cos).mean()


def compute_losses(outputs: Mapping[str, torch.Tensor], batch: Mapping, weights: LossWeights,
                   priors: LabelPriors | None = None, text_targets: torch.Tensor | None = None
                   ) -> dict[str, torch.Tensor]:
    """All loss terms of one batch.

    Args:
        outputs: A model's forward dict (see distill/models/base.py).
        batch: Targets per distill/data/targets.py (torch tensors or numpy arrays).
        weights: Loss weights and options.
        priors: Running label frequencies; required when ``weights.logit_adjust`` is set.
        text_targets: The text teacher's (B, D) sentence embeddings; required when
            ``weights.text_distill`` is set (the model must output ``aux/text_embed``).

    Returns:
        "task", "itc", "mi", "text_distill" (unweighted), "total" (weighted sum, what to backpropagate),
        "task/<output>" per schema output, "mi/kl" and "mi/anchor" (for logging).
    """
    parts = task_losses(outputs, batch, weights, priors)
    scale = {f"task/{n}": v for n, v in weights.head_weights}
    scale[f"task/{schema.SPAN_OUTPUT}"] = weights.span_weight
    scale[f"task/{schema.VALUE_OUTPUT}"] = weights.value_weight
    task = sum((v * scale.get(k, 1.0) for k, v in parts.items()), _zero(outputs))
    if "aux/image_emb" in outputs and "aux/text_emb" in outputs:
        itc = itc_loss(outputs["aux/image_emb"], outputs["aux/text_emb"], outputs.get("aux/logit_scale"),
                       weights.max_logit_scale)
    else:
        itc = _zero(outputs)
    kl, anchor = mi_losses(outputs, batch, weights)
    mi = kl + weights.mi_anchor * anchor
    total = weights.alpha * task + weights.beta * itc + weights.gamma * mi
    text = _zero(outputs)
    if weights.text_distill:
        if text_targets is None or "aux/text_embed" not in outputs:
            raise ConfigError("loss text_distill needs a model with an aux/text_embed output and the teacher's "
                              "targets (lite_student with text_embed: distilled)")
        text = text_distill_loss(outputs["aux/text_embed"], text_targets, batch["attention_mask"])
        total = total + weights.text_distill * text
    return {"task": task, "itc": itc, "mi": mi, "text_distill": text, "total": total, **parts,
            "mi/kl": kl, "mi/anchor": anchor}
