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
