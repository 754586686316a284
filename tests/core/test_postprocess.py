"""postprocess.decode on hand-made probabilities: the monetary span as users read it."""

from __future__ import annotations

import numpy as np

from adfusion_edge import schema
from adfusion_edge.postprocess import decode
from adfusion_edge.tokenizer import TAG_O, AdTokenizer, span_to_tags


def _outputs(tags: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for h in schema.HEADS:
        p = np.zeros((1, len(h.labels)), np.float32)
        p[0, 0] = 1.0
        out[h.name] = p
    span = np.zeros((1, len(tags), 3), np.float32)
    span[0, np.arange(len(tags)), np.where(tags < 0, TAG_O, tags)] = 1.0
    out[schema.SPAN_OUTPUT] = span
    out[schema.VALUE_OUTPUT] = np.array([0.01], np.float32)
    return out


def test_span_across_an_ocr_line_break_reads_as_words(tokenizer_file):
    text = "ESCAPE TO THE BEACH\nJust\n£927\nBook now"
    tok = AdTokenizer(tokenizer_file, max_tokens=24)
    b = tok.encode([text])
    start = text.index("Just")
    tags = span_to_tags(b.offsets[0], b.special[0], (start, text.index("£927") + len("£927")))
    fields = decode(_outputs(tags), 0, text, b.offsets[0], b.special[0])
    assert fields["monetary"].text == "Just £927"


def test_a_low_top_probability_is_flagged_unsure_and_the_threshold_is_the_callers(tokenizer_file):
    import pytest

    from adfusion_edge.errors import ConfigError
    from adfusion_edge.postprocess import PostprocessConfig

    tok = AdTokenizer(tokenizer_file, max_tokens=8)
    b = tok.encode(["x"])
    out = _outputs(np.full(8, TAG_O))
    theme = np.full((1, len(schema.head("theme").labels)), 0.05, np.float32)
    theme[0, 2] = 0.45  # top label, but more likely wrong than right
    out["theme"] = theme
    fields = decode(out, 0, "x", b.offsets[0], b.special[0])
    assert fields["theme"].label == schema.head("theme").labels[2] and fields["theme"].unsure
    assert not fields["sentiment"].unsure  # probability 1.0
    relaxed = decode(out, 0, "x", b.offsets[0], b.special[0], PostprocessConfig(unsure_below=0.4))
    assert not relaxed["theme"].unsure
    with pytest.raises(ConfigError, match="unsure_below"):
        PostprocessConfig(unsure_below=1.5)


def test_ctr_bucket_follows_the_estimate_when_the_bundle_has_thresholds(tokenizer_file):
    tok = AdTokenizer(tokenizer_file, max_tokens=8)
    b = tok.encode(["x"])
    out = _outputs(np.full(8, TAG_O))
    out["ctr"] = np.array([[0.1, 0.2, 0.7]], np.float32)  # the bucket head says high
    out[schema.VALUE_OUTPUT] = np.array([0.003], np.float32)  # the estimate says low
    plain = decode(out, 0, "x", b.offsets[0], b.special[0])
    assert plain["ctr"].bucket.label == "high"  # without thresholds: the head's argmax, as before
    ctr = decode(out, 0, "x", b.offsets[0], b.special[0], ctr_thresholds=(0.0042, 0.007))["ctr"]
    assert ctr.bucket.label == "low" and ctr.estimate == np.float32(0.003)
    assert ctr.bucket.confidence == np.float32(0.1) and ctr.bucket.unsure  # the head disagreed: say so
    for estimate, label in ((0.0043, "medium"), (0.0069, "medium"), (0.0071, "high"), (0.2, "high")):
        out[schema.VALUE_OUTPUT] = np.array([estimate], np.float32)
        got = decode(out, 0, "x", b.offsets[0], b.special[0], ctr_thresholds=(0.0042, 0.007))["ctr"]
        assert got.bucket.label == label, (estimate, got)
    assert not got.bucket.unsure  # high, and the head's own pick at 0.7
