"""Temperature scaling: the fit recovers a known temperature, ECE reads what it should, and a
calibrated lite_student checkpoint carries its temperatures into the logits."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from adfusion_edge import schema
from adfusion_edge.distill.evaluate.calibrate import (
    expected_calibration_error,
    fit_temperature,
    nll,
    write_calibrated,
)
from adfusion_edge.errors import ConfigError


def _sampled(true_t: float, n: int = 4000, k: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose labels are drawn from softmax(logits / true_t): the right temperature is true_t."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 3, (n, k))
    p = np.exp(z / true_t - (z / true_t).max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in p])
    return z, y


def _collected(true_t: float, n: int = 400) -> SimpleNamespace:
    """What ``collect`` returns, for every temperature-scaled head: logits whose right T is ``true_t``."""
    outputs, targets = {}, {}
    for h in schema.HEADS:
        if h.kind in ("single", "ordinal"):
            outputs[h.name], targets[f"y/{h.name}"] = _sampled(true_t, n=n, k=h.num_labels)
            targets[f"m/{h.name}"] = np.ones(n)
    return SimpleNamespace(outputs=outputs, targets=targets)


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_fit_recovers_the_temperature_the_labels_were_drawn_with(true_t):
    z, y = _sampled(true_t)
    t = fit_temperature(z, y)
    assert abs(np.log(t / true_t)) < 0.12, (t, true_t)
    assert nll(z, y, t) <= nll(z, y, 1.0) + 1e-9


def test_ece_is_zero_when_confidence_equals_accuracy_and_large_when_overconfident():
    y = np.zeros(1000, dtype=int)
    probs = np.tile([0.7, 0.3], (1000, 1))
    y[:300] = 1  # the top label (0) is right 70% of the time at confidence 0.7
    assert expected_calibration_error(probs, y) < 1e-9
    sure = np.tile([0.99, 0.01], (1000, 1))
    assert expected_calibration_error(sure, y) == pytest.approx(0.29, abs=1e-6)
    with pytest.raises(ConfigError):
        fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_calibrated_checkpoint_divides_the_logits(tmp_path):
    from adfusion_edge.distill.models.checkpoint import load_model, save_model
    from adfusion_edge.distill.models.registry import create_model
    from adfusion_edge.preprocess import PreprocessConfig

    pre = PreprocessConfig(image_size=64, max_tokens=16, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    torch.manual_seed(0)
    model = create_model("lite_student", pre, vision_weights="", max_positions=16).eval()
    save_model(model, tmp_path / "ckpt")
    out = write_calibrated(tmp_path / "ckpt", tmp_path / "calibrated", {"cta": 2.0, "theme": 0.5})
    calibrated = load_model(out)
    assert dict(calibrated.config.temperatures) == {"cta": 2.0, "theme": 0.5}
    image = torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8)
    ids = torch.randint(1000, 2000, (2, 16))
    mask = torch.ones(2, 16, dtype=torch.long)
    with torch.no_grad():
        a, b = model(image, ids, mask), calibrated(image, ids, mask)
    assert torch.allclose(b["cta"], a["cta"] / 2.0, atol=1e-6) and torch.allclose(b["theme"], a["theme"] * 2.0, atol=1e-5)
    assert torch.equal(a["sentiment"], b["sentiment"])
    student = create_model("student", PreprocessConfig(image_size=64, max_tokens=16), vocab_size=300, max_positions=16)
    save_model(student, tmp_path / "plain")
    with pytest.raises(ConfigError, match="no temperatures"):
        write_calibrated(tmp_path / "plain", tmp_path / "nope", {"cta": 2.0})


def test_a_trained_token_table_ships_as_int8_rows(tmp_path):
    from adfusion_edge.distill.models.checkpoint import load_model, save_model
    from adfusion_edge.distill.models.registry import create_model
    from adfusion_edge.preprocess import PreprocessConfig

    pre = PreprocessConfig(image_size=64, max_tokens=16, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    torch.manual_seed(0)
    model = create_model("lite_student", pre, vision_weights="", max_positions=16, token_table="train").eval()
    with torch.no_grad():
        model.token_embed.weight.add_(0.05 * torch.randn_like(model.token_embed.weight))  # "trained"
    save_model(model, tmp_path / "ckpt")
    shipped = load_model(write_calibrated(tmp_path / "ckpt", tmp_path / "cal", {}))
    assert shipped.config.token_table == "tuned" and shipped.tok_q.dtype == torch.int8
    assert "token_embed.weight" not in shipped.state_dict()
    image = torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8)
    ids = torch.randint(1000, 2000, (2, 16))
    mask = torch.ones(2, 16, dtype=torch.long)
    with torch.no_grad():
        a, b = model(image, ids, mask), shipped(image, ids, mask)
    for head in ("cta", "monetary", "keywords"):  # int8 rows: the same answers to rounding
        assert torch.allclose(a[head], b[head], atol=0.05), head
    assert torch.equal(a["theme"].argmax(-1), b["theme"].argmax(-1))
    with pytest.raises(ConfigError, match="token_table"):
        create_model("lite_student", pre, vision_weights="", max_positions=16, token_table="float")


def test_a_refit_at_the_grid_edge_is_clamped_to_what_a_config_takes():
    from adfusion_edge.distill.evaluate.calibrate import calibrate
    from adfusion_edge.distill.models.lite_student import TEMPERATURE_RANGE

    c = _collected(0.01)  # logits that want T far below the grid's 0.1
    model = SimpleNamespace(temperature={"trust_safety": 0.09})  # already scaled once, as the second calibration sees it
    temps = calibrate(model, {"adsynth_val": c, "realtext_fit": c})["temperatures"]
    assert temps["trust_safety"] == TEMPERATURE_RANGE[0]  # 0.1 x 0.09 would be refused by the config
    assert all(TEMPERATURE_RANGE[0] <= t <= TEMPERATURE_RANGE[1] for t in temps.values())


def test_a_refit_of_some_heads_keeps_every_other_temperature():
    from adfusion_edge.distill.evaluate.calibrate import calibrate

    c = _collected(2.5)
    model = SimpleNamespace(temperature={"theme": 0.7, "cta": 1.3})
    result = calibrate(model, {"adsynth_val": c, "realtext_fit": c}, heads=("monetary", "cta"))
    temps = result["temperatures"]
    assert temps["theme"] == 0.7 and set(temps) == {"theme", "monetary", "cta"}  # untouched heads keep theirs
    assert temps["cta"] == pytest.approx(2.5 * 1.3, rel=0.15) and temps["monetary"] == pytest.approx(2.5, rel=0.15)
    assert set(result["ece"]["adsynth_val"]) == {"monetary", "cta"}
    with pytest.raises(ConfigError, match="objects.*multi"):
        calibrate(model, {"adsynth_val": c, "realtext_fit": c}, heads=("objects",))
