"""Offsets that undo the theme zero-shot's lean (lite_student ``theme_text_bias``, distill/evaluate/theme_bias.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_fixtures import LITE_SMALL as SMALL
from model_fixtures import lite_text_inputs

from adfusion_edge import schema
from adfusion_edge.distill.evaluate.theme_bias import adopted, balanced_accuracy, fit_offsets, scores
from adfusion_edge.distill.models import readable_text
from adfusion_edge.distill.models.lite_student import LiteStudentConfig
from adfusion_edge.distill.models.registry import create_model
from adfusion_edge.errors import ConfigError

K = len(schema.head("theme").labels)
BIAS = tuple(float(x) for x in np.linspace(-1.0, 1.0, K))
TEXTS = ["Fresh pizza every day", "Winterjacke für Damen und Herren", "Khuyến mãi cực lớn", "2012"]


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return lite_text_inputs(TEXTS)


def _pair(**extra) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    kw = dict(vision_weights="", max_positions=16, temperatures={"theme": 2.0}, theme_readable_at=0.5, **extra)
    plain = create_model("lite_student", SMALL, **kw).eval()
    biased = create_model("lite_student", SMALL, theme_text_bias=BIAS, **kw).eval()
    biased.load_state_dict(plain.state_dict(), strict=True)  # the offsets are config, not checkpoint weights
    return plain, biased


def test_the_offsets_move_only_the_theme_and_only_as_much_as_the_text_counts():
    plain, biased = _pair()
    image, ids, mask = _inputs()
    with torch.no_grad():
        a, b = plain(image, ids, mask), biased(image, ids, mask)
    for name in a:
        if name != "theme":
            assert torch.equal(a[name], b[name]), name
    w = readable_text.text_weight(biased.token_classes, ids, mask, 0.5)[:, 0]
    assert w[0] == 1.0 and (w[1:3] < 0.9).all(), w
    # gated with the rest of the text evidence, then the temperature: unreadable text keeps less of the offsets
    want = a["theme"] + w[:, None] * torch.tensor(BIAS)[None] / 2.0
    assert torch.allclose(b["theme"], want, atol=1e-5)


def test_the_offsets_export_to_onnx(tmp_path):
    import onnxruntime as ort

    from adfusion_edge.export.onnx_writer import export_onnx

    _, biased = _pair()
    image, ids, mask = _inputs()
    sess = ort.InferenceSession(str(export_onnx(biased, tmp_path / "m.onnx")), providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in sess.get_outputs()],
                   sess.run(None, {"image": image.numpy(), "input_ids": ids.numpy(), "attention_mask": mask.numpy()}),
                   strict=True))
    with torch.no_grad():
        want = torch.softmax(biased(image, ids, mask)["theme"], -1).numpy()
    np.testing.assert_allclose(got["theme"], want, atol=1e-5)


def test_config_round_trip_and_bad_offsets():
    c = LiteStudentConfig(theme_text_bias=list(BIAS))
    assert c.theme_text_bias == BIAS and LiteStudentConfig(**c.to_dict()) == c
    assert LiteStudentConfig().theme_text_bias == ()
    with pytest.raises(ConfigError, match="has 3 offsets, the theme 12 labels"):
        LiteStudentConfig(theme_text_bias=(0.0, 1.0, 2.0))
    with pytest.raises(ConfigError, match="must be finite"):
        LiteStudentConfig(theme_text_bias=(float("nan"),) * K)


def test_fitted_offsets_undo_a_lean_and_raise_balanced_accuracy():
    rng = np.random.default_rng(0)
    y = np.concatenate([np.zeros(600, int), rng.integers(1, 4, 300)])  # Pitt-like: one theme is most rows
    z0 = rng.normal(0, 1, (len(y), 4)) + 2.0 * np.eye(4)[y]
    z0[:, 0] += 2.5  # the zero-shot's lean
    slope = np.full(len(y), 1.0)
    b = fit_offsets(z0, slope, y, l2=0.0)
    assert abs(b.mean()) < 1e-9 and b[0] < b[1:].min()
    before, after = balanced_accuracy(z0.argmax(1), y), balanced_accuracy((z0 + b).argmax(1), y)
    assert after > before + 0.1, (before, after)
    # a larger L2 pulls the offsets toward 0; a row whose text does not count (slope 0) cannot move
    assert np.abs(fit_offsets(z0, slope, y, l2=100.0)).max() < np.abs(b).max()
    z_half = z0.copy()
    b_half = fit_offsets(z_half, slope * 0.5, y, l2=0.0)
    np.testing.assert_allclose(b_half, 2 * b, rtol=1e-3, atol=1e-3)


def test_scores_and_the_rule():
    y = np.array([0, 0, 0, 1, 2])
    z = np.eye(K)[[0, 0, 0, 0, 2]]
    s = scores(z, y, ["pitt_slogans"] * 4 + ["pitt_ocr"])
    assert s["all"]["accuracy"] == 0.8 and s["all"]["balanced_accuracy"] == round(2 / 3, 4)
    assert s["pitt_ocr"] == {"rows": 1, "accuracy": 1.0, "balanced_accuracy": 1.0}
    assert s["recall"] == {"food": 1.0, "technology": 0.0, "fashion": 1.0} and s["answered"]["food"] == 4
    before = {"pitt_slogans": {"balanced_accuracy": 0.5}, "pitt_ocr": {"balanced_accuracy": 0.5}}
    up = {"pitt_slogans": {"balanced_accuracy": 0.6}, "pitt_ocr": {"balanced_accuracy": 0.55}}
    assert all(adopted(before, up, {"before": 0.76, "after": 0.751}).values())
    assert not adopted(before, up, {"before": 0.76, "after": 0.74})["adsynth_theme_holds"]
    assert not adopted(before, {**up, "pitt_ocr": {"balanced_accuracy": 0.5}}, {"before": 0.7, "after": 0.7})[
        "pitt_ocr_test_balanced_accuracy_rises"]
