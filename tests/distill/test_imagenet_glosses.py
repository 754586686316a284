"""WordNet glosses of the ImageNet classes (distill/models/imagenet_glosses.py) and the gloss theme prior
(imagenet_themes source="glosses", lite_student theme_prior_text, distill/evaluate/theme_prior_check.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from model_fixtures import LITE_SMALL as SMALL
from model_fixtures import lite_inputs

from adfusion_edge import schema
from adfusion_edge.distill.evaluate.theme_prior_check import OBJECT_THEMES, decide, object_class_agreement
from adfusion_edge.distill.models.imagenet_classes import imagenet_names
from adfusion_edge.distill.models.imagenet_glosses import definition, imagenet_glosses, read_glosses
from adfusion_edge.distill.models.imagenet_themes import class_texts, theme_matrix, theme_similarity
from adfusion_edge.distill.models.lite_student import LiteStudentConfig
from adfusion_edge.distill.models.registry import create_model
from adfusion_edge.errors import ConfigError

WORDNET = Path("/usr/share/wordnet")


def test_a_wordnet_line_gives_its_definition_without_the_examples():
    line = ('02870526 06 n 01 book 2 001 @ 04007894 n 0000 | a number of sheets (ticket or stamps etc.) bound '
            'together on one edge; "he bought a book of stamps"  \n')
    assert definition(line) == "a number of sheets (ticket or stamps etc.) bound together on one edge"


def test_every_class_has_its_gloss_and_the_text_joins_names_and_gloss():
    glosses, names = imagenet_glosses(), imagenet_names()
    assert len(glosses) == 1000 and all(g.strip() for g in glosses)
    i = names.index("butcher shop")
    assert "meat" in glosses[i]
    assert class_texts("glosses")[i] == f"{class_texts('lemmas')[i]}: {glosses[i]}"
    with pytest.raises(ValueError, match="expected one of"):
        class_texts("wordnet")


@pytest.mark.skipif(not (WORDNET / "data.noun").is_file(), reason="WordNet 3.0 (apt-get install wordnet-base) absent")
def test_the_stored_glosses_are_what_wordnet_says():
    assert [g for _, g in read_glosses(WORDNET)] == list(imagenet_glosses())


def test_bad_wordnet_folders_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="wordnet-base"):
        read_glosses(tmp_path)
    (tmp_path / "data.noun").write_text("  1 licence header\n01440764 03 n 02 tench 0 | a fish\n")
    with pytest.raises(ValueError, match="999 ImageNet synsets not found"):
        read_glosses(tmp_path)


def test_stored_gloss_similarity_is_what_minilm_computes():
    from adfusion_edge.distill.models.imagenet_themes import compute_theme_similarity

    some = [0, 415, 467, 817, 999]
    np.testing.assert_allclose(compute_theme_similarity(some, source="glosses"),
                               theme_similarity("glosses")[some], atol=1e-4)
    t = theme_matrix(0.05, "glosses")
    np.testing.assert_allclose(t.sum(1), 1.0, rtol=1e-5)
    themes = schema.head("theme").labels
    assert themes[int(t[imagenet_names().index("butcher shop")].argmax())] == "food"  # lemmas alone: fashion


def test_the_config_picks_the_prior_and_only_the_theme_moves():
    torch.manual_seed(0)
    kw = dict(vision_weights="", max_positions=16)
    lem = create_model("lite_student", SMALL, **kw).eval()
    glo = create_model("lite_student", SMALL, theme_prior_text="glosses", **kw).eval()
    glo.load_state_dict(lem.state_dict(), strict=True)  # the prior is config, not checkpoint weights
    np.testing.assert_array_equal(glo.priors.theme_matrix.numpy(), theme_matrix(0.1, "glosses"))
    x = lite_inputs()
    with torch.no_grad():
        a, b = lem(*x), glo(*x)
    assert not torch.equal(a["theme"], b["theme"])
    for name in a:
        if name != "theme":
            assert torch.equal(a[name], b[name]), name
    assert LiteStudentConfig(**LiteStudentConfig(theme_prior_text="glosses").to_dict()).theme_prior_text == "glosses"
    with pytest.raises(ConfigError, match="theme_prior_text must be"):
        LiteStudentConfig(theme_prior_text="wordnet")


def test_object_class_agreement_and_the_rule():
    themes = schema.head("theme").labels
    perfect = np.zeros((1000, len(themes)), np.float32)
    from adfusion_edge.distill.models.imagenet_objects import OBJECT_CLASSES, _resolve

    for label, theme in OBJECT_THEMES.items():
        for i in _resolve(OBJECT_CLASSES[label], label):
            perfect[i, themes.index(theme)] = 1.0
    got = object_class_agreement(perfect)
    assert got["agreement"] == 1.0 and got["classes"] > 50
    assert object_class_agreement(np.eye(len(themes))[np.zeros(1000, int)])["agreement"] < 0.5  # all food
    before = {"objects": {"agreement": 0.7}, "adsynth_theme": 0.76, "pitt_theme": 0.725}
    ok = {"objects": {"agreement": 0.8}, "adsynth_theme": 0.751, "pitt_theme": 0.7201}
    assert all(decide(before, ok, []).values())
    assert not decide(before, {**ok, "pitt_theme": 0.719}, [])["pitt_theme_holds"]
    assert not decide(before, {**ok, "objects": {"agreement": 0.7}}, [])["object_class_agreement_rises"]
    assert not decide(before, ok, ["pitt:cta"])["other_outputs_identical"]


def test_the_check_refuses_a_checkpoint_that_already_reads_glosses(tmp_path):
    from adfusion_edge.distill.evaluate.theme_prior_check import main
    from adfusion_edge.distill.models.checkpoint import save_model

    model = create_model("lite_student", SMALL, vision_weights="", max_positions=16, theme_prior_text="glosses")
    ckpt = save_model(model, tmp_path / "ckpt", {})
    with pytest.raises(ConfigError, match="already reads 'glosses'"):
        main(["--checkpoint", str(ckpt), "--corpus", str(tmp_path / "none"), "--test-rows", str(tmp_path / "r.jsonl"),
              "--out", str(tmp_path / "out")])
