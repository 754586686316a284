"""Shared helpers for model/loss tests: tiny configs for every registered model, real small batches.

Batches go through the real path: PNG-encoded images drawn with PIL, AdRecords with valid labels,
``encode_batch`` with a real WordPiece tokenizer, then numpy -> torch.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from adfusion_edge import schema
from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.distill.data.targets import encode_batch
from adfusion_edge.distill.models.lite_student import LITE_PREPROCESS
from adfusion_edge.preprocess import PreprocessConfig
from adfusion_edge.tokenizer import AdTokenizer

# lite_student at test size: 64 px, 16 tokens, its own normalisation.
LITE_SMALL = PreprocessConfig(image_size=64, max_tokens=16, mean=LITE_PREPROCESS.mean, std=LITE_PREPROCESS.std)

PRE = PreprocessConfig(image_size=64, max_tokens=16)
TEXT = dict(vocab_size=300, max_positions=16, text_dim=32, text_layers=1, text_heads=2, text_ffn=64, text_dropout=0.0)
FUSION = dict(TEXT, resnet_width=0.125, d_model=32, fusion_heads=2, ffn_mult=2, dropout=0.0)

# Tiny config per registered name; names not listed (the student, written elsewhere) use defaults.
TINY: dict[str, dict[str, Any]] = {
    "adfusionnet": FUSION,
    "adfusionnet_no_xattn": FUSION,
    "adfusionnet_no_multiscale": FUSION,
    "resnet18_image": dict(resnet_width=0.125, dropout=0.0),
    "vit_image": dict(vit_dim=32, vit_layers=1, vit_heads=2, vit_ffn=64, dropout=0.0),
    "distilbert_text": dict(TEXT, dropout=0.0),
    "roberta_text": dict(TEXT, dropout=0.0),
    "early_fusion": dict(TEXT, resnet_width=0.125, d_model=32, dropout=0.0),
    "late_fusion": dict(TEXT, resnet_width=0.125, dropout=0.0),
    "clip_dual": dict(TEXT, resnet_width=0.125, embed_dim=32, dropout=0.0),
    # Random trunk (the pretrained one is tested in test_lite_student.py): building stays fast.
    "lite_student": dict(vision_weights="", max_positions=16, dropout=0.0),
}
# Models whose graph normalises with other constants than PRE's (the pretrained trunk's own).
PRE_OF: dict[str, PreprocessConfig] = {
    "lite_student": PreprocessConfig(image_size=64, max_tokens=16, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
}

ADS = [  # (text, monetary label, monetary substring or None)
    ("Hot pizza 50% OFF today only! Order Now", "percent_off", "50% OFF"),
    ("New smartphone launch. Buy Now for $499.99", "price", "$499.99"),
    ("Vote for change. Support Us this election", "none", None),
    ("Summer getaway: flights from $99. Book Now", "price", "$99"),
    ("Glow skincare collection - Buy 1 Get 1 Free. Shop Now", "bogo", "Buy 1 Get 1 Free"),
    ("Save 20 on your first order. Free shipping", "discount", "Save 20"),
    ("10% cashback on every purchase with our credit card. Sign Up", "cashback", "10% cashback"),
    ("Learn to code online. Get Started free", "free", "free"),
]


def make_image(rng: np.random.Generator, size: int = 64) -> bytes:
    """A real PNG: coloured background with a rectangle and an ellipse."""
    img = Image.new("RGB", (size, size), tuple(int(c) for c in rng.integers(0, 256, 3)))
    d = ImageDraw.Draw(img)
    x0, y0 = (int(v) for v in rng.integers(0, size // 2, 2))
    d.rectangle([x0, y0, x0 + size // 3, y0 + size // 4], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    d.ellipse([size // 2, size // 2, size - 4, size - 4], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def make_records(n: int, seed: int = 0) -> list[AdRecord]:
    """n AdRecords with every head labelled (random but valid labels) and a CTR value."""
    rng = np.random.default_rng(seed)
    recs = []
    for i in range(n):
        text, money, sub = ADS[i % len(ADS)]
        labels: dict[str, Any] = {}
        for h in schema.HEADS:
            if h.kind == "multi":
                labels[h.name] = [h.labels[j] for j in rng.choice(h.num_labels, 2, replace=False)]
            else:
                labels[h.name] = h.labels[int(rng.integers(h.num_labels))]
        labels["monetary"] = money
        span = None if sub is None else (text.index(sub), text.index(sub) + len(sub))
        recs.append(AdRecord(id=f"t{i}", image=make_image(rng), text=text, labels=labels, monetary_span=span,
                             ctr_value=float(rng.uniform(0.005, 0.2))))
    return recs


def to_torch(batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in batch.items()}


def make_batch(tokenizer_file: str, n: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    tok = AdTokenizer(tokenizer_file, PRE.max_tokens)
    return to_torch(encode_batch(make_records(n, seed), None, tok, PRE))


def build(name: str, **overrides: Any) -> torch.nn.Module:
    from adfusion_edge.distill.models import registry

    torch.manual_seed(0)
    return registry.create_model(name, PRE_OF.get(name, PRE), **{**TINY.get(name, {}), **overrides})


def run(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return model(batch["image"], batch["input_ids"], batch["attention_mask"])


def assert_overfits_one_batch(model: torch.nn.Module, tokenizer_file: str, steps: int = 100) -> None:
    """Drive L_task on one fixed batch (random labels per ad: only memorising image + text fits
    them) to under 5% of its starting value; the shared one-batch overfit check for every model."""
    from adfusion_edge.distill.train.losses import LossWeights, compute_losses

    batch = make_batch(tokenizer_file, n=8, seed=3)
    model.train()
    w = LossWeights(beta=0.0, gamma=0.0, label_smoothing=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(steps):
        loss = compute_losses(run(model, batch), batch, w)
        first = first if first is not None else loss["task"].item()
        opt.zero_grad()
        loss["total"].backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        final = compute_losses(run(model, batch), batch, w)["task"].item()
    assert first > 10.0 and final < 0.05 * first, (first, final)


def assert_onnx_matches_torch(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...], outputs: list[str],
                              path: str, atol: float = 1e-3) -> None:
    """Export ``model`` (called as ``model(image, input_ids, attention_mask)``, answering a dict) to ONNX at
    ``path`` with a dynamic batch, run it in ONNX Runtime on ``inputs`` and compare ``outputs`` with torch's."""
    import onnxruntime as ort

    names = ["image", "input_ids", "attention_mask"]

    class Wrap(torch.nn.Module):  # the exporter wants a tuple of tensors, the models answer a dict
        def __init__(self, m: torch.nn.Module) -> None:
            super().__init__()
            self.m = m

        def forward(self, image: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple:
            out = self.m(image, input_ids, attention_mask)
            return tuple(out[k] for k in outputs)

    torch.onnx.export(Wrap(model), inputs, str(path), input_names=names, output_names=outputs, opset_version=17,
                      dynamo=False, dynamic_axes={n: {0: "batch"} for n in names + outputs})
    model.eval()  # the exporter leaves the wrapper (a new module, so in train mode) and the model in train mode
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        outputs, {n: t.numpy() for n, t in zip(names, inputs, strict=True)})
    with torch.no_grad():
        ref = model(*inputs)
    for name, g in zip(outputs, got, strict=True):
        assert np.allclose(g, ref[name].numpy(), atol=atol), (name, np.abs(g - ref[name].numpy()).max())


def lite_inputs(batch: int = 4, size: int = 64, tokens: int = 16, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """(image uint8 NHWC, input_ids, attention_mask) for a lite_student: random pixels and word-piece ids
    (bert-base-uncased range), the last 3 positions padding."""
    g = torch.Generator().manual_seed(seed)
    image = torch.randint(0, 256, (batch, size, size, 3), generator=g, dtype=torch.uint8)
    ids = torch.randint(1000, 3000, (batch, tokens), generator=g)
    mask = torch.ones(batch, tokens, dtype=torch.long)
    mask[:, tokens - 3:] = 0
    return image, ids * mask, mask


def lite_text_inputs(texts: list[str], size: int = 64, tokens: int = 16) -> tuple[torch.Tensor, ...]:
    """(image uint8 NHWC, input_ids, attention_mask) for a lite_student: ``texts`` tokenized with the
    bert-base-uncased tokenizer, random pixels (seed 0)."""
    from adfusion_edge.tokenizer import AdTokenizer, resolve_tokenizer

    batch = AdTokenizer(resolve_tokenizer("bert-base-uncased"), tokens).encode(texts)
    image = torch.randint(0, 256, (len(texts), size, size, 3), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(0))
    return image, torch.from_numpy(batch.input_ids), torch.from_numpy(batch.attention_mask)
