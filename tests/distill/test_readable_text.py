"""Readability of ad text (distill/models/readable_text.py) and the theme gate built on it
(lite_student ``theme_readable_at``, distill/evaluate/readability_gate.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from model_fixtures import LITE_SMALL as SMALL
from tokenizers import Tokenizer

from adfusion_edge import readability
from adfusion_edge.distill.evaluate.readability_gate import readable_at, rows_of_source, text_readability
from adfusion_edge.distill.models import readable_text
from adfusion_edge.distill.models.registry import create_model
from adfusion_edge.errors import ConfigError, ManifestError
from adfusion_edge.tokenizer import AdTokenizer, resolve_tokenizer

BERT = resolve_tokenizer("bert-base-uncased")


@pytest.fixture(scope="module")
def classes() -> torch.Tensor:
    return torch.from_numpy(readability.token_classes(readable_text.bert_vocab(), readability.load_words()))


def _ids(texts: list[str], tokens: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """The model inputs of ``texts``, as the runtime tokenizes them."""
    batch = AdTokenizer(BERT, tokens).encode(texts)
    return torch.from_numpy(batch.input_ids), torch.from_numpy(batch.attention_mask)


def test_word_list_counts_word_starts_seen_often_enough():
    tok = Tokenizer.from_file(BERT)
    words = readability.english_words(["fresh pizza today", "fresh pizza", "fresh x 2012"], tok, min_count=2)
    assert words == ["fresh", "pizza"]  # "today" once, "x" a stray letter, "2012" not a word


def test_token_classes_separate_words_pieces_and_the_rest():
    vocab = {"[CLS]": 0, "pizza": 1, "##cke": 2, "2012": 3, "!": 4, "jacke": 5}
    c = readability.token_classes(vocab, ["pizza"])
    assert c.tolist() == [readability.OTHER, readability.ENGLISH, readability.ALPHA, readability.OTHER,
                          readability.OTHER, readability.ALPHA]


def test_english_copy_reads_and_german_or_vietnamese_copy_does_not(classes):
    ids, mask = _ids(["Fresh pizza, 50% off this weekend only", "Get the new phone with free delivery",
                      "Winterjacke für Damen und Herren, wasserabweisend", "Khuyến mãi cực lớn, giảm giá đến 50%"])
    r, has = readable_text.readability(classes, ids, mask)
    assert has.all()
    assert (r[:2] >= 0.9).all(), r
    assert (r[2:] < 0.4).all(), r
    # the runtime's numpy reading (AdReport.text_readable) is the graph's
    np.testing.assert_allclose(readability.readability(classes.numpy(), ids.numpy(), mask.numpy()), r.numpy(), rtol=1e-6)


def test_text_weight_is_capped_at_one_and_leaves_texts_without_letters_alone(classes):
    ids, mask = _ids(["Fresh pizza today", "Winterjacke für Damen und Herren", "", "2012 - 50 %"])
    w = readable_text.text_weight(classes, ids, mask, readable_at=0.5)
    r, _ = readable_text.readability(classes, ids, mask)
    assert w.shape == (4, 1)
    assert w[0, 0] == 1.0 and w[2, 0] == 1.0 and w[3, 0] == 1.0
    assert torch.isclose(w[1, 0], r[1] / 0.5)


def test_missing_or_empty_word_list_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="missing"):
        readability.load_words(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(ConfigError, match="empty"):
        readability.load_words(tmp_path / "empty.txt")


def test_the_gate_scales_only_the_theme_and_only_where_the_text_is_unreadable():
    torch.manual_seed(0)
    plain = create_model("lite_student", SMALL, vision_weights="", max_positions=16, text_embed="distilled").eval()
    gated = create_model("lite_student", SMALL, vision_weights="", max_positions=16, text_embed="distilled",
                         theme_readable_at=0.5).eval()
    gated.load_state_dict(plain.state_dict(), strict=True)  # the word classes are not checkpoint weights
    ids, mask = _ids(["Fresh pizza, 50% off this weekend", "Winterjacke für Damen und Herren"], tokens=16)
    image = torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = plain(image, ids, mask), gated(image, ids, mask)
        blind = create_model("lite_student", SMALL, vision_weights="", max_positions=16, text_embed="distilled",
                             theme_image_prior=0.0).eval()
        blind.load_state_dict(plain.state_dict())
        text_part = blind(image, ids, mask)["theme"]
    for name in a:
        if name != "theme":
            assert torch.equal(a[name], b[name]), name
    assert torch.equal(a["theme"][0], b["theme"][0])  # English: read in full
    w = readable_text.text_weight(gated.token_classes, ids, mask, 0.5)[1, 0]
    assert w < 0.9
    prior = a["theme"][1] - text_part[1]  # the picture's part, which the gate leaves alone
    assert torch.allclose(b["theme"][1], w * text_part[1] + prior, atol=1e-5)


def test_gated_student_exports_to_onnx_with_the_same_theme(tmp_path):
    import onnxruntime as ort

    from adfusion_edge.export.onnx_writer import export_onnx

    torch.manual_seed(0)
    m = create_model("lite_student", SMALL, vision_weights="", max_positions=16, theme_readable_at=0.5).eval()
    ids, mask = _ids(["Fresh pizza today", "Winterjacke für Damen und Herren"], tokens=16)
    image = torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8)
    path = export_onnx(m, tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"image": image.numpy(), "input_ids": ids.numpy(), "attention_mask": mask.numpy()}
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds), strict=True))
    with torch.no_grad():
        want = torch.softmax(m(image, ids, mask)["theme"], -1).numpy()  # the graph outputs probabilities
    np.testing.assert_allclose(got["theme"], want, atol=1e-4)


def test_the_rule_reads_the_ocr_rows_and_names_a_bad_line(tmp_path):
    rows = tmp_path / "train.jsonl"
    rows.write_text("\n".join(json.dumps(r) for r in [
        {"text": "Fresh pizza today", "meta": {"source": "pitt_ocr"}},
        {"text": "Winterjacke für Damen", "meta": {"source": "pitt_ocr"}},
        {"text": "not OCR", "meta": {"source": "pitt_slogans"}},
    ]) + "\n{broken\n")
    with pytest.raises(ManifestError, match=r"train.jsonl:4"):
        rows_of_source(rows, "pitt_ocr")
    rows.write_text(rows.read_text().replace("{broken\n", ""))
    texts = rows_of_source(rows, "pitt_ocr")
    assert texts == ["Fresh pizza today", "Winterjacke für Damen"]
    r = text_readability(texts + ["2012"], BERT, 16)
    assert np.isnan(r[2]) and r[0] == 1.0 and r[1] < 0.5
    assert readable_at(r, 0.0) == round(float(r[1]), 4)
    with pytest.raises(ConfigError, match="no rows"):
        rows_of_source(rows, "facebook")


def test_the_analyzer_reports_readability_with_the_bert_vocabulary_only():
    from adfusion_edge import Analyzer

    image = np.full((64, 64, 3), 200, np.uint8)
    nano = Analyzer(model="nano", ocr=False)  # its corpus-trained vocabulary: not measured
    assert nano.run(image, text="fresh pizza").text_readable is None
    assert readability.classes_for_vocab({"[PAD]": 0, "pizza": 1}) is None
    small = Analyzer(model="small", ocr=False, gloss=False)  # the readability of the text itself (not a gloss)
    assert small.run(image, text="Fresh pizza, 50% off this weekend").text_readable == 1.0
    german = small.run(image, text="Winterjacke für Damen und Herren")
    assert german.text_readable < 0.4
    assert german.sentiment.unsure and german.emotion.unsure and german.cta.unsure  # flagged, whatever the confidence
    assert small.run(image, text="2012").text_readable is None  # no letters: nothing to read
    # no dictionary reads Vietnamese (adfusion_edge/gloss.py): it stays unreadable with glossing on
    vietnamese = Analyzer(model="small", ocr=False, gloss=True).run(image, text="Khuyến mãi cực lớn, giảm giá đến 50%")
    assert vietnamese.text_gloss is None and vietnamese.text_readable < 0.4 and vietnamese.cta.unsure
