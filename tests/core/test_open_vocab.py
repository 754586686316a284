"""Open vocabulary: user labels scored from the text the model read, no retraining; typed errors."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from adfusion_edge import Analyzer
from adfusion_edge.errors import AdFusionError, LabelListError
from adfusion_edge.open_vocab import MAX_LABEL_CHARS, MAX_LABELS, OpenVocabScorer, validate_label_lists
from adfusion_edge.report import AdReport

LABELS = {"theme": ["pet food", "insurance", "gaming"]}


@pytest.fixture(scope="module")
def scorer():
    return OpenVocabScorer()


@pytest.mark.parametrize("text, want", [
    ("Healthy dog food your puppy will love", "pet food"),
    ("Protect your family with affordable life and car cover", "insurance"),
    ("Play the new console game online with friends", "gaming"),
])
def test_user_labels_follow_the_text(scorer, text, want):
    res = scorer.score(text, LABELS)["theme"]
    assert res.label == want and res.evidence == "text"
    assert sum(s.probability for s in res.scores) == pytest.approx(1.0)
    assert [s.probability for s in res.scores] == sorted((s.probability for s in res.scores), reverse=True)


def test_no_text_gives_no_evidence(scorer):
    res = scorer.score("", {"any": ["a", "b"]})["any"]
    assert res.evidence == "none" and {s.probability for s in res.scores} == {0.5}


@pytest.mark.parametrize("labels, match", [
    ({}, "empty dict"),
    ({"theme": []}, "is empty"),
    ({"theme": ["Pet food", "pet  FOOD"]}, "duplicates"),
    ({"theme": [f"label {i}" for i in range(MAX_LABELS + 1)]}, "at most"),
    ({"theme": ["x" * (MAX_LABEL_CHARS + 1)]}, "characters"),
    ({"theme": "pet food"}, "list of strings"),
    ({"theme": ["ok", 3]}, "must be strings"),
    ({"theme": ["  "]}, "empty label"),
    ({"": ["a"]}, "head names"),
    (["theme"], "dict"),
])
def test_bad_label_lists_are_typed_errors(labels, match):
    with pytest.raises(LabelListError, match=match) as e:
        validate_label_lists(labels)
    assert isinstance(e.value, AdFusionError) and isinstance(e.value, ValueError)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 200, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_analyzer_run_with_labels_round_trips():
    an = Analyzer(device="cpu", threads=1, ocr=False)
    plain = an.run(_png(), text="Healthy dog food your puppy will love")
    r = an.run(_png(), text="Healthy dog food your puppy will love", labels=LABELS)
    assert plain.open_labels == {} and r.open_labels["theme"].label == "pet food"
    assert r.theme == plain.theme  # the built-in heads are untouched
    assert "theme (your labels): pet food" in str(r)
    back = AdReport.from_json(r.to_json())
    assert back.open_labels == r.open_labels and json.loads(r.to_json())["open_labels"]["theme"]["evidence"] == "text"
    with pytest.raises(LabelListError):
        an.run(_png(), text="x", labels={"theme": []})
