"""Evaluation metrics for the 13 heads, in numpy (no sklearn), over labelled samples only.

Conventions (documented here because tables and the paper depend on them):

* Every metric of a head is computed only over samples whose label is known (``m/<head>``).
  A head with no labelled sample reports ``n = 0`` and no metric values (never a made-up 0).
* single / ordinal heads: accuracy and macro precision / recall / F1. The macro average runs over
  the classes that occur in the truth or the predictions (sklearn's default ``labels=None``), so a
  small split that never shows "anger" is not punished for it; a class with no predictions (or no
  true samples) counts as precision (or recall) 0.
* multi-label heads: threshold 0.5 on the sigmoid; micro F1 (over all label decisions) and macro F1
  (over labels that occur in the truth or the predictions, as above), plus micro precision/recall.
* ctr: bucket metrics as an ordinal head plus
    - ``auc_high``: ROC AUC of P("high") one-vs-rest against ``y == high``;
    - ``auc_value``: ROC AUC of the predicted ctr_value against a median split of the true
      ctr_value (true > median is positive): the bucket-free view of ranking quality;
    - ``spearman``: Spearman rank correlation of predicted and true ctr_value.
  AUC is the Mann-Whitney statistic with average ranks for ties; undefined (one class only) -> None.
* monetary span: ``span_exact_match`` over samples whose monetary label is known: the predicted
  span text (adfusion_edge.tokenizer.tags_to_span on softmaxed tag logits) equals the gold span text
  (the same decoder run on the one-hot gold tags, so both go through the same token alignment);
  "no span" on both sides is a match. ``span_exact_match_present`` restricts it to ads with a span.
* ``overall``: the paper's Table 1 score = mean(sentiment macro-F1, emotion macro-F1, theme
  accuracy, engagement accuracy), engagement accuracy = mean accuracy of attention / ctr / shares
  (schema.TABLE1_COLUMNS, schema.ENGAGEMENT_HEADS).
* ``all_heads``: mean of one main metric per head (accuracy for single/ordinal, micro-F1 for multi).

All scores are fractions in [0, 1]; tables multiply by 100.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from adfusion_edge import schema
from adfusion_edge.tokenizer import IGNORE_INDEX, tags_to_span

MULTI_THRESHOLD = 0.5


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def classification_metrics(pred: np.ndarray, true: np.ndarray, num_classes: int) -> dict[str, float]:
    """Accuracy and macro precision/recall/F1 of integer predictions (already masked).

    Args:
        pred: int (N,) predicted class indices.
        true: int (N,) true class indices.
        num_classes: K.

    Returns:
        {"accuracy", "macro_precision", "macro_recall", "macro_f1"}; empty dict when N == 0.
    """
    pred, true = np.asarray(pred, np.int64), np.asarray(true, np.int64)
    if pred.size == 0:
        return {}
    tp = np.bincount(true[pred == true], minlength=num_classes).astype(np.float64)
    n_pred = np.bincount(pred, minlength=num_classes).astype(np.float64)
    n_true = np.bincount(true, minlength=num_classes).astype(np.float64)
    present = (n_pred + n_true) > 0
    precision, recall = _safe_div(tp, n_pred), _safe_div(tp, n_true)
    f1 = _safe_div(2 * precision * recall, precision + recall)
    return {
        "accuracy": float(np.mean(pred == true)),
        "macro_precision": float(precision[present].mean()),
        "macro_recall": float(recall[present].mean()),
        "macro_f1": float(f1[present].mean()),
    }


def multilabel_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Micro/macro F1 (+ micro precision/recall) of 0/1 decision matrices (already masked).

    Args:
        pred: (N, K) 0/1 predicted decisions.
        true: (N, K) 0/1 truth.
    """
    pred, true = np.asarray(pred) > 0.5, np.asarray(true) > 0.5
    if pred.shape[0] == 0:
        return {}
    tp = (pred & true).sum(0).astype(np.float64)
    fp = (pred & ~true).sum(0).astype(np.float64)
    fn = (~pred & true).sum(0).astype(np.float64)
    micro_p = float(_safe_div(tp.sum(), tp.sum() + fp.sum()))
    micro_r = float(_safe_div(tp.sum(), tp.sum() + fn.sum()))
    micro_f1 = float(_safe_div(2 * tp.sum(), 2 * tp.sum() + fp.sum() + fn.sum()))
    present = (tp + fp + fn) > 0
    per_label_f1 = _safe_div(2 * tp, 2 * tp + fp + fn)
    # No label occurs anywhere (all-negative truth predicted all-negative): perfectly right.
    macro_f1 = float(per_label_f1[present].mean()) if present.any() else 1.0
    if not present.any():
        micro_f1 = micro_p = micro_r = 1.0
    return {"micro_f1": micro_f1, "macro_f1": macro_f1, "micro_precision": micro_p, "micro_recall": micro_r}


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks 1..N with ties given their average rank (scipy.stats.rankdata 'average')."""
    x = np.asarray(x, np.float64)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    # Boundaries of runs of equal values; every member of a run gets the run's mean rank.
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], len(x)]
    avg = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(len(x), np.float64)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def roc_auc(score: np.ndarray, positive: np.ndarray) -> float | None:
    """ROC AUC via the Mann-Whitney U statistic (ties count 1/2); None if only one class."""
    positive = np.asarray(positive, bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman rank correlation (Pearson on average ranks); None when undefined."""
    if len(a) < 2:
        return None
    ra, rb = rankdata(a) - (len(a) + 1) / 2, rankdata(b) - (len(b) + 1) / 2
    den = np.sqrt((ra**2).sum() * (rb**2).sum())
    return float((ra * rb).sum() / den) if den > 0 else None


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax (float64, shifted by the row max so large logits do not overflow)."""
    z = np.asarray(z, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def nll(logits: np.ndarray, y: np.ndarray, t: float = 1.0) -> float:
    """Mean negative log-likelihood of labels ``y`` under softmax(logits / t): what a temperature fit minimises."""
    return float(-log_softmax(np.asarray(logits, np.float64) / t)[np.arange(len(y)), y].mean())


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def span_texts(texts: Sequence[str], offsets: np.ndarray, special: np.ndarray,
               tag_probs: np.ndarray) -> list[str | None]:
    """Decode (N, L, 3) tag probabilities into span texts with the runtime's tags_to_span."""
    out = []
    for i, text in enumerate(texts):
        span = tags_to_span(text, offsets[i], special[i], tag_probs[i])
        out.append(None if span is None else span[0])
    return out


def gold_span_texts(texts: Sequence[str], offsets: np.ndarray, special: np.ndarray,
                    tags: np.ndarray) -> list[str | None]:
    """Gold BIO tag ids (N, L; IGNORE_INDEX allowed) -> span texts, via the same decoder."""
    onehot = np.zeros(tags.shape + (len(schema.SPAN_TAGS),), np.float64)
    valid = tags != IGNORE_INDEX
    onehot[valid, tags[valid]] = 1.0
    return span_texts(texts, offsets, special, onehot)


def span_metrics(pred: Sequence[str | None], gold: Sequence[str | None]) -> dict[str, float]:
    """Exact match of extracted span texts (whitespace-trimmed); None == None is a match."""
    if not len(gold):
        return {}

    def norm(s: str | None) -> str | None:
        return None if s is None else s.strip()

    hits = np.array([norm(p) == norm(g) for p, g in zip(pred, gold, strict=True)])
    present = np.array([g is not None for g in gold])
    out = {"span_exact_match": float(hits.mean()), "n_span": int(present.sum())}
    if present.any():
        out["span_exact_match_present"] = float(hits[present].mean())
    return out


def compute_metrics(outputs: Mapping[str, np.ndarray], targets: Mapping[str, np.ndarray],
                    texts: Sequence[str] | None = None, offsets: np.ndarray | None = None,
                    special: np.ndarray | None = None) -> dict[str, Any]:
    """All metrics for one split.

    Args:
        outputs: Model outputs as numpy: "<head>" logits (N, K), "monetary_span" (N, L, 3) logits,
            "ctr_value" (N,) logit.
        targets: The batch contract's "y/<head>", "m/<head>", "y/monetary_span", "y/ctr_value",
            "m/ctr_value" concatenated over the split.
        texts, offsets, special: Ad texts with the tokenizer's (N, L, 2) offsets and (N, L)
            special-token mask; needed only for the monetary span metric (skipped without them).

    Returns:
        {"heads": {head: {"n", metric...}}, "overall", "all_heads", "engagement_accuracy"}; the
        summary scores are None when a head they need has no labelled sample.
    """
    heads: dict[str, dict[str, Any]] = {}
    for h in schema.HEADS:
        mask = np.asarray(targets[f"m/{h.name}"], bool)
        logits = np.asarray(outputs[h.name])[mask]
        y = np.asarray(targets[f"y/{h.name}"])[mask]
        if h.kind == "multi":
            res: dict[str, Any] = multilabel_metrics(_sigmoid(logits) >= MULTI_THRESHOLD, y)
        else:
            res = classification_metrics(logits.argmax(-1), y, h.num_labels)
        res["n"] = int(mask.sum())
        heads[h.name] = res
    heads["ctr"].update(_ctr_extras(outputs, targets))
    if texts is not None and offsets is not None and special is not None and schema.SPAN_OUTPUT in outputs:
        mask = np.asarray(targets["m/monetary"], bool)
        idx = np.flatnonzero(mask)
        sel_texts = [texts[i] for i in idx]
        probs = _softmax(np.asarray(outputs[schema.SPAN_OUTPUT])[idx])
        pred = span_texts(sel_texts, offsets[idx], special[idx], probs)
        gold = gold_span_texts(sel_texts, offsets[idx], special[idx], np.asarray(targets[f"y/{schema.SPAN_OUTPUT}"])[idx])
        heads["monetary"].update(span_metrics(pred, gold))
    return {"heads": heads, **summary_scores(heads)}


def _ctr_extras(outputs: Mapping[str, np.ndarray], targets: Mapping[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    mask = np.asarray(targets["m/ctr"], bool)
    if mask.any():
        p_high = _softmax(np.asarray(outputs["ctr"])[mask])[:, schema.head("ctr").index("high")]
        out["auc_high"] = roc_auc(p_high, np.asarray(targets["y/ctr"])[mask] == schema.head("ctr").index("high"))
    vmask = np.asarray(targets[f"m/{schema.VALUE_OUTPUT}"], bool)
    if vmask.any() and schema.VALUE_OUTPUT in outputs:
        pred = _sigmoid(np.asarray(outputs[schema.VALUE_OUTPUT])[vmask])
        true = np.asarray(targets[f"y/{schema.VALUE_OUTPUT}"], np.float64)[vmask]
        out["auc_value"] = roc_auc(pred, true > np.median(true))
        out["spearman"] = spearman(pred, true)
        out["value_mae"] = float(np.abs(pred - true).mean())
        out["n_value"] = int(vmask.sum())
    return out


def main_metric(head_name: str) -> str:
    """The one metric that stands for a head in ``all_heads``: micro-F1 (multi) or accuracy."""
    return "micro_f1" if schema.head(head_name).kind == "multi" else "accuracy"


def summary_scores(heads: Mapping[str, Mapping[str, Any]]) -> dict[str, float | None]:
    """``engagement_accuracy``, ``overall`` (Table 1) and ``all_heads`` from per-head metrics."""
    def get(name: str, metric: str) -> float | None:
        v = heads.get(name, {}).get(metric)
        return None if v is None else float(v)

    eng = [get(h, "accuracy") for h in schema.ENGAGEMENT_HEADS]
    engagement = None if any(v is None for v in eng) else float(np.mean(eng))
    cols = []
    for name, metric in schema.TABLE1_COLUMNS:
        cols.append(engagement if name == "engagement" else get(name, metric))
    overall = None if any(v is None for v in cols) else float(np.mean(cols))
    mains = [get(h.name, main_metric(h.name)) for h in schema.HEADS]
    all_heads = None if any(v is None for v in mains) else float(np.mean(mains))
    return {"engagement_accuracy": engagement, "overall": overall, "all_heads": all_heads}


def table1_row(metrics: Mapping[str, Any]) -> dict[str, float | None]:
    """The paper's Table 1 columns (fractions) from a compute_metrics() result."""
    heads = metrics["heads"]
    row: dict[str, float | None] = {}
    for name, metric in schema.TABLE1_COLUMNS:
        row[f"{name}_{metric}"] = metrics.get("engagement_accuracy") if name == "engagement" else (
            heads.get(name, {}).get(metric))
    row["overall"] = metrics.get("overall")
    return row
