"""The real-ad student (lite_student): what is frozen stays the pretrained network, the priors in the
graph behave as documented, calibration temperatures land in the logits, and the graph exports."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_fixtures import LITE_SMALL as SMALL
from model_fixtures import assert_onnx_matches_torch, lite_inputs

from adfusion_edge import schema
from adfusion_edge.distill.models.efficientnet_lite import LiteImageNet, pretrained_lite
from adfusion_edge.distill.models.lite_student import LiteStudentConfig
from adfusion_edge.distill.models.registry import create_model
from adfusion_edge.errors import ConfigError
from adfusion_edge.preprocess import PreprocessConfig
from adfusion_edge.static_text import StaticEmbeddings


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return create_model("lite_student", SMALL, vision_weights="", max_positions=16).eval()


def test_outputs_follow_the_model_contract(model):
    out = model(*lite_inputs())
    for h in schema.HEADS:
        assert out[h.name].shape == (4, h.num_labels), h.name
    assert out[schema.SPAN_OUTPUT].shape == (4, 16, len(schema.SPAN_TAGS))
    assert out[schema.VALUE_OUTPUT].shape == (4,)
    assert all(torch.isfinite(v).all() for v in out.values())


def test_the_trunk_is_frozen_and_stays_in_eval_mode_while_training(model):
    model.train()
    try:
        assert not model.trunk.training and not any(p.requires_grad for p in model.trunk.parameters())
        trainable = {n for n, p in model.named_parameters() if p.requires_grad}
        assert "text_only.theme.weight" in trainable and "text_only.cta.weight" in trainable and not any(n.startswith("trunk.") for n in trainable)
        assert "table_q" not in dict(model.named_parameters())  # the int8 table is a buffer
    finally:
        model.eval()


def test_memoised_training_features_equal_the_trunk_run_on_every_image(model):
    image, ids, mask = lite_inputs(6)
    image[3] = 128  # two blank pictures (real-text rows), two copies of one AdSynth picture
    image[4] = 128
    image[5] = image[0]
    pixels = model.normalize(image)
    with torch.no_grad():
        reference = model._trunk_features(image, pixels)  # eval: every image through the trunk
        model.train()
        model._feature_cache.clear()
        try:
            first = model._trunk_features(image, pixels)
            again = model._trunk_features(image, pixels)  # all from the memo now
            assert len(model._feature_cache) == 4
        finally:
            model.eval()
            model._feature_cache.clear()
    assert torch.equal(first, reference) and torch.equal(again, reference)


def test_objects_are_a_noisy_or_that_never_lowers_the_prior(model):
    mass = torch.zeros(1, len(schema.OBJECTS))  # one value per object label
    mass[0, :5] = torch.tensor([0.0, 0.01, 0.05, 0.5, 0.99])
    for learned_logit in (-30.0, -2.0, 0.0, 3.0):
        learned = torch.full_like(mass, learned_logit)
        p = torch.sigmoid(model._noisy_or(mass, learned))
        thr = model.config.object_prior_threshold
        prior = torch.sigmoid(torch.logit(mass.clamp(1e-6, 1 - 1e-6)) - np.log(thr / (1 - thr)))
        expected = 1 - (1 - prior) * (1 - torch.sigmoid(learned))
        assert torch.allclose(p, expected, atol=2e-4), (learned_logit, p, expected)
    # At the documented threshold mass the prior alone gives 0.5.
    n = len(schema.OBJECTS)
    p = torch.sigmoid(model._noisy_or(torch.full((1, n), 0.05), torch.full((1, n), -30.0)))
    assert torch.allclose(p, torch.full_like(p, 0.5), atol=1e-3)


def test_theme_reads_the_image_prior_only_in_eval_mode():
    torch.manual_seed(0)
    with_prior = create_model("lite_student", SMALL, vision_weights="", max_positions=16, dropout=0.0)
    without = create_model("lite_student", SMALL, vision_weights="", max_positions=16, dropout=0.0,
                           theme_image_prior=0.0)
    without.load_state_dict(with_prior.state_dict())
    x = lite_inputs()
    with torch.no_grad():
        with_prior.eval(), without.eval()
        assert not torch.allclose(with_prior(*x)["theme"], without(*x)["theme"])
        with_prior.train(), without.train()
        assert torch.allclose(with_prior(*x)["theme"], without(*x)["theme"])


def test_temperatures_divide_the_logits_and_are_checked():
    torch.manual_seed(0)
    plain = create_model("lite_student", SMALL, vision_weights="", max_positions=16).eval()
    scaled = create_model("lite_student", SMALL, vision_weights="", max_positions=16,
                          temperatures=[["cta", 2.0], ["theme", 0.5]]).eval()
    scaled.load_state_dict(plain.state_dict())
    x = lite_inputs()
    with torch.no_grad():
        a, b = plain(*x), scaled(*x)
    assert torch.allclose(b["cta"], a["cta"] / 2.0) and torch.allclose(b["theme"], a["theme"] * 2.0)
    assert torch.equal(a["sentiment"], b["sentiment"])
    with pytest.raises(ConfigError, match="temperature"):
        LiteStudentConfig(temperatures=[["no_such_head", 1.0]])
    with pytest.raises(ConfigError, match="temperature"):
        LiteStudentConfig(temperatures=[["cta", 0.0]])


def test_wrong_preprocessing_or_table_size_is_refused():
    with pytest.raises(ConfigError, match="mean"):
        create_model("lite_student", PreprocessConfig(image_size=64, max_tokens=16), vision_weights="",
                     max_positions=16)
    with pytest.raises(ConfigError, match="vocab_size"):
        create_model("lite_student", SMALL, vision_weights="", max_positions=16, vocab_size=6000)


def test_static_mean_is_the_runtime_encoders_vector(model):
    """The zero-shot prior inside the graph reads the same vector as the torch-free open vocabulary."""
    static = StaticEmbeddings()
    text = "fresh pizza delivered hot"
    ids = static.token_ids([text])[0]
    input_ids = torch.tensor([[101, *ids, 102] + [0] * (16 - len(ids) - 2)])
    mask = (input_ids != 0).long()
    _, mean = model._static(input_ids, mask)
    runtime = static.encode([text])[0]
    assert np.allclose(torch.nn.functional.normalize(mean, dim=-1)[0].numpy(), runtime, atol=1e-5)


def test_onnx_export_matches_torch(model, tmp_path):
    assert_onnx_matches_torch(model, lite_inputs(2), [h.name for h in schema.HEADS], tmp_path / "lite.onnx")


def test_imagenet_logits_are_the_original_networks():
    """Learning without forgetting, by construction: the student's ImageNet logits are Lite0's own."""
    student = create_model("lite_student", SMALL, max_positions=16).eval()
    reference = LiteImageNet(pretrained_lite("efficientnet_lite0")).eval()
    image, ids, mask = lite_inputs(2)
    with torch.no_grad():
        assert torch.allclose(student(image, ids, mask)["aux/imagenet_logits"], reference(image), atol=1e-4)


def test_colour_from_pixels_is_the_adsynth_labels_rule_in_the_graph(tmp_path):
    from adfusion_edge.colour_names import COLOUR_NAMES, colour_shares

    torch.manual_seed(0)
    m = create_model("lite_student", SMALL, vision_weights="", max_positions=16, colour_from_pixels=True,
                     temperatures=[["dominant_colour", 2.0]]).eval()
    image, ids, mask = lite_inputs(3)
    image[1] = torch.tensor([30, 60, 220], dtype=torch.uint8)  # a flat blue ad
    with torch.no_grad():
        probs = m(image, ids, mask)["dominant_colour"].softmax(-1).numpy()
    for i in range(3):  # the shares of the numpy rule AdSynth labels with (the temperature is ignored)
        assert np.allclose(probs[i], np.maximum(colour_shares(image[i].numpy()), 1e-4) /
                           np.maximum(colour_shares(image[i].numpy()), 1e-4).sum(), atol=1e-5)
    assert COLOUR_NAMES[int(probs[1].argmax())] == "blue" and probs[1].max() > 0.99
    import onnxruntime as ort

    class Wrap(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, image, input_ids, attention_mask):
            return self.model(image, input_ids, attention_mask)["dominant_colour"]

    path = tmp_path / "colour.onnx"
    torch.onnx.export(Wrap(m), (image, ids, mask), str(path), input_names=["image", "input_ids", "attention_mask"],
                      output_names=["dominant_colour"], opset_version=17, dynamo=False)
    m.eval()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"image": image.numpy(), "input_ids": ids.numpy(), "attention_mask": mask.numpy()}
    got = sess.run(None, {i.name: feeds[i.name] for i in sess.get_inputs()})[0]  # colour reads the image only
    with torch.no_grad():
        assert np.allclose(got, m(image, ids, mask)["dominant_colour"].numpy(), atol=1e-5)


def test_theme_head_weight_zero_leaves_the_zero_shot_and_the_prior():
    torch.manual_seed(0)
    m = create_model("lite_student", SMALL, vision_weights="", max_positions=16, theme_head_weight=0.0).eval()
    x = lite_inputs(3)
    before = m(*x)["theme"]
    with torch.no_grad():
        m.text_only["theme"].weight.add_(5.0)  # the learned head no longer counts
        m.text_only["theme"].bias.add_(5.0)
    assert torch.allclose(m(*x)["theme"], before)
    with pytest.raises(ConfigError, match="theme_head_weight"):
        LiteStudentConfig(theme_head_weight=-1.0)
