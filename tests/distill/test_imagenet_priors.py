"""ImageNet priors: class names, the object-label matrix, the person classes, the theme prior,
and the ImageNet-agreement reading used for the keep-what-was-pretrained check."""

from __future__ import annotations

import numpy as np
import pytest

from adfusion_edge import schema
from adfusion_edge.distill.evaluate.real_dev_vision import (
    any_right,
    imagenet_agreement,
    micro_f1,
    pick_on_adsynth,
    predict_objects,
)
from adfusion_edge.distill.models.imagenet_classes import imagenet_lemmas, imagenet_names
from adfusion_edge.distill.models.imagenet_objects import object_mass, object_matrix, person_vector
from adfusion_edge.distill.models.imagenet_themes import THEME_DESCRIPTIONS, theme_matrix, theme_similarity

OBJECTS = schema.head("objects").labels


def onehot(*names: str) -> np.ndarray:
    p = np.zeros((len(names), 1000), np.float32)
    for r, n in enumerate(names):
        p[r, imagenet_names().index(n)] = 1.0
    return p


def test_class_names_are_imagenet_order():
    names = imagenet_names()
    assert len(names) == 1000 and names[0] == "tench" and names[999] == "toilet tissue"
    assert "cellphone" in imagenet_lemmas()[487] and names[817] == "sports car"


@pytest.mark.parametrize("cls,label", [
    ("jeep", "car"), ("sports car", "car"), ("cab", "car"), ("pickup", "car"), ("pizza", "pizza"),
    ("cheeseburger", "burger"), ("espresso", "coffee"), ("cellular telephone", "phone"),
    ("running shoe", "shoe"), ("lipstick", "lipstick"), ("mortarboard", "graduation_cap"),
    ("pill bottle", "pill"),
])
def test_mapping_names_the_issue_examples(cls, label):
    row = object_matrix()[imagenet_names().index(cls)]
    assert row.sum() == 1 and OBJECTS[int(row.argmax())] == label


def test_object_matrix_is_a_partition_and_mass_a_probability():
    m = object_matrix()
    assert m.shape == (1000, len(OBJECTS)) and set(np.unique(m)) <= {0.0, 1.0}
    assert m.sum(1).max() == 1  # a class never counts for two labels
    assert m[:, OBJECTS.index("person")].sum() == 0  # person comes from person_vector
    assert person_vector()[imagenet_names().index("ballplayer")] == 1
    probs = np.random.default_rng(0).dirichlet(np.ones(1000), size=4).astype(np.float32)
    mass = object_mass(probs, with_person=False)
    assert (mass.sum(1) <= 1 + 1e-5).all()


def test_predicted_objects_and_any_right():
    probs = onehot("jeep", "ballplayer", "tench")
    pred = predict_objects(probs, threshold=0.5)
    assert pred == [{"car"}, {"person"}, set()]
    assert predict_objects(probs, 0.5, person="none")[1] == set()
    assert any_right(pred, [["car", "person"], ["book"], []]) == (1, 2)
    assert micro_f1(pred, [["car"], ["person"], []]) == 1.0


def test_theme_prior_is_a_constant_stochastic_matrix_that_points_the_right_way():
    themes = schema.head("theme").labels
    assert set(THEME_DESCRIPTIONS) == set(themes)
    s = theme_similarity()
    assert s.shape == (1000, len(themes)) and np.abs(s).max() <= 1.0 + 1e-5
    t = theme_matrix(0.05)
    np.testing.assert_allclose(t.sum(1), 1.0, rtol=1e-5)
    names = imagenet_names()
    for cls, theme in (("pizza", "food"), ("sports car", "automotive"), ("lipstick", "beauty"),
                       ("cellular telephone", "technology"), ("suit", "fashion")):
        assert themes[int(t[names.index(cls)].argmax())] == theme, cls


def test_stored_theme_similarity_is_what_minilm_computes():
    from adfusion_edge.distill.models.imagenet_themes import compute_theme_similarity

    some = [0, 487, 817, 963, 999]
    np.testing.assert_allclose(compute_theme_similarity(some), theme_similarity()[some], atol=1e-4)


def test_thresholds_are_picked_on_the_data_given():
    probs = np.concatenate([onehot("jeep") * 0.3 + onehot("tench") * 0.7, onehot("pizza")])
    picked = pick_on_adsynth(probs, [["car"], ["pizza"]], ["automotive", "food"], thresholds=(0.2, 0.5))
    assert picked["object_threshold"] == 0.2  # 0.5 misses the 0.3 jeep


def test_imagenet_agreement():
    a = np.random.default_rng(1).random((6, 1000))
    assert imagenet_agreement(a, a) == {"top1": 1.0, "top5_overlap": 1.0, "ref_top1_in_top5": 1.0}
    b = a.copy()
    b[:, np.argsort(-a[0])[0]] = -1.0  # remove image 0's top class everywhere
    got = imagenet_agreement(a, b)
    assert got["top1"] < 1.0 and 0.7 < got["top5_overlap"] < 1.0
    with pytest.raises(ValueError, match="shapes"):
        imagenet_agreement(a, a[:3])


def test_medium_classes_are_dropped_and_the_rest_renormalised():
    from adfusion_edge.distill.models.imagenet_objects import content_probs

    probs = onehot("web site") * 0.8 + onehot("jeep") * 0.2
    p = content_probs(probs)
    names = imagenet_names()
    assert p[0, names.index("web site")] == 0 and p[0, names.index("jeep")] == pytest.approx(1.0)
    assert predict_objects(p, 0.5) == [{"car"}]
    assert object_matrix()[names.index("book jacket")].sum() == 0  # the medium is no book
