"""Loss tests: masking, ITC, KL, weighting, and every registered model's losses."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from model_fixtures import build, make_batch, run

from adfusion_edge import schema
from adfusion_edge.distill.models import registry
from adfusion_edge.distill.train.losses import (
    LossWeights,
    compute_losses,
    itc_loss,
    kl_divergence,
    masked_mean,
)
from adfusion_edge.errors import ConfigError, UnknownHeadError
from adfusion_edge.tokenizer import IGNORE_INDEX

MODELS = registry.list_models()
# Heads masked out in the no-gradient test: one of each kind, plus the span and value outputs.
MASKED = ("theme", "keywords", "attention", "ctr")



@pytest.fixture(scope="module")
def batch(tokenizer_file):
    return make_batch(tokenizer_file, n=4)


def _fake_outputs(n: int = 4, L: int = 16, seed: int = 0, aux: bool = True) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = {h.name: torch.randn(n, h.num_labels, generator=g, requires_grad=True) for h in schema.HEADS}
    out[schema.SPAN_OUTPUT] = torch.randn(n, L, 3, generator=g, requires_grad=True)
    out[schema.VALUE_OUTPUT] = torch.randn(n, generator=g, requires_grad=True)
    if aux:
        out["aux/image_emb"] = torch.randn(n, 8, generator=g)
        out["aux/text_emb"] = torch.randn(n, 8, generator=g)
        out["aux/logit_scale"] = torch.tensor(math.log(1 / 0.07))
        for name in ("theme", "sentiment"):
            out[f"aux/image_logits/{name}"] = torch.randn(n, schema.head(name).num_labels, generator=g)
            out[f"aux/text_logits/{name}"] = torch.randn(n, schema.head(name).num_labels, generator=g)
    return out


@pytest.mark.parametrize("name", MODELS)
def test_model_losses_finite_nonnegative(name, batch):
    losses = compute_losses(run(build(name).train(), batch), batch, LossWeights())
    for key, v in losses.items():
        assert v.ndim == 0 and torch.isfinite(v) and v.item() >= 0.0, (key, v)
    assert losses["task"].item() > 0


@pytest.mark.parametrize("name", MODELS)
def test_masked_heads_get_no_gradient(name, batch):
    b = dict(batch)
    for h in MASKED:
        b[f"m/{h}"] = torch.zeros_like(b[f"m/{h}"])
    b[f"m/{schema.VALUE_OUTPUT}"] = torch.zeros_like(b[f"m/{schema.VALUE_OUTPUT}"])
    b[f"y/{schema.SPAN_OUTPUT}"] = torch.full_like(b[f"y/{schema.SPAN_OUTPUT}"], IGNORE_INDEX)
    model = build(name).train()
    out = run(model, b)
    checked = [*MASKED, schema.SPAN_OUTPUT, schema.VALUE_OUTPUT]
    for k in (*checked, "sentiment"):
        out[k].retain_grad()
    losses = compute_losses(out, b, LossWeights())
    for k in checked:
        assert losses[f"task/{k}"].item() == 0.0, k
    losses["total"].backward()
    for k in checked:  # model-agnostic: no gradient reaches the masked outputs at all
        assert out[k].grad is None or torch.count_nonzero(out[k].grad) == 0, k
    assert torch.count_nonzero(out["sentiment"].grad) > 0  # unmasked heads still learn
    # ... hence none reaches their classifier weights (HeadSet naming: <...>heads.<head>.weight).
    params = dict(model.named_parameters())
    for k in (*MASKED, "ctr_value"):
        own = [p for n, p in params.items() if n.endswith(f"heads.{k}.weight") and "aux" not in n]
        for p in own:
            assert p.grad is None or torch.count_nonzero(p.grad) == 0, (name, k)


def test_masked_mean_empty_is_zero_without_gradient():
    x = torch.randn(5, requires_grad=True)
    m = masked_mean(x, torch.zeros(5, dtype=torch.bool))
    m.backward()
    assert m.item() == 0.0 and torch.count_nonzero(x.grad) == 0
    torch.testing.assert_close(masked_mean(x, torch.tensor([1, 0, 1, 0, 0], dtype=torch.bool)), (x[0] + x[2]) / 2)


def test_itc_symmetric_and_lower_for_matched_pairs():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
    scale = torch.tensor(2.0)
    torch.testing.assert_close(itc_loss(a, b, scale), itc_loss(b, a, scale))
    matched = itc_loss(a, a + 0.1 * torch.randn(8, 16, generator=g), scale)
    assert matched < itc_loss(a, b, scale) and matched < math.log(8)
    assert itc_loss(a[:1], b[:1]).item() == 0.0  # one pair has no negatives
    # temperature cap: exp(10) is clamped to 100
    torch.testing.assert_close(itc_loss(a, b, torch.tensor(10.0)), itc_loss(a, b, torch.tensor(math.log(100.0))))


def test_kl_zero_for_identical_and_direction():
    p = torch.randn(4, 7)
    assert kl_divergence(p, p).item() == 0.0
    q = torch.randn(4, 7)
    ref = F.kl_div(q.log_softmax(-1), p.log_softmax(-1), log_target=True, reduction="batchmean")  # KL(p || q)
    torch.testing.assert_close(kl_divergence(p, q), ref)
    assert kl_divergence(p, q) > 0


def test_total_is_weighted_sum_and_absent_terms_are_zero(batch):
    out = _fake_outputs()
    w = LossWeights(alpha=0.5, beta=0.3, gamma=0.2, mi_anchor=0.7)
    losses = compute_losses(out, batch, w)
    torch.testing.assert_close(losses["mi"], losses["mi/kl"] + 0.7 * losses["mi/anchor"])
    torch.testing.assert_close(losses["total"], 0.5 * losses["task"] + 0.3 * losses["itc"] + 0.2 * losses["mi"])
    parts = sum(v for k, v in losses.items() if k.startswith("task/"))
    torch.testing.assert_close(losses["task"], parts)  # span/value weights default to 1
    hw = compute_losses(out, batch, LossWeights(head_weights={"theme": 3.0}, span_weight=0.5))
    torch.testing.assert_close(hw["task"], losses["task"] + 2.0 * losses["task/theme"]
                               - 0.5 * losses[f"task/{schema.SPAN_OUTPUT}"])
    bare = compute_losses(_fake_outputs(aux=False), batch, w)
    assert bare["itc"].item() == 0.0 and bare["mi"].item() == 0.0


def test_task_terms_match_reference_losses(batch):
    out = _fake_outputs(aux=False)
    losses = compute_losses(out, batch, LossWeights(label_smoothing=0.1))
    ref = F.cross_entropy(out["theme"], batch["y/theme"], label_smoothing=0.1)
    torch.testing.assert_close(losses["task/theme"], ref)
    ref = F.binary_cross_entropy_with_logits(out["keywords"], batch["y/keywords"])
    torch.testing.assert_close(losses["task/keywords"], ref)
    tags = batch[f"y/{schema.SPAN_OUTPUT}"]
    ref = F.cross_entropy(out[schema.SPAN_OUTPUT].reshape(-1, 3), tags.reshape(-1), ignore_index=IGNORE_INDEX)
    torch.testing.assert_close(losses[f"task/{schema.SPAN_OUTPUT}"], ref)


def test_multi_label_reduction_and_positive_weight(batch):
    out = _fake_outputs(aux=False)
    y = batch["y/keywords"]
    mean = compute_losses(out, batch, LossWeights())["task/keywords"]
    total = compute_losses(out, batch, LossWeights(multi_reduction="sum"))["task/keywords"]
    torch.testing.assert_close(total, mean * y.shape[-1])
    weighted = compute_losses(out, batch, LossWeights(multi_pos_weight=4.0))["task/keywords"]
    ref = F.binary_cross_entropy_with_logits(out["keywords"], y, pos_weight=torch.tensor(4.0))
    torch.testing.assert_close(weighted, ref)
    assert weighted > mean  # the batch has positive labels: weighting them raises the loss


def test_ctr_value_loss_is_zero_at_perfect_prediction(batch):
    out = _fake_outputs(aux=False)
    y = batch[f"y/{schema.VALUE_OUTPUT}"]
    out[schema.VALUE_OUTPUT] = torch.logit(y.double()).float()
    for kind in ("bce", "mse"):
        v = compute_losses(out, batch, LossWeights(value_loss=kind))[f"task/{schema.VALUE_OUTPUT}"]
        assert v.item() < 1e-6, kind
    wrong = dict(out)
    wrong[schema.VALUE_OUTPUT] = out[schema.VALUE_OUTPUT] + 2.0
    assert compute_losses(wrong, batch, LossWeights())[f"task/{schema.VALUE_OUTPUT}"] > 0.01


def test_loss_weights_validation():
    for bad in (dict(alpha=-1.0), dict(label_smoothing=1.0), dict(value_loss="l1"), dict(max_logit_scale=1.0),
                dict(multi_reduction="max"), dict(multi_pos_weight=0.0)):
        with pytest.raises(ConfigError):
            LossWeights(**bad)
    with pytest.raises(UnknownHeadError):
        LossWeights(head_weights={"no_such_head": 1.0})
    assert LossWeights(head_weights={"theme": 2, "cta": 1}).head_weights == (("cta", 1.0), ("theme", 2.0))


def test_logit_adjustment_reads_the_running_label_frequencies(batch):
    from adfusion_edge.distill.train.losses import LabelPriors

    out = _fake_outputs(aux=False)
    w = LossWeights(label_smoothing=0.0, logit_adjust={"theme": 1.0})
    with pytest.raises(ConfigError, match="LabelPriors"):
        compute_losses(out, batch, w)
    priors = LabelPriors(("theme",))
    losses = compute_losses(out, batch, w, priors)
    n = schema.head("theme").num_labels
    counts = torch.ones(n, dtype=torch.float64)
    y, m = batch["y/theme"], batch["m/theme"].bool()
    counts += torch.bincount(y[m], minlength=n).double()
    log_prior = (counts / counts.sum()).log().float()
    ref = F.cross_entropy(out["theme"] + log_prior, y, reduction="none")[m].mean()
    torch.testing.assert_close(losses["task/theme"], ref)
    # The other heads are untouched, and the counts keep growing batch after batch.
    torch.testing.assert_close(losses["task/sentiment"], compute_losses(out, batch, LossWeights(label_smoothing=0.0))
                               ["task/sentiment"])
    compute_losses(out, batch, w, priors)
    assert float(priors.counts["theme"].sum()) == n + 2 * int(m.sum())


def test_logit_adjustment_only_for_single_label_heads():
    with pytest.raises(ConfigError, match="logit_adjust"):
        LossWeights(logit_adjust={"keywords": 1.0})
    with pytest.raises(ConfigError, match="logit_adjust"):
        LossWeights(logit_adjust={"theme": -1.0})
