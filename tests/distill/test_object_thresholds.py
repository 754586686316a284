"""Per-label object-prior thresholds: the rule (a quantile of the mass on ads without the label, never
below the default, person left out), the scores it is judged by, and the config field's checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_fixtures import LITE_SMALL

from adfusion_edge import schema
from adfusion_edge.distill.evaluate.object_thresholds import object_scores, thresholds
from adfusion_edge.distill.models.lite_student import LiteStudentConfig
from adfusion_edge.distill.models.registry import create_model
from adfusion_edge.errors import ConfigError


def test_the_rule_raises_only_labels_whose_prior_fires_without_the_object():
    n, k = 200, len(schema.OBJECTS)
    mass = np.full((n, k), 0.01)
    y = np.zeros((n, k), bool)
    lotion, person, car = (schema.OBJECTS.index(x) for x in ("lotion", "person", "car"))
    mass[:, lotion] = np.linspace(0, 0.6, n)  # fires on plain ads
    mass[:, person] = np.linspace(0, 0.6, n)  # the same, but person is left out
    y[:10, car] = True
    got = thresholds(mass, y, default=0.05)
    assert set(got) == {"lotion"} and got["lotion"] == pytest.approx(np.quantile(mass[:, lotion], 0.98), abs=1e-4)


def test_scores_count_precision_and_any_right():
    y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]], bool)
    prob = np.array([[0.9, 0.8, 0.1], [0.1, 0.2, 0.1], [0.7, 0.1, 0.1]])
    s = object_scores(prob, y)
    assert s["micro_precision"] == pytest.approx(1 / 3) and s["micro_recall"] == pytest.approx(0.5)
    assert s["any_right"] == pytest.approx(0.5) and s["ads_with_objects"] == 2


def test_a_label_threshold_moves_only_that_label():
    pre = LITE_SMALL
    torch.manual_seed(0)
    base = create_model("lite_student", pre, vision_weights="", max_positions=16).eval()
    torch.manual_seed(0)
    moved = create_model("lite_student", pre, vision_weights="", max_positions=16,
                         object_prior_thresholds={"lotion": 0.5}).eval()
    moved.load_state_dict(base.state_dict())
    g = torch.Generator().manual_seed(1)
    x = (torch.randint(0, 256, (3, 64, 64, 3), generator=g, dtype=torch.uint8),
         torch.randint(1000, 3000, (3, 16), generator=g), torch.ones(3, 16, dtype=torch.long))
    a, b = base(*x)["objects"], moved(*x)["objects"]
    j = schema.OBJECTS.index("lotion")
    assert torch.allclose(torch.cat([a[:, :j], a[:, j + 1:]], 1), torch.cat([b[:, :j], b[:, j + 1:]], 1))
    assert (b[:, j] <= a[:, j] + 1e-6).all()
    assert moved.config.to_dict()["object_prior_thresholds"] == [["lotion", 0.5]]


@pytest.mark.parametrize("bad", [{"unicorn": 0.3}, {"lotion": 1.5}])
def test_bad_thresholds_are_config_errors(bad):
    with pytest.raises(ConfigError, match="object_prior_thresholds"):
        LiteStudentConfig(object_prior_thresholds=bad)


def test_prior_masses_are_the_models_own_outputs():
    from adfusion_edge.distill.evaluate.object_thresholds import prior_masses

    pre = LITE_SMALL
    torch.manual_seed(0)
    model = create_model("lite_student", pre, vision_weights="", max_positions=16).eval()
    g = torch.Generator().manual_seed(2)
    batch = {"image": torch.randint(0, 256, (3, 64, 64, 3), generator=g, dtype=torch.uint8),
             "input_ids": torch.randint(1000, 3000, (3, 16), generator=g), "attention_mask": torch.ones(3, 16, dtype=torch.long),
             "y/objects": torch.zeros(3, len(schema.OBJECTS)), "m/objects": torch.tensor([1, 0, 1])}
    got = prior_masses(model, [batch])
    with torch.no_grad():
        out = model(batch["image"], batch["input_ids"], batch["attention_mask"])
    assert np.allclose(got["mass"], out["aux/object_mass"].numpy())
    assert np.allclose(got["prob"], torch.sigmoid(out["objects"]).numpy(), atol=1e-6)
    assert got["m"].tolist() == [True, False, True] and not got["y"].any()
