"""The sentiment's real-ad fallback on unreadable text (lite_student ``unreadable_priors``,
distill/evaluate/unreadable_prior.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from model_fixtures import LITE_SMALL as SMALL
from model_fixtures import lite_text_inputs

from adfusion_edge.distill.evaluate.unreadable_prior import adopted, real_prior
from adfusion_edge.distill.models import readable_text
from adfusion_edge.distill.models.lite_student import LiteStudentConfig
from adfusion_edge.distill.models.registry import create_model
from adfusion_edge.errors import ConfigError, ManifestError

PRIOR = (0.01, 0.04, 0.95)  # negative, neutral, positive
TEXTS = ["Fresh pizza, 50% off this weekend", "Winterjacke für Damen und Herren", "Khuyến mãi cực lớn", "2012"]


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return lite_text_inputs(TEXTS)


def _pair(**extra) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    plain = create_model("lite_student", SMALL, vision_weights="", max_positions=16,
                         temperatures={"sentiment": 2.0}, **extra).eval()
    gated = create_model("lite_student", SMALL, vision_weights="", max_positions=16, temperatures={"sentiment": 2.0},
                         unreadable_priors={"sentiment": PRIOR}, unreadable_prior_at=0.5, **extra).eval()
    gated.load_state_dict(plain.state_dict(), strict=True)  # the prior is config, not checkpoint weights
    return plain, gated


def test_unreadable_text_moves_only_the_sentiment_and_only_toward_the_prior():
    plain, gated = _pair()
    image, ids, mask = _inputs()
    with torch.no_grad():
        a, b = plain(image, ids, mask), gated(image, ids, mask)
    for name in a:
        if name != "sentiment":
            assert torch.equal(a[name], b[name]), name
    w = readable_text.text_weight(gated.token_classes, ids, mask, 0.5)[:, 0]
    assert w[0] == 1.0 and w[3] == 1.0 and (w[1:3] < 0.9).all(), w  # English and no-letters keep their answer
    assert torch.equal(a["sentiment"][[0, 3]], b["sentiment"][[0, 3]])
    log_prior = torch.tensor(PRIOR).log()
    want = w[:, None] * a["sentiment"] + (1 - w[:, None]) * log_prior  # after the temperature
    assert torch.allclose(b["sentiment"], want, atol=1e-5)
    # the less readable, the nearer the prior: the model's own answer keeps only w of its say
    kl = [float(torch.sum(torch.tensor(PRIOR) * (torch.tensor(PRIOR).log() - torch.log_softmax(z[i], -1))))
          for z in (a["sentiment"], b["sentiment"]) for i in (1, 2)]
    assert kl[2] < kl[0] and kl[3] < kl[1], kl


def test_the_fallback_exports_to_onnx_with_the_same_sentiment(tmp_path):
    import onnxruntime as ort

    from adfusion_edge.export.onnx_writer import export_onnx

    _, gated = _pair(theme_readable_at=0.5)
    image, ids, mask = _inputs()
    sess = ort.InferenceSession(str(export_onnx(gated, tmp_path / "m.onnx")), providers=["CPUExecutionProvider"])
    feeds = {"image": image.numpy(), "input_ids": ids.numpy(), "attention_mask": mask.numpy()}
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds), strict=True))
    with torch.no_grad():
        want = torch.softmax(gated(image, ids, mask)["sentiment"], -1).numpy()
    np.testing.assert_allclose(got["sentiment"], want, atol=1e-5)


def test_config_refuses_a_bad_prior_and_round_trips_a_good_one():
    c = LiteStudentConfig(unreadable_priors={"sentiment": [0.2, 0.3, 0.5]}, unreadable_prior_at=0.5)
    assert LiteStudentConfig(**json.loads(json.dumps(c.to_dict()))) == c
    for bad, match in [({"sentiment": [0.5, 0.5]}, "3 positive probabilities"),
                       ({"sentiment": [0.0, 0.5, 0.5]}, "3 positive probabilities"),
                       ({"theme": [1.0]}, "not a text-only head other than theme"),
                       ({"objects": [1.0]}, "not a text-only head")]:
        with pytest.raises(ConfigError, match=match):
            LiteStudentConfig(unreadable_priors=bad, unreadable_prior_at=0.5)
    with pytest.raises(ConfigError, match="go together"):
        LiteStudentConfig(unreadable_priors={"sentiment": [0.2, 0.3, 0.5]})
    with pytest.raises(ConfigError, match="unreadable_prior_at must be in"):
        LiteStudentConfig(unreadable_priors={"sentiment": [0.2, 0.3, 0.5]}, unreadable_prior_at=1.5)


def test_the_prior_counts_each_real_ad_once_and_names_a_bad_line(tmp_path):
    rows = tmp_path / "train.jsonl"
    lines = [{"text": f"slogan {i}", "labels": {"sentiment": "positive"}, "meta": {"ad_id": "1.png"}} for i in range(5)]
    lines += [{"text": "sad", "labels": {"sentiment": "negative"}, "meta": {"ad_id": "2.png"}},
              {"text": "no label", "labels": {}, "meta": {"ad_id": "3.png"}}]
    rows.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    p = real_prior(rows)
    assert p["ads"] == {"negative": 1, "neutral": 0, "positive": 1}  # five slogans of one ad: one vote
    assert p["probs"] == pytest.approx([2 / 5, 1 / 5, 2 / 5])  # one added count per label
    rows.write_text(rows.read_text() + "{broken\n")
    with pytest.raises(ManifestError, match=r"train.jsonl:8"):
        real_prior(rows)
    rows.write_text(json.dumps({"text": "x", "labels": {}}) + "\n")
    with pytest.raises(ConfigError, match="no row labels 'sentiment'"):
        real_prior(rows)


def test_the_adoption_rule_holds_each_check_to_half_a_point():
    def s(acc, f1=0.5):
        return {"accuracy": acc, "macro_f1": f1}

    assert adopted({"before": s(0.80), "after": s(0.796)}, {"before": s(0.70), "after": s(0.70)})
    assert not adopted({"before": s(0.80), "after": s(0.79)}, {"before": s(0.70), "after": s(0.70)})
    assert not adopted({"before": s(0.80), "after": s(0.81)}, {"before": s(0.70), "after": s(0.69)})
    assert not adopted({"before": s(0.80), "after": s(0.81)}, {"before": s(0.7, 0.6), "after": s(0.7, 0.59)})
