"""Model probabilities -> typed per-head results (the fields of AdReport).

Bundled graphs already output probabilities (softmax / sigmoid applied in the graph, see
export/wrapper.py), so this module only selects and labels: argmax for single / ordinal heads,
threshold + sort for multi-label heads, ``tokenizer.tags_to_span`` on the real text offsets for
the monetary span, and the CTR bucket + continuous estimate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from adfusion_edge import schema
from adfusion_edge.errors import ConfigError
from adfusion_edge.report import CtrEstimate, LabelScore, MonetaryMention, Prediction
from adfusion_edge.tokenizer import tags_to_span


@dataclass(frozen=True)
class PostprocessConfig:
    """Decision thresholds.

    Attributes:
        multi_threshold: Probability above which a multi-label label is reported.
        max_labels: Most labels reported per multi-label head.
        span_threshold: Tag probability for the monetary span decoder.
        unsure_below: A single-label / ordinal prediction whose probability is under this is
            flagged ``unsure``. 0.5 = "more likely wrong than right" when the probabilities are
            calibrated (bundles with temperature scaling, distill/evaluate/calibrate.py).
    """

    multi_threshold: float = 0.5
    max_labels: int = 8
    span_threshold: float = 0.5
    unsure_below: float = 0.5

    def __post_init__(self) -> None:
        if not (0.0 < self.multi_threshold < 1.0 and 0.0 < self.span_threshold < 1.0):
            raise ConfigError("thresholds must be in (0, 1)")
        if not 0.0 <= self.unsure_below <= 1.0:
            raise ConfigError(f"unsure_below must be in [0, 1], got {self.unsure_below}")
        if self.max_labels < 1:
            raise ConfigError("max_labels must be >= 1")


def _single(probs: np.ndarray, labels: tuple[str, ...], cfg: PostprocessConfig) -> Prediction:
    i = int(np.argmax(probs))
    return Prediction(labels[i], float(probs[i]), bool(probs[i] < cfg.unsure_below))


def _multi(probs: np.ndarray, labels: tuple[str, ...], cfg: PostprocessConfig) -> tuple[LabelScore, ...]:
    idx = np.flatnonzero(probs >= cfg.multi_threshold)
    idx = idx[np.argsort(-probs[idx], kind="stable")][: cfg.max_labels]
    return tuple(LabelScore(labels[i], float(probs[i])) for i in idx)


def _ctr(probs: np.ndarray, estimate: float, thresholds: tuple[float, float] | None,
         cfg: PostprocessConfig) -> CtrEstimate:
    """The CTR bucket and estimate. With the bundle's thresholds the bucket is the one the estimate
    falls in (they never contradict), its confidence the bucket head's probability of it, and it is
    flagged unsure when that head would have picked another bucket."""
    labels = schema.head("ctr").labels
    if thresholds is None:
        return CtrEstimate(_single(probs, labels, cfg), estimate)
    i = int(np.searchsorted(np.asarray(thresholds), estimate, side="right"))
    p = float(probs[i])
    return CtrEstimate(Prediction(labels[i], p, bool(p < cfg.unsure_below or i != int(np.argmax(probs)))), estimate)


def decode(outputs: Mapping[str, np.ndarray], row: int, text: str, offsets: np.ndarray, special: np.ndarray,
           cfg: PostprocessConfig = PostprocessConfig(),
           ctr_thresholds: tuple[float, float] | None = None) -> dict[str, Any]:
    """Typed results for batch row ``row``: a dict of AdReport's head fields.

    Args:
        outputs: Graph outputs (probabilities) by schema.output_names().
        row: Batch index.
        text: The ad text that was tokenized for this row.
        offsets: (L, 2) token character offsets of this row.
        special: (L,) special/padding token mask of this row.
        cfg: Thresholds.
        ctr_thresholds: The bundle's CTR bucket edges (Bundle.ctr_thresholds), or None.
    """
    fields: dict[str, Any] = {}
    for h in schema.HEADS:
        p = np.asarray(outputs[h.name][row])
        if h.kind == "multi":
            fields[h.name] = _multi(p, h.labels, cfg)
        else:
            fields[h.name] = _single(p, h.labels, cfg)
    span_probs = np.asarray(outputs[schema.SPAN_OUTPUT][row])
    n = min(len(span_probs), len(offsets))
    span = tags_to_span(text, offsets[:n], special[:n], span_probs[:n], cfg.span_threshold) if text else None
    # OCR returns one line per text box, so a span can cross a line break ("Just\n£927"): the
    # report shows it as the words it is.
    span_text = " ".join(span[0].split()) if span else None
    fields["monetary"] = MonetaryMention(fields["monetary"], span_text, span[1] if span else None)
    fields["ctr"] = _ctr(np.asarray(outputs["ctr"][row]), float(np.asarray(outputs[schema.VALUE_OUTPUT])[row]),
                         ctr_thresholds, cfg)
    return fields
