"""The lite_student mention layer: added as a copy it changes no answer, it is what monetary, CTA and the
span read, it exports, and a fine-tune of it leaves the theme's path untouched."""

from __future__ import annotations

import pytest
import torch
from model_fixtures import LITE_SMALL as SMALL
from model_fixtures import assert_onnx_matches_torch, lite_inputs

from adfusion_edge import schema
from adfusion_edge.distill.models.registry import create_model
from adfusion_edge.distill.train.add_mention_layer import with_mention_layer
from adfusion_edge.distill.train.loop import freeze_except
from adfusion_edge.errors import ConfigError


@pytest.fixture(scope="module")
def pair():
    torch.manual_seed(0)
    base = create_model("lite_student", SMALL, vision_weights="", max_positions=16).eval()
    return base, with_mention_layer(base)


def test_the_copy_answers_exactly_as_the_model_it_came_from(pair):
    base, new = pair
    x = lite_inputs(3)
    with torch.no_grad():
        a, b = base(*x), new(*x)
    assert new.config.mention_layer and a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    with pytest.raises(ConfigError, match="already has a mention layer"):
        with_mention_layer(new)


def test_monetary_cta_and_the_span_read_the_mention_layer_and_nothing_else_does(pair):
    _, new = pair
    x = lite_inputs(3)
    with torch.no_grad():
        before = new(*x)
        for p in new.mention_layer.parameters():
            p.add_(0.5 * torch.randn_like(p))
        after = new(*x)
    moved = {k for k in before if not torch.allclose(before[k], after[k])}
    assert moved == {"monetary", "cta", schema.SPAN_OUTPUT}, moved


def test_a_fine_tune_of_the_mention_layer_cannot_reach_the_theme():
    torch.manual_seed(1)
    model = with_mention_layer(create_model("lite_student", SMALL, vision_weights="", max_positions=16))
    kept = freeze_except(model, ("mention_layer", "mention_norm", "text_only.monetary", "text_only.cta", "span_head"))
    assert kept and not any(n.startswith(("text_layer", "text_only.theme", "embed_head")) for n in kept)
    model.train()
    out = model(*lite_inputs(3))
    assert not out["theme"].requires_grad and not out["sentiment"].requires_grad
    assert out["cta"].requires_grad and out[schema.SPAN_OUTPUT].requires_grad


def test_it_exports_to_onnx_with_the_same_answers(pair, tmp_path):
    assert_onnx_matches_torch(pair[1], lite_inputs(2), ["monetary", "cta", "theme", schema.SPAN_OUTPUT], tmp_path / "m.onnx")


def test_the_config_needs_monetary_and_cta_to_read_text_only():
    with pytest.raises(ConfigError, match="mention_layer needs monetary, cta"):
        create_model("lite_student", SMALL, vision_weights="", max_positions=16, mention_layer=True,
                     text_only_heads=["theme", "sentiment"])
