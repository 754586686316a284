"""Metrics against values computed by hand, masks, the Table 1 formula and the span metric."""

from __future__ import annotations

import numpy as np
import pytest

from adfusion_edge import schema
from adfusion_edge.distill.evaluate.metrics import (
    classification_metrics,
    compute_metrics,
    multilabel_metrics,
    rankdata,
    roc_auc,
    spearman,
    summary_scores,
    table1_row,
)
from adfusion_edge.tokenizer import AdTokenizer, span_to_tags


def test_classification_by_hand():
    # per class: tp 1/1/2, predicted 1/2/3, true 2/1/3; class 3 occurs nowhere and is excluded.
    m = classification_metrics(np.array([0, 1, 1, 2, 2, 2]), np.array([0, 1, 2, 2, 2, 0]), 4)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["macro_precision"] == pytest.approx((1 + 0.5 + 2 / 3) / 3)
    assert m["macro_recall"] == pytest.approx((0.5 + 1 + 2 / 3) / 3)
    assert m["macro_f1"] == pytest.approx(2 / 3)
    # A class predicted but never true counts with precision 0 (and F1 0).
    m = classification_metrics(np.array([0, 1]), np.array([0, 0]), 2)
    assert m["macro_f1"] == pytest.approx((2 * 1 * 0.5 / 1.5 + 0) / 2)
    assert classification_metrics(np.array([], int), np.array([], int), 3) == {}


def test_multilabel_by_hand():
    m = multilabel_metrics(np.array([[1, 0, 1], [0, 1, 0]]), np.array([[1, 1, 0], [0, 1, 0]]))
    # micro: tp 2, fp 1, fn 1; per label F1: 1, 2/3, 0.
    assert m["micro_f1"] == pytest.approx(2 / 3)
    assert m["micro_precision"] == pytest.approx(2 / 3) and m["micro_recall"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_ranks_auc_spearman():
    assert rankdata(np.array([10, 20, 10, 30])).tolist() == [1.5, 3.0, 1.5, 4.0]
    assert roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1], bool)) == pytest.approx(0.75)
    assert roc_auc(np.array([0.5, 0.5]), np.array([1, 0], bool)) == pytest.approx(0.5)
    assert roc_auc(np.array([0.1, 0.2]), np.array([1, 1], bool)) is None
    assert spearman(np.array([1.0, 2, 3, 4]), np.array([1.0, 3, 2, 4])) == pytest.approx(0.8)
    assert spearman(np.array([1.0, 1.0]), np.array([1.0, 2.0])) is None


def _onehot_logits(idx: list[int], k: int) -> np.ndarray:
    out = np.full((len(idx), k), -5.0)
    out[np.arange(len(idx)), idx] = 5.0
    return out


def _full_batch(n: int):
    """Outputs that predict label 0 everywhere and targets with every label 0 and known."""
    outputs, targets = {}, {}
    for h in schema.HEADS:
        if h.kind == "multi":
            outputs[h.name] = np.full((n, h.num_labels), -5.0)
            outputs[h.name][:, 0] = 5.0
            y = np.zeros((n, h.num_labels), np.float32)
            y[:, 0] = 1
        else:
            outputs[h.name] = _onehot_logits([0] * n, h.num_labels)
            y = np.zeros(n, np.int64)
        targets[f"y/{h.name}"], targets[f"m/{h.name}"] = y, np.ones(n, bool)
    outputs[schema.VALUE_OUTPUT] = np.zeros(n)
    targets[f"y/{schema.VALUE_OUTPUT}"] = np.zeros(n, np.float32)
    targets[f"m/{schema.VALUE_OUTPUT}"] = np.zeros(n, bool)
    return outputs, targets


def test_masks_exclude_unknown_labels_and_empty_heads_report_nothing():
    outputs, targets = _full_batch(4)
    outputs["sentiment"] = _onehot_logits([0, 1, 2, 1], 3)
    targets["y/sentiment"] = np.array([0, 1, 2, 0])
    targets["m/sentiment"] = np.array([True, True, True, False])  # the wrong one is unlabelled
    m = compute_metrics(outputs, targets)
    assert m["heads"]["sentiment"]["accuracy"] == 1.0 and m["heads"]["sentiment"]["n"] == 3
    assert m["heads"]["theme"]["accuracy"] == 1.0 and m["overall"] == 1.0 and m["all_heads"] == 1.0
    targets["m/emotion"][:] = False
    m = compute_metrics(outputs, targets)
    assert m["heads"]["emotion"] == {"n": 0} and m["overall"] is None  # never a made-up 0
    assert m["all_heads"] is None


def test_ctr_auc_and_spearman_from_outputs():
    outputs, targets = _full_batch(4)
    high = schema.head("ctr").index("high")
    outputs["ctr"] = np.zeros((4, 3))
    outputs["ctr"][:, high] = [0.1, 0.4, 0.35, 0.8]
    targets["y/ctr"] = np.array([0, 0, high, high])
    true_v = np.array([0.01, 0.02, 0.03, 0.04], np.float32)
    outputs[schema.VALUE_OUTPUT] = np.log(np.array([0.1, 0.3, 0.2, 0.4]) / (1 - np.array([0.1, 0.3, 0.2, 0.4])))
    targets[f"y/{schema.VALUE_OUTPUT}"], targets[f"m/{schema.VALUE_OUTPUT}"] = true_v, np.ones(4, bool)
    ctr = compute_metrics(outputs, targets)["heads"]["ctr"]
    assert ctr["auc_high"] == pytest.approx(0.75)
    assert ctr["spearman"] == pytest.approx(0.8)
    assert ctr["auc_value"] == pytest.approx(0.75)  # median split: positives are the last two
    assert ctr["value_mae"] == pytest.approx(np.mean([0.09, 0.28, 0.17, 0.36]))


def test_table1_overall_formula():
    heads = {h.name: {"accuracy": 0.5} for h in schema.HEADS}
    for h in schema.HEADS:
        if h.kind == "multi":
            heads[h.name] = {"micro_f1": 0.2}
    heads["sentiment"] = {"accuracy": 0.5, "macro_f1": 0.621}
    heads["emotion"] = {"accuracy": 0.5, "macro_f1": 0.583}
    heads["theme"] = {"accuracy": 0.647}
    heads["attention"], heads["ctr"], heads["shares"] = {"accuracy": 0.5}, {"accuracy": 0.559}, {"accuracy": 0.618}
    s = summary_scores(heads)
    assert s["engagement_accuracy"] == pytest.approx((0.5 + 0.559 + 0.618) / 3)
    # With engagement 0.559 this is the paper's ResNet-18 row: (62.1+58.3+64.7+55.9)/4 = 60.25.
    assert s["overall"] == pytest.approx((0.621 + 0.583 + 0.647 + 0.559) / 4)
    mains = [0.2 if h.kind == "multi" else heads[h.name]["accuracy"] for h in schema.HEADS]
    assert s["all_heads"] == pytest.approx(np.mean(mains))
    row = table1_row({"heads": heads, **s})
    assert list(row) == ["sentiment_macro_f1", "emotion_macro_f1", "theme_accuracy", "engagement_accuracy", "overall"]
    assert row["theme_accuracy"] == 0.647


def test_span_exact_match_decodes_texts(tokenizer_file):
    tok = AdTokenizer(tokenizer_file, 16)
    texts = ["Hot pizza 50% OFF today only! Order Now", "New smartphone launch. Buy Now for $499.99",
             "Vote for change. Support Us this election"]
    spans = [(10, 17), (35, 42), None]
    tb = tok.encode(texts)
    gold = np.stack([span_to_tags(tb.offsets[i], tb.special[i], spans[i]) for i in range(3)])
    pred = np.where(gold < 0, 0, gold)
    pred[1] = np.roll(pred[1], 1)  # off by one token: a different text
    logits = np.eye(3)[pred] * 8.0
    outputs, targets = _full_batch(3)
    outputs[schema.SPAN_OUTPUT] = logits
    targets[f"y/{schema.SPAN_OUTPUT}"] = gold
    m = compute_metrics(outputs, targets, texts, tb.offsets, tb.special)["heads"]["monetary"]
    assert m["span_exact_match"] == pytest.approx(2 / 3)
    assert m["span_exact_match_present"] == pytest.approx(1 / 2) and m["n_span"] == 2
    targets["m/monetary"] = np.array([True, False, True])  # the miss is unlabelled now
    m = compute_metrics(outputs, targets, texts, tb.offsets, tb.special)["heads"]["monetary"]
    assert m["span_exact_match"] == 1.0
