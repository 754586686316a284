"""Helpers of the text-side real-ad measurements (distill/evaluate/real_dev_text.py)."""

from __future__ import annotations

import numpy as np

from adfusion_edge.distill.evaluate import real_dev_text as rdt
from adfusion_edge.static_text import StaticEmbeddings


def test_softmax_regression_learns_separable_classes():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (3, 5))
    y = rng.integers(0, 3, 300)
    x = centres[y] + rng.normal(0, 0.5, (300, 5))
    predict = rdt.softmax_regression(x, y, 3, steps=200)
    assert (predict(x) == y).mean() > 0.95


def test_accuracy_and_majority_skip_unlabelled():
    assert rdt.accuracy(["a", "b", "a"], ["a", None, "b"]) == (0.5, 2)
    assert rdt.majority(["a", None, "a", "b"]) == ("a", 2 / 3)


def test_zero_shot_and_bag_features_on_static():
    static = StaticEmbeddings()
    assert rdt.zero_shot(static.encode, ["cheap flights and hotels for your holiday"], "theme") == ["travel"]
    feats = rdt.BagFeatures(static, ["hot pizza", "hot pizza deal", "hot pizza now", "car"], min_count=3)
    f = feats(["hot pizza", "car"])
    assert f.shape == (2, static.dim + 2) and f[0, static.dim:].tolist() == [1.0, 1.0] and not f[1, static.dim:].any()


def test_adsynth_copy_follows_the_chosen_priors():
    new, old = rdt.adsynth_copy(400, legacy=False), rdt.adsynth_copy(400, legacy=True)
    share = lambda rows, h: sum(r[h] != "none" for r in rows) / len(rows)  # noqa: E731
    assert share(new, "cta") < 0.25 < 0.75 < share(old, "cta")
    assert share(new, "monetary") < 0.2 < 0.6 < share(old, "monetary")
