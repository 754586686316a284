"""AdReport: the typed result of analysing one ad (every head, the text, timings, backend).

``str(report)`` prints the paper's case-study shape::

    Theme: Food
    Sentiment: Positive
    ...
    Predicted CTR: High (3.1%)
    Likelihood of Shares: Low

``to_dict()`` / ``to_json()`` give plain JSON; ``AdReport.from_dict`` reads it back (round trip).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from adfusion_edge.gloss import LANGUAGES


def display(label: str) -> str:
    """Label id -> display text: ``food_lovers`` -> ``Food Lovers``, ``none`` -> ``None``."""
    return " ".join(w.capitalize() for w in label.split("_"))


@dataclass(frozen=True)
class OpenLabelScore:
    """One user label and its probability among the labels of its head."""

    label: str
    probability: float


@dataclass(frozen=True)
class OpenVocabResult:
    """Scores of one head's user labels, most probable first; ``evidence`` is ``text`` or ``none``."""

    scores: tuple[OpenLabelScore, ...]
    evidence: str

    @property
    def label(self) -> str:
        return self.scores[0].label


@dataclass(frozen=True)
class Prediction:
    """A single-label / ordinal head: the top label and its probability.

    Attributes:
        label: The most probable label.
        confidence: Its probability (temperature-scaled in bundles that carry a calibration, so
            0.6 means right about 6 times in 10 on the held-out rows it was fitted on).
        unsure: The confidence is under ``PostprocessConfig.unsure_below``: treat the label as a
            guess (the CLI prints "unsure" next to it).
    """

    label: str
    confidence: float
    unsure: bool = False

    def __str__(self) -> str:
        return display(self.label)


@dataclass(frozen=True)
class LabelScore:
    """One label of a multi-label head with its probability."""

    label: str
    probability: float


@dataclass(frozen=True)
class MonetaryMention:
    """Monetary mention: its type (head ``monetary``) and the span cut from the ad text."""

    type: Prediction
    text: str | None = None
    span_confidence: float | None = None

    def __str__(self) -> str:
        if self.type.label == "none" and not self.text:
            return "None"
        return self.text if self.text else str(self.type)


@dataclass(frozen=True)
class CtrEstimate:
    """CTR bucket (ordinal head ``ctr``) and continuous estimate in [0, 1] (``ctr_value``)."""

    bucket: Prediction
    estimate: float

    def __str__(self) -> str:
        return f"{self.bucket} ({100 * self.estimate:.1f}%)"


@dataclass(frozen=True)
class Timings:
    """Per-stage wall time in milliseconds (batch stages are divided evenly over the batch)."""

    decode_ms: float = 0.0
    ocr_ms: float = 0.0
    tokenize_ms: float = 0.0
    infer_ms: float = 0.0
    postprocess_ms: float = 0.0

    @property
    def total_ms(self) -> float:
        return self.decode_ms + self.ocr_ms + self.tokenize_ms + self.infer_ms + self.postprocess_ms


def _labels(items: tuple[LabelScore, ...]) -> str:
    return ", ".join(f"{display(i.label)} ({i.probability:.2f})" for i in items) if items else "None"


def _scored(p: Prediction, shown: object = None) -> str:
    """``Food (0.83)``, or ``Food (0.41, unsure)``: the plain output shows how sure each head is."""
    return f"{shown if shown is not None else p} ({p.confidence:.2f}{', unsure' if p.unsure else ''})"


# Under this share of English words the report says the model could not read the text. (The default
# model also scales the theme's text evidence down below 0.57: distill/evaluate/readability_gate.py.)
READABLE_FLOOR = 0.5
# The heads that read the words' meaning and nothing else: on text under READABLE_FLOOR their
# answers are flagged unsure whatever their confidence (the confidence was fitted on text the model
# reads). Not monetary: prices and percentages are digits and symbols in any language. Not theme:
# the default model's theme leans on the picture there.
WORD_READING_HEADS = ("sentiment", "emotion", "cta")
_UNSURE_HEADS = "sentiment, emotion and CTA"  # WORD_READING_HEADS as the CLI says them (tested)


def flag_unreadable(fields: dict[str, Any], readable: float | None, glossed: bool = False) -> dict[str, Any]:
    """``fields`` (AdReport head fields) with the WORD_READING_HEADS flagged unsure when the text's
    readability is under READABLE_FLOOR, or when the model read a word-by-word gloss (``glossed``:
    a gloss keeps the words' subject, not their tone or idiom); unchanged otherwise."""
    if not glossed and (readable is None or readable >= READABLE_FLOOR):
        return fields
    return {**fields, **{h: dataclasses.replace(fields[h], unsure=True) for h in WORD_READING_HEADS}}


def _text_read(text: str, source: str, readable: float | None = None, limit: int = 160,
               gloss: str | None = None, language: str | None = None) -> str:
    one_line = " ".join(text.split())
    if not one_line:
        return f"None ({source})"
    note = ""
    if gloss is not None:
        shown = " ".join(gloss.split())
        note = (f"; read as {LANGUAGES.get(language or '', language)} through a word-by-word English gloss, "
                f"{100 * (readable or 0):.0f}% English words: {shown[:limit]}{'...' if len(shown) > limit else ''}; "
                f"{_UNSURE_HEADS} are unsure")
    elif readable is not None:
        note = f", {100 * readable:.0f}% English words"
        if readable < READABLE_FLOOR:
            note += f": mostly unreadable to the model, which reads English; {_UNSURE_HEADS} are unsure"
    return f"{one_line[:limit]}{'...' if len(one_line) > limit else ''} ({source}{note})"


@dataclass(frozen=True)
class AdReport:
    """Everything the model says about one ad.

    Attributes:
        theme, sentiment, emotion, cta, dominant_colour, attention, trust_safety, audience,
            shares: top label + confidence.
        keywords, objects: labels above the threshold, most probable first.
        monetary: mention type + span text.
        ctr: bucket + estimate.
        text: The text the model read (given, or from OCR).
        text_source: ``given``, ``ocr``, ``ocr_empty`` (OCR found no text), ``ocr_failed: <reason>``
            (OCR failed; the heads read the image only) or ``none`` (no text and OCR disabled).
        ocr_lines: OCR boxes as (text, score, (x0, y0, x1, y1)), reading order.
        timings: Per-stage milliseconds.
        backend, provider: What ran the model (provider as actually reported by the runtime).
        model: Bundle path.
        precision: fp32 / fp16 / int8.
        source: File name when the image came from a path.
        open_labels: Scores of the caller's own labels (``run(..., labels={head: [...]})``,
            adfusion_edge.open_vocab), by head; empty when none were asked for.
        text_truncated: The text was longer than tokenizer.MAX_TEXT_CHARS and was cut before
            tokenizing (``text`` is what the model read).
        fallback: Set when the model runs on another device / provider than the one asked for
            (what was asked, what runs, and why); None otherwise.
        text_readable: Share of the text's words that the model reads as English words
            (adfusion_edge/readability.py), in [0, 1], of the text the model read (the gloss, where
            there is one); None when the text has no letters or the bundle's tokenizer is not the
            bert-base-uncased one. Under 0.5 (READABLE_FLOOR) the model read mostly word fragments:
            sentiment, emotion and CTA are then flagged unsure.
        text_gloss: The word-by-word English gloss the model read instead of ``text``, which it could
            not read (adfusion_edge/gloss.py); None where it read ``text`` itself. Sentiment, emotion and
            CTA read from a gloss are flagged unsure; the monetary span is cut from the gloss, where
            numbers and currency signs stay as they were.
        text_language: The dictionary language of the gloss (``deu``, ``fra``, ``spa``, ``ita``,
            ``nld``, ``por``); None without a gloss.
    """

    theme: Prediction
    sentiment: Prediction
    emotion: Prediction
    keywords: tuple[LabelScore, ...]
    monetary: MonetaryMention
    cta: Prediction
    objects: tuple[LabelScore, ...]
    dominant_colour: Prediction
    attention: Prediction
    trust_safety: Prediction
    audience: Prediction
    ctr: CtrEstimate
    shares: Prediction
    text: str = ""
    text_source: str = "given"
    ocr_lines: tuple[tuple[str, float, tuple[float, float, float, float]], ...] = ()
    timings: Timings = field(default_factory=Timings)
    backend: str = ""
    provider: str = ""
    model: str = ""
    precision: str = ""
    source: str | None = None
    open_labels: dict[str, OpenVocabResult] = field(default_factory=dict)
    text_truncated: bool = False
    fallback: str | None = None
    text_readable: float | None = None
    text_gloss: str | None = None
    text_language: str | None = None
    ok: bool = field(default=True, init=False)

    def __str__(self) -> str:
        rows = [
            ("Theme", _scored(self.theme)), ("Sentiment", _scored(self.sentiment)),
            ("Emotion", _scored(self.emotion)), ("Keywords", _labels(self.keywords)),
            ("Monetary Mention", _scored(self.monetary.type, self.monetary)),
            ("Call-to-Action", _scored(self.cta)), ("Object Detection", _labels(self.objects)),
            ("Dominant Colour", _scored(self.dominant_colour)), ("Attention Score", _scored(self.attention)),
            ("Trust/Safety", _scored(self.trust_safety)), ("Target Audience", _scored(self.audience)),
            ("Predicted CTR", f"{_scored(self.ctr.bucket)}, estimate {100 * self.ctr.estimate:.1f}%"),
            ("Likelihood of Shares", _scored(self.shares)),
            ("Text read", _text_read(self.text, self.text_source, self.text_readable, gloss=self.text_gloss,
                                     language=self.text_language)),
        ]
        for head, res in self.open_labels.items():
            top = res.scores[0]
            rows.append((f"{head} (your labels)", f"{top.label} ({top.probability:.2f}, from {res.evidence})"))
        return "\n".join(f"{k}: {v}" for k, v in rows)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists); ``total_ms`` is included in timings."""
        d = asdict(self)
        d.pop("ok")
        d["timings"]["total_ms"] = self.timings.total_ms
        return d

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AdReport:
        """Inverse of :meth:`to_dict`."""
        def pred(x: dict) -> Prediction:
            return Prediction(x["label"], float(x["confidence"]), bool(x.get("unsure", False)))

        def scores(xs: list) -> tuple[LabelScore, ...]:
            return tuple(LabelScore(x["label"], float(x["probability"])) for x in xs)

        t = dict(d["timings"])
        t.pop("total_ms", None)
        m = d["monetary"]
        single = ("theme", "sentiment", "emotion", "cta", "dominant_colour", "attention", "trust_safety",
                  "audience", "shares")
        return cls(
            **{k: pred(d[k]) for k in single},
            keywords=scores(d["keywords"]), objects=scores(d["objects"]),
            monetary=MonetaryMention(pred(m["type"]), m["text"], m["span_confidence"]),
            ctr=CtrEstimate(pred(d["ctr"]["bucket"]), float(d["ctr"]["estimate"])),
            text=d["text"], text_source=d["text_source"],
            ocr_lines=tuple((ln[0], float(ln[1]), tuple(ln[2])) for ln in d["ocr_lines"]),
            timings=Timings(**t), backend=d["backend"], provider=d["provider"], model=d["model"],
            precision=d["precision"], source=d["source"], open_labels=_open_labels(d.get("open_labels") or {}),
            text_truncated=bool(d.get("text_truncated", False)), fallback=d.get("fallback"),
            text_readable=None if d.get("text_readable") is None else float(d["text_readable"]),
            text_gloss=d.get("text_gloss"), text_language=d.get("text_language"),
        )

    @classmethod
    def from_json(cls, s: str) -> AdReport:
        return cls.from_dict(json.loads(s))


def _open_labels(d: dict[str, Any]) -> dict[str, OpenVocabResult]:
    return {h: OpenVocabResult(tuple(OpenLabelScore(x["label"], float(x["probability"])) for x in r["scores"]),
                               r["evidence"]) for h, r in d.items()}


@dataclass(frozen=True)
class AdError:
    """A batch entry that could not be analysed (``run_batch(..., on_error="skip")``).

    Attributes:
        index: Position in the batch.
        source: File name when the image came from a path.
        error: Exception class name (e.g. ``InvalidImageError``).
        message: The error message.
    """

    index: int
    source: str | None
    error: str
    message: str
    ok: bool = field(default=False, init=False)

    def __str__(self) -> str:
        return f"error: {self.error}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "source": self.source, "error": self.error, "message": self.message}
