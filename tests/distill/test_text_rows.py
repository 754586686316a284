"""Text-only real rows mixed into training: blank image, image heads masked, share, blocks, loop, distillation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from student_fixtures import TINY_STUDENT
from train_fixtures import make_corpus, one_thread, tiny_config  # noqa: F401  (one_thread is a fixture)

from adfusion_edge.distill.data.dataset import AdCollate, AdDataset
from adfusion_edge.distill.data.manifest import write_manifest
from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.distill.data.text_rows import BLANK_VALUE, IMAGE_HEADS, MixedDataset, TextRowDataset
from adfusion_edge.distill.train.config import TrainConfig
from adfusion_edge.errors import ConfigError
from adfusion_edge.preprocess import PreprocessConfig

PRE = PreprocessConfig(image_size=32, max_tokens=16)
TEXTS = ["Indulge yourself with dark chocolate", "Drive the new sedan today", "Stand together for clean water",
         "Fresh coffee every morning", "Your bank, your rules"]


def _rows(tmp_path, n: int = 10):
    recs = []
    for i in range(n):
        labels = {"theme": "food", "cta": "none", "monetary": "none", "ctr": "high", "objects": ["car"],
                  "dominant_colour": "red", "sentiment": "positive"}
        recs.append(AdRecord(id=f"r{i}", image=None, text=TEXTS[i % len(TEXTS)], labels=labels, ctr_value=0.11))
    path = tmp_path / "text" / "train.jsonl"
    write_manifest(path, recs, text_only=True)
    return path


def test_text_rows_get_a_blank_image_and_only_text_heads(tmp_path):
    ds = TextRowDataset.from_text_manifests(_rows(tmp_path), cfg=PRE)
    s = ds[0]
    assert s.image.shape == (32, 32, 3) and s.image.dtype == np.uint8 and (s.image == BLANK_VALUE).all()
    assert s.record.ctr_value is None and not set(IMAGE_HEADS) & set(s.record.labels)
    corpus = make_corpus(tmp_path / "corpus", {"train": 4})
    batch = AdCollate(str(corpus / "tokenizer.json"), PRE)([ds[0], ds[1]])
    assert batch["m/theme"].all() and batch["m/cta"].all() and batch["m/ctr"].all()
    for head in (*IMAGE_HEADS, "ctr_value", "emotion"):
        assert not batch[f"m/{head}"].any(), head  # masked in the losses


def test_mixed_dataset_share_blocks_and_epoch_window(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", {"train": 12})
    synth = AdDataset.from_corpus(corpus, "train", cfg=PRE)
    text = TextRowDataset.from_text_manifests(_rows(tmp_path, 10), cfg=PRE)
    mixed = MixedDataset(synth, text, 0.25, seed=0)
    assert mixed.n_text == 4 and len(mixed) == 16
    flat = sorted(i for b in mixed.blocks() for i in b)
    assert flat == list(range(16))  # every index exactly once
    assert all(any(mixed.is_text(i) for i in b) for b in mixed.blocks())
    first = [mixed.text_index(k) for k in range(4)]
    mixed.set_epoch(1)
    assert [mixed.text_index(k) for k in range(4)] != first  # a later epoch uses other rows
    assert mixed[15].record.ctr_value is None and mixed[0].record.labels.get("objects") is not None
    with pytest.raises(ConfigError, match="text_share"):
        MixedDataset(synth, text, 1.0)


def test_config_pairs_text_rows_with_a_share():
    with pytest.raises(ConfigError, match="text_rows"):
        TrainConfig.from_dict({"data": {"text_share": 0.3}})
    with pytest.raises(ConfigError, match="text_share"):
        TrainConfig.from_dict({"data": {"text_rows": ["a.jsonl"], "text_share": 1.5}})


def test_training_mixes_text_rows_into_the_loop(tmp_path, one_thread):  # noqa: F811
    from adfusion_edge.distill.train.data import build_train_data
    from adfusion_edge.distill.train.loop import train

    corpus = make_corpus(tmp_path / "corpus", {"train": 16, "val": 8})
    rows = _rows(tmp_path)
    cfg = tiny_config(corpus, tmp_path / "run", max_steps=4, eval_every=4,
                      data={"text_rows": [str(rows)], "text_share": 0.5})
    data = build_train_data(cfg)
    assert isinstance(data.train, MixedDataset) and len(data.train) == 32
    result = train(cfg, progress=False)
    assert result.steps == 4
    logs = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["loss/task"]) for r in logs if r["kind"] == "train")


def test_distillation_with_text_rows_needs_the_live_teacher(tmp_path, one_thread):  # noqa: F811
    from adfusion_edge.distill.kd.distiller import DistillConfig, distill
    from adfusion_edge.distill.models import registry

    corpus = make_corpus(tmp_path / "corpus", {"train": 8})
    rows = _rows(tmp_path, 4)
    cfg = TrainConfig.from_dict({
        "model": {"name": "student", "config": TINY_STUDENT}, "preprocess": PRE.to_dict(),
        "data": {"corpus": str(corpus), "text_rows": [str(rows)], "text_share": 0.25},
        "optim": {"lr": 2e-3, "warmup_steps": 1}, "batch_size": 4, "max_steps": 2, "eval_every": 0,
        "checkpoint_every": 0, "device": "cpu", "out_dir": str(tmp_path / "run")})
    torch.manual_seed(0)
    teacher = registry.create_model("student", PRE, **TINY_STUDENT)
    with pytest.raises(ConfigError, match="live teacher"):
        distill(cfg, DistillConfig(cache=True), teacher, progress=False)
    assert distill(cfg, DistillConfig(cache=False), teacher, progress=False).steps == 2


def test_student_static_text_init():
    from adfusion_edge.distill.models import registry
    from adfusion_edge.distill.models.static_text_init import static_token_init
    from adfusion_edge.static_text import StaticEmbeddings

    table = static_token_init(30522, 32)
    ref = StaticEmbeddings().vectors[:, :32]
    assert table.shape == (30522, 32) and abs(float(table.std()) - 1.0) < 1e-3
    np.testing.assert_allclose(table.numpy() * ref.std(), ref, rtol=1e-4, atol=1e-5)
    m = registry.create_model("student", PRE, **{**TINY_STUDENT, "vocab_size": 30522, "text_encoder": "static"})
    assert torch.equal(m.tok_embed.weight.detach(), table)
    with pytest.raises(ConfigError, match="bert-base-uncased"):
        registry.create_model("student", PRE, **{**TINY_STUDENT, "text_encoder": "static"})  # vocab 300
