"""Real test models and bundles for the export / runtime / analyzer suites (no mocks).

``trained_tiny`` trains tests/export/tiny_model.py for a few seconds on synthetic ads whose labels
are a deterministic function of the ad's copy and background colour, so the model is confident
(like a trained student) and the INT8 gate's 99 % top-1 agreement is a meaningful test. The
session caches below make each artefact once per pytest session even though several test modules
import these fixtures.

Import into a test module with ``from bundle_fixtures import ...`` (tests/ is on sys.path).
"""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).parent / "export"))
sys.path.insert(0, str(Path(__file__).parent / "distill"))

# The registered student at test size: one definition, beside tiny_student() in student_fixtures.
from student_fixtures import TINY_STUDENT  # noqa: E402
from tiny_model import TinyAdModel, TinyConfig  # noqa: E402

from adfusion_edge import schema  # noqa: E402
from adfusion_edge.preprocess import PreprocessConfig  # noqa: E402
from adfusion_edge.tokenizer import AdTokenizer  # noqa: E402

PRE = PreprocessConfig(image_size=64, max_tokens=16)
COLOURS = {"red": (220, 30, 30), "green": (30, 170, 60), "blue": (30, 60, 220), "yellow": (240, 220, 40),
           "black": (15, 15, 15), "white": (245, 245, 245)}
COPY = [  # text, theme, cta, monetary label, monetary substring
    ("Hot pizza 50% OFF today only! Order Now", "food", "order_now", "percent_off", "50% OFF"),
    ("New smartphone launch. Buy Now for $499.99", "technology", "buy_now", "price", "$499.99"),
    ("Vote for change. Support Us this election", "politics", "support_us", "none", None),
    ("Summer getaway: flights from $99. Book Now", "travel", "book_now", "price", "$99"),
    ("Glow skincare collection - Buy 1 Get 1 Free. Shop Now", "beauty", "shop_now", "bogo", "Buy 1 Get 1 Free"),
    ("Save 20 on your first order. Free shipping", "food", "none", "discount", "Save 20"),
    ("10% cashback on every purchase with our credit card. Sign Up", "finance", "sign_up", "cashback", "10% cashback"),
    ("Learn to code online. Get Started free", "education", "get_started", "free", "free"),
]
_lock = threading.Lock()
_cache: dict[str, Any] = {}


def ad_png(colour: str, rng: np.random.Generator, size: int = 96) -> bytes:
    """A real PNG ad: solid background with a couple of shapes (the colour is the dominant one)."""
    img = Image.new("RGB", (size, size), COLOURS[colour])
    d = ImageDraw.Draw(img)
    x, y = (int(v) for v in rng.integers(0, size // 2, 2))
    d.rectangle([x, y, x + size // 5, y + size // 6], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def synth_records(n: int, seed: int) -> list:
    """AdRecords whose every label is a fixed function of (copy, colour): learnable in seconds."""
    from adfusion_edge.distill.data.records import AdRecord

    rng = np.random.default_rng(seed)
    table_rng = np.random.default_rng(1234)  # the same label table for every split
    names = list(COLOURS)
    # Each head depends on the copy or on the colour alone (alternating): separable, so a few
    # seconds of training give confident predictions, as a trained model has.
    table = {}
    for j, h in enumerate(schema.HEADS):
        keys = len(COPY) if j % 2 == 0 else len(names)
        table[h.name] = [h.labels[int(table_rng.integers(h.num_labels))] if h.kind != "multi"
                         else [h.labels[int(x)] for x in table_rng.choice(h.num_labels, 2, replace=False)]
                         for _ in range(keys)]
    dep = {h.name: j % 2 == 0 for j, h in enumerate(schema.HEADS)}
    recs = []
    for i in range(n):
        c, k = i % len(COPY), int(rng.integers(len(names)))
        text, theme, cta, money, sub = COPY[c]
        labels = {name: table[name][c if dep[name] else k] for name in table}
        labels.update(theme=theme, cta=cta, monetary=money, dominant_colour=names[k])
        span = None if sub is None else (text.index(sub), text.index(sub) + len(sub))
        recs.append(AdRecord(id=f"s{seed}-{i}", image=ad_png(names[k], rng), text=text, labels=labels,
                             monetary_span=span, ctr_value=0.01 + 0.04 * k / len(names)))
    return recs


def _loss(out: dict, batch: dict) -> torch.Tensor:
    total = torch.zeros(())
    for h in schema.HEADS:
        y = torch.from_numpy(batch[f"y/{h.name}"])
        if h.kind == "multi":
            total = total + torch.nn.functional.binary_cross_entropy_with_logits(out[h.name], y)
        else:
            total = total + torch.nn.functional.cross_entropy(out[h.name], y)
    span = torch.from_numpy(batch[f"y/{schema.SPAN_OUTPUT}"])
    total = total + torch.nn.functional.cross_entropy(out[schema.SPAN_OUTPUT].flatten(0, 1), span.flatten(),
                                                      ignore_index=-100)
    ctr = torch.from_numpy(batch[f"y/{schema.VALUE_OUTPUT}"])
    return total + torch.nn.functional.binary_cross_entropy_with_logits(out[schema.VALUE_OUTPUT], ctr)


def train_tiny(tokenizer_file: str, steps: int = 120) -> dict[str, Any]:
    """Train the tiny model (single torch thread: 2 threads on a shared 2-core box are 10x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train_tiny(tokenizer_file, steps)
    finally:
        torch.set_num_threads(threads)


def _train_tiny(tokenizer_file: str, steps: int) -> dict[str, Any]:
    from adfusion_edge.distill.data.targets import encode_batch

    torch.manual_seed(0)
    tok = AdTokenizer(tokenizer_file, PRE.max_tokens)
    model = TinyAdModel(TinyConfig(vocab_size=tok.vocab_size), PRE)
    train = encode_batch(synth_records(192, seed=1), None, tok, PRE)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = np.random.default_rng(0)
    model.train()
    for _ in range(steps):
        idx = g.choice(192, 32, replace=False)
        batch = {k: v[idx] for k, v in train.items()}
        out = model(*(torch.from_numpy(batch[k]) for k in ("image", "input_ids", "attention_mask")))
        loss = _loss(out, batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return {"model": model, "tokenizer": tokenizer_file, "loss": float(loss.detach())}


def write_corpus(root: Path) -> Path:
    """A real shard corpus (manifest + parquet) with train (calibration) and val (held-out) splits."""
    from adfusion_edge.distill.data.shards import shard_path, write_manifest, write_shard

    splits = {}
    for split, n, seed in (("train", 64, 2), ("val", 128, 3)):
        p = shard_path(root, split, 0)
        count = write_shard(p, synth_records(n, seed))
        splits[split] = [{"file": str(p.relative_to(root)), "count": count}]
    write_manifest(root, splits, {"generator": "tests/bundle_fixtures.py"})
    return root


def build_all(root: Path, tokenizer_file: str) -> dict[str, Any]:
    """Trained tiny model, a corpus, and fp32 / int8 ONNX bundles (cached per session)."""
    with _lock:
        key = str(root)
        if key in _cache:
            return _cache[key]
        from adfusion_edge.export.exporter import export_bundle

        trained = train_tiny(tokenizer_file)
        corpus = write_corpus(root / "corpus")
        fp32 = export_bundle(trained["model"], "onnx", root / "bundle-fp32", tokenizer_file, calib=corpus,
                             measure=False)
        int8 = export_bundle(trained["model"], "onnx", root / "bundle-int8", tokenizer_file, int8=True,
                             calib=corpus, measure=False)
        _cache[key] = {**trained, "corpus": corpus, "fp32": fp32, "int8": int8}
        return _cache[key]


@pytest.fixture(scope="session")
def tiny_artifacts(tmp_path_factory, tokenizer_file) -> dict[str, Any]:
    """{"model", "tokenizer", "corpus", "fp32": ExportResult, "int8": ExportResult}."""
    return build_all(tmp_path_factory.getbasetemp() / "tiny-artifacts", tokenizer_file)


@pytest.fixture(scope="session")
def fp32_bundle(tiny_artifacts) -> Path:
    return tiny_artifacts["fp32"].bundle


@pytest.fixture(scope="session")
def int8_bundle(tiny_artifacts) -> Path:
    return tiny_artifacts["int8"].bundle




def tiny_student(seed: int = 0) -> torch.nn.Module:
    """``create_model("student")`` at test size, seeded, eval mode."""
    from adfusion_edge.distill.models.registry import create_model

    torch.manual_seed(seed)
    return create_model("student", PRE, **TINY_STUDENT).eval()


def ad_feeds(tokenizer_file: str, n: int = 4, seed: int = 5) -> dict[str, np.ndarray]:
    """Model inputs for n synthetic ads through the runtime preprocessing."""
    from adfusion_edge.preprocess import prepare_image

    recs = synth_records(n, seed)
    tb = AdTokenizer(tokenizer_file, PRE.max_tokens).encode([r.text for r in recs])
    return {"image": np.stack([prepare_image(r.image, PRE.image_size) for r in recs]),
            "input_ids": tb.input_ids, "attention_mask": tb.attention_mask}
