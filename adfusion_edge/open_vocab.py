"""Open vocabulary: score labels a caller names at run time, with no retraining.

    Analyzer().run(img, labels={"theme": ["pet food", "insurance", "gaming"]})

Each label and the text the model read (given, or from OCR) are embedded with the packaged static
MiniLM token embeddings (adfusion_edge.static_text, a numpy lookup); a label's probability is
the softmax over the labels of ``cosine / TEMPERATURE``. The evidence is the ad's *text* only
(image evidence is not in this space yet): an ad without text gives every label the same
probability and ``evidence="none"``. Head names are free: ``"theme"`` or ``"product"`` alike.
The vocabulary is English (bert-base-uncased); German or Vietnamese text scores poorly.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np

from adfusion_edge.errors import LabelListError
from adfusion_edge.report import OpenLabelScore, OpenVocabResult  # the result types live with AdReport
from adfusion_edge.static_text import StaticEmbeddings

MAX_LABELS = 64  # per head: a softmax over hundreds of labels says little, and each costs a lookup
MAX_LABEL_CHARS = 100
MAX_HEADS = 16
# Softmax temperature on cosine similarities, fitted (minimum log-loss) on the Pitt slogans *train*
# split's themes with the label descriptions (reports/real_ads/TEXT.md); never on the dev set.
TEMPERATURE = 0.05


def validate_label_lists(labels: object) -> dict[str, tuple[str, ...]]:
    """Check ``{head: [label, ...]}``; returns it with labels stripped.

    Raises:
        LabelListError: not a mapping of non-empty names to lists of strings; an empty list; a
            duplicated label (case- and space-insensitive); more than MAX_LABELS labels; a label
            that is empty or longer than MAX_LABEL_CHARS; more than MAX_HEADS heads.
    """
    if not isinstance(labels, Mapping):
        raise LabelListError(f"labels must be a dict of head name -> list of labels, got {type(labels).__name__}")
    if not labels:
        raise LabelListError("labels is an empty dict; pass at least one head, e.g. {'theme': ['pet food', 'gaming']}")
    if len(labels) > MAX_HEADS:
        raise LabelListError(f"labels has {len(labels)} heads; at most {MAX_HEADS}")
    out: dict[str, tuple[str, ...]] = {}
    for head, values in labels.items():
        if not isinstance(head, str) or not head.strip():
            raise LabelListError(f"head names must be non-empty strings, got {head!r}")
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise LabelListError(f"labels[{head!r}] must be a list of strings, got {type(values).__name__}")
        if not values:
            raise LabelListError(f"labels[{head!r}] is empty; give at least one label")
        if len(values) > MAX_LABELS:
            raise LabelListError(f"labels[{head!r}] has {len(values)} labels; at most {MAX_LABELS}")
        clean: list[str] = []
        seen: dict[str, str] = {}
        for v in values:
            if not isinstance(v, str):
                raise LabelListError(f"labels[{head!r}]: labels must be strings, got {v!r}")
            s = " ".join(v.split())
            if not s:
                raise LabelListError(f"labels[{head!r}]: empty label")
            if len(s) > MAX_LABEL_CHARS:
                raise LabelListError(f"labels[{head!r}]: label {s[:30]!r}... is {len(s)} characters; "
                                     f"at most {MAX_LABEL_CHARS}")
            key = s.casefold()
            if key in seen:
                raise LabelListError(f"labels[{head!r}]: {v!r} duplicates {seen[key]!r}")
            seen[key] = v
            clean.append(s)
        out[head.strip()] = tuple(clean)
    return out


class OpenVocabScorer:
    """Scores user label lists against a text in the static-embedding space (thread-safe, caches labels).

    Args:
        embeddings: StaticEmbeddings to use (default: the packaged MiniLM ones, loaded on first use).
        temperature: Softmax temperature on cosine similarity.
    """

    def __init__(self, embeddings: StaticEmbeddings | None = None, temperature: float = TEMPERATURE):
        self._emb = embeddings
        self.temperature = float(temperature)
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def embeddings(self) -> StaticEmbeddings:
        if self._emb is None:
            with self._lock:
                if self._emb is None:
                    self._emb = StaticEmbeddings()
        return self._emb

    def _label_vectors(self, labels: tuple[str, ...]) -> np.ndarray:
        missing = [s for s in labels if s not in self._cache]
        if missing:
            vecs = self.embeddings.encode(missing)
            with self._lock:
                self._cache.update(zip(missing, vecs, strict=True))
        return np.stack([self._cache[s] for s in labels])

    def score(self, text: str, labels: Mapping[str, Sequence[str]]) -> dict[str, OpenVocabResult]:
        """{head: OpenVocabResult} for ``text``; ``labels`` is validated first (LabelListError)."""
        checked = validate_label_lists(labels)
        t = self.embeddings.encode([text])[0]
        evidence = "text" if t.any() else "none"
        out = {}
        for head, names in checked.items():
            if evidence == "none":
                p = np.full(len(names), 1.0 / len(names))
            else:
                z = self._label_vectors(names) @ t / self.temperature
                p = np.exp(z - z.max())
                p /= p.sum()
            order = np.argsort(-p, kind="stable")
            out[head] = OpenVocabResult(tuple(OpenLabelScore(names[i], float(p[i])) for i in order), evidence)
        return out


__all__ = ["MAX_LABELS", "MAX_LABEL_CHARS", "OpenLabelScore", "OpenVocabResult", "OpenVocabScorer",
           "validate_label_lists"]
