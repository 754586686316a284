"""Model contract tests: every registered model at tiny size, ResNet-18 naming, ONNX export."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from model_fixtures import PRE, TEXT, assert_overfits_one_batch, build, make_batch, run

from adfusion_edge import schema
from adfusion_edge.distill.models import registry
from adfusion_edge.distill.models.adfusionnet import ABLATION_PRESETS, AUX_HEADS, CPU_SCALE, AdFusionNetConfig
from adfusion_edge.distill.models.resnet import ResNet18, feature_sizes, load_imagenet_weights
from adfusion_edge.distill.models.text_encoders import TextEncoder, TextEncoderConfig, tokenizer_path_for
from adfusion_edge.distill.train.losses import LossWeights, compute_losses
from adfusion_edge.errors import ConfigError
from adfusion_edge.tokenizer import AdTokenizer

MODELS = registry.list_models()

# torchvision.models.resnet18().named_parameters(), in order (torchvision cannot be installed here).
TORCHVISION_RESNET18_PARAMS = """
conv1.weight bn1.weight bn1.bias
layer1.0.conv1.weight layer1.0.bn1.weight layer1.0.bn1.bias layer1.0.conv2.weight layer1.0.bn2.weight layer1.0.bn2.bias
layer1.1.conv1.weight layer1.1.bn1.weight layer1.1.bn1.bias layer1.1.conv2.weight layer1.1.bn2.weight layer1.1.bn2.bias
layer2.0.conv1.weight layer2.0.bn1.weight layer2.0.bn1.bias layer2.0.conv2.weight layer2.0.bn2.weight layer2.0.bn2.bias
layer2.0.downsample.0.weight layer2.0.downsample.1.weight layer2.0.downsample.1.bias
layer2.1.conv1.weight layer2.1.bn1.weight layer2.1.bn1.bias layer2.1.conv2.weight layer2.1.bn2.weight layer2.1.bn2.bias
layer3.0.conv1.weight layer3.0.bn1.weight layer3.0.bn1.bias layer3.0.conv2.weight layer3.0.bn2.weight layer3.0.bn2.bias
layer3.0.downsample.0.weight layer3.0.downsample.1.weight layer3.0.downsample.1.bias
layer3.1.conv1.weight layer3.1.bn1.weight layer3.1.bn1.bias layer3.1.conv2.weight layer3.1.bn2.weight layer3.1.bn2.bias
layer4.0.conv1.weight layer4.0.bn1.weight layer4.0.bn1.bias layer4.0.conv2.weight layer4.0.bn2.weight layer4.0.bn2.bias
layer4.0.downsample.0.weight layer4.0.downsample.1.weight layer4.0.downsample.1.bias
layer4.1.conv1.weight layer4.1.bn1.weight layer4.1.bn1.bias layer4.1.conv2.weight layer4.1.bn2.weight layer4.1.bn2.bias
fc.weight fc.bias
""".split()
TORCHVISION_RESNET18_NUM_PARAMS = 11_689_512


def _bn_buffers(params: list[str]) -> list[str]:
    """torchvision's state_dict order: per BatchNorm weight, bias, running_mean, running_var, num_batches_tracked."""
    keys = []
    for p in params:
        keys.append(p)
        is_bn = ".bn" in p or p.startswith("bn") or "downsample.1" in p
        if is_bn and p.endswith(".bias"):
            base = p[: -len("bias")]
            keys += [base + "running_mean", base + "running_var", base + "num_batches_tracked"]
    return keys



@pytest.fixture(scope="module")
def batch(tokenizer_file):
    return make_batch(tokenizer_file, n=4)


@pytest.mark.parametrize("name", MODELS)
def test_forward_backward_shapes(name, batch):
    model = build(name).train()
    out = run(model, batch)
    n, L = batch["input_ids"].shape
    for h in schema.HEADS:
        assert out[h.name].shape == (n, h.num_labels), h.name
    assert out[schema.SPAN_OUTPUT].shape == (n, L, len(schema.SPAN_TAGS))
    assert out[schema.VALUE_OUTPUT].shape == (n,)
    for key in ("aux/image_emb", "aux/text_emb", "aux/fused"):
        if key in out:
            assert out[key].ndim == 2 and out[key].shape[0] == n, key
    if "aux/image_emb" in out:
        assert out["aux/image_emb"].shape == out["aux/text_emb"].shape
    for key, v in out.items():
        assert torch.isfinite(v).all(), key
    compute_losses(out, batch, LossWeights())["total"].backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    assert all(torch.isfinite(g).all() for g in grads if g is not None)


@pytest.mark.parametrize("name", MODELS)
def test_describe_rebuilds(name):
    model = build(name)
    d = model.describe()
    again = registry.create_model(d["name"], d["preprocess"], **d["config"])
    assert type(again) is type(model)
    assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


def test_registry_has_paper_models():
    expected = {"adfusionnet", "adfusionnet_no_xattn", "adfusionnet_no_multiscale", "resnet18_image", "vit_image",
                "distilbert_text", "roberta_text", "early_fusion", "late_fusion", "clip_dual"}
    assert expected <= set(MODELS)


def test_adfusionnet_aux_outputs(batch):
    out = run(build("adfusionnet").eval(), batch)
    for h in AUX_HEADS:
        assert out[f"aux/image_logits/{h}"].shape == out[f"aux/text_logits/{h}"].shape == out[h].shape
    assert out["aux/logit_scale"].ndim == 0
    assert out["aux/fused"].shape == (4, 32)
    assert out["aux/attention_map"].shape == (4, 2, 2)  # layer4 grid at 64 px


def test_ablations_change_structure(batch):
    full, no_x, no_ms = build("adfusionnet"), build("adfusionnet_no_xattn"), build("adfusionnet_no_multiscale")
    assert hasattr(full, "fusion") and len(full.fusion) == 2 and not hasattr(no_x, "fusion")
    assert len(full.scale_proj) == 3 and len(no_ms.scale_proj) == 1
    # 64 px: layer2/3/4 maps are 8/4/2, all pooled to a 2x2 grid -> 1 global + 12 region tokens
    assert feature_sizes(64) == (8, 4, 2) and full.token_pos.shape == (13, 32)
    with pytest.raises(ConfigError, match="fixes"):
        registry.create_model("adfusionnet_no_xattn", PRE, cross_attention=True)
    assert not no_x.describe()["config"]["cross_attention"]


def test_ablation_presets_build():
    for preset, (model_name, cfg, loss) in ABLATION_PRESETS.items():
        model = build(model_name, **cfg)
        LossWeights(**loss)
        assert model.name == model_name, preset
    assert ABLATION_PRESETS["no_itc"][2] == {"beta": 0.0} and ABLATION_PRESETS["no_mi"][2] == {"gamma": 0.0}


def test_config_validation():
    AdFusionNetConfig(**CPU_SCALE)
    for bad in (dict(d_model=30), dict(fusion_heads=3), dict(ms_fusion="sum"), dict(itc_source="x"),
                dict(text_pool="max"), dict(text_encoder="/nonexistent/dir"), dict(dropout=1.0),
                dict(cross_attention=False, itc_source="attended")):
        with pytest.raises(ConfigError):
            AdFusionNetConfig(**bad)
    with pytest.raises(ConfigError, match="bad config"):
        registry.create_model("adfusionnet", PRE, no_such_field=1)
    with pytest.raises(ConfigError, match="positions"):
        build("distilbert_text", max_positions=8)  # max_tokens 16 does not fit


def test_residual_ms_fusion_and_cls_pool(batch):
    out = run(build("adfusionnet", ms_fusion="residual", text_pool="cls", itc_source="attended").eval(), batch)
    assert out["theme"].shape == (4, 12)


def test_late_fusion_averages_probabilities(batch):
    model = build("late_fusion").eval()
    out = run(model, batch)
    with torch.no_grad():
        v = model.backbone(model.normalize(batch["image"]))[-1].mean((2, 3))
        _, h = model.text(batch["input_ids"], batch["attention_mask"])
        iv, tv = model.image_heads(v), model.text_heads(h)
    mean_p = 0.5 * (iv["theme"].softmax(-1) + tv["theme"].softmax(-1))
    torch.testing.assert_close(out["theme"].softmax(-1), mean_p)
    mean_s = 0.5 * (iv["keywords"].sigmoid() + tv["keywords"].sigmoid())
    torch.testing.assert_close(out["keywords"].sigmoid(), mean_s)


def test_image_only_span_is_learned_bias(batch):
    model = build("resnet18_image")
    out = run(model, batch)
    assert out[schema.SPAN_OUTPUT].requires_grad
    assert torch.equal(out[schema.SPAN_OUTPUT][1, 3], model.span_bias.bias)


def test_clip_dual_freeze(batch):
    model = build("clip_dual", freeze_encoders=True).train()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert not any(p.requires_grad for p in model.text.parameters())
    assert not model.backbone.training and model.heads.training
    out = run(model, batch)
    assert not out["aux/image_emb"].requires_grad and out["theme"].requires_grad


def test_resnet18_names_match_torchvision(tmp_path):
    ref = ResNet18(with_fc=True)
    assert [n for n, _ in ref.named_parameters()] == TORCHVISION_RESNET18_PARAMS
    assert list(ref.state_dict()) == _bn_buffers(TORCHVISION_RESNET18_PARAMS)
    assert sum(p.numel() for p in ref.parameters()) == TORCHVISION_RESNET18_NUM_PARAMS
    shapes = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert shapes["conv1.weight"] == (64, 3, 7, 7) and shapes["fc.weight"] == (1000, 512)
    assert shapes["layer3.0.downsample.0.weight"] == (256, 128, 1, 1)


def test_load_imagenet_weights_pth_and_safetensors(tmp_path):
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(1)
    sd = {k: (torch.randn(v.shape, generator=g) if v.is_floating_point() else v.clone())
          for k, v in ResNet18(with_fc=True).state_dict().items()}
    assert list(sd) == _bn_buffers(TORCHVISION_RESNET18_PARAMS)
    torch.save({"module." + k: v for k, v in sd.items()}, tmp_path / "r18.pth")
    save_file(sd, str(tmp_path / "r18.safetensors"))
    for f in ("r18.pth", "r18.safetensors"):
        model = ResNet18()
        assert load_imagenet_weights(model, tmp_path / f) == ["fc.bias", "fc.weight"]
        for k, v in model.state_dict().items():
            assert torch.equal(v, sd[k]), k
    with pytest.raises(ConfigError, match="missing: layer4.1.bn2.weight"):
        load_imagenet_weights(ResNet18(), {k: v for k, v in sd.items() if k != "layer4.1.bn2.weight"})
    with pytest.raises(ConfigError, match="width=1.0"):
        load_imagenet_weights(ResNet18(width=0.5), sd)
    with pytest.raises(FileNotFoundError):
        load_imagenet_weights(ResNet18(), tmp_path / "none.pth")


def test_text_encoders(batch):
    ids, mask = batch["input_ids"], batch["attention_mask"]
    for kind in ("distilbert", "roberta"):
        torch.manual_seed(0)
        enc = TextEncoder(TextEncoderConfig(text_encoder=kind, **TEXT), PRE.max_tokens).eval()
        tokens, pooled = enc(ids, mask)
        assert tokens.shape == (4, 16, 32) and enc.tokenizer_path is None
        m = mask[..., None].float()
        torch.testing.assert_close(pooled, (tokens * m).sum(1) / m.sum(1))
    cls = TextEncoder(TextEncoderConfig(text_pool="cls", **TEXT), PRE.max_tokens).eval()
    tokens, pooled = cls(ids, mask)
    assert torch.equal(pooled, tokens[:, 0])


def test_pretrained_minilm_with_its_own_tokenizer():
    tok_path = tokenizer_path_for("minilm")
    assert tok_path and tok_path.endswith("tokenizer.json")
    tok = AdTokenizer(tok_path, PRE.max_tokens)
    tb = tok.encode(["Hot pizza 50% OFF today only!", "Buy now"])
    model = build("distilbert_text", text_encoder="minilm").eval()
    assert model.text.dim == 384 and model.text.tokenizer_path == tok_path
    out = model(torch.zeros(2, 64, 64, 3, dtype=torch.uint8), torch.from_numpy(tb.input_ids),
                torch.from_numpy(tb.attention_mask))
    assert out[schema.SPAN_OUTPUT].shape == (2, 16, 3) and torch.isfinite(out["theme"]).all()


def test_overfit_one_batch(tokenizer_file):
    assert_overfits_one_batch(build("adfusionnet"), tokenizer_file)


class _Tuple(torch.nn.Module):
    """Export view: schema outputs as a tuple in output_names() order (aux dropped)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image, input_ids, attention_mask):
        out = self.model(image, input_ids, attention_mask)
        return tuple(out[k] for k in schema.output_names())


def test_adfusionnet_onnx_export_matches_torch(batch):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = build("adfusionnet").eval()
    wrapper = _Tuple(model).eval()
    names = list(schema.output_names())
    f = io.BytesIO()
    inputs = (batch["image"], batch["input_ids"], batch["attention_mask"])
    dyn = {k: {0: "batch"} for k in ["image", "input_ids", "attention_mask", *names]}
    torch.onnx.export(wrapper, inputs, f, dynamo=False, opset_version=17, input_names=list(dyn)[:3],
                      output_names=names, dynamic_axes=dyn)
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == names
    # A different batch size and padding than traced: masks and shapes must be dynamic in the graph.
    image = batch["image"][:3].numpy()
    ids = batch["input_ids"][:3].numpy().copy()
    mask = batch["attention_mask"][:3].numpy().copy()
    mask[0, 6:] = 0
    ids[0, 6:] = 0
    got = sess.run(None, {"image": image, "input_ids": ids, "attention_mask": mask})
    model.eval()
    with torch.no_grad():
        ref = wrapper(torch.from_numpy(image), torch.from_numpy(ids), torch.from_numpy(mask))
    for name, a, b in zip(names, got, ref, strict=True):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-4, atol=1e-4, err_msg=name)
