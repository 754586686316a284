import numpy as np
import pytest

from adfusion_edge.errors import InvalidTextError
from adfusion_edge.tokenizer import IGNORE_INDEX, TAG_B, TAG_I, TAG_O, AdTokenizer, span_to_tags, tags_to_span


def test_fixed_length_batch(tokenizer_file):
    tok = AdTokenizer(tokenizer_file, max_tokens=16)
    b = tok.encode(["Hot pizza 50% OFF", "", "x " * 100])
    assert b.input_ids.shape == (3, 16) and b.input_ids.dtype == np.int64
    assert b.attention_mask[1].sum() == 2  # [CLS] [SEP] for empty text
    assert b.attention_mask[2].sum() == 16  # truncated


def test_non_utf8_bytes_rejected(tokenizer_file):
    tok = AdTokenizer(tokenizer_file, max_tokens=8)
    with pytest.raises(InvalidTextError, match="UTF-8"):
        tok.encode([b"\xff\xfe bad"])
    assert tok.encode([b"caf\xc3\xa9"]).attention_mask.sum() >= 3
    with pytest.raises(InvalidTextError):
        tok.encode([42])


def test_span_round_trip(tokenizer_file):
    text = "Hot pizza 50% OFF today only"
    tok = AdTokenizer(tokenizer_file, max_tokens=24)
    b = tok.encode([text])
    start = text.index("50% OFF")
    tags = span_to_tags(b.offsets[0], b.special[0], (start, start + len("50% OFF")))
    assert tags[0] == IGNORE_INDEX and (tags == TAG_B).sum() == 1 and (tags == TAG_I).sum() >= 1
    probs = np.zeros((24, 3))
    probs[np.arange(24), np.where(tags < 0, TAG_O, tags)] = 1.0
    span = tags_to_span(text, b.offsets[0], b.special[0], probs)
    assert span is not None and span[0] == "50% OFF"


def test_no_span_when_all_outside(tokenizer_file):
    tok = AdTokenizer(tokenizer_file, max_tokens=12)
    b = tok.encode(["plain text"])
    probs = np.tile([1.0, 0.0, 0.0], (12, 1))
    assert tags_to_span("plain text", b.offsets[0], b.special[0], probs) is None


def test_span_keeps_tokens_split_between_begin_and_inside(tokenizer_file):
    """A token inside the span whose mass is split between B and I (neither alone > 0.5) still
    extends the span: "Just £927" must not be cut to "Just"."""
    text = "Just £927 today"
    tok = AdTokenizer(tokenizer_file, max_tokens=16)
    b = tok.encode([text])
    tags = span_to_tags(b.offsets[0], b.special[0], (0, len("Just £927")))
    probs = np.zeros((16, 3))
    probs[np.arange(16), np.where(tags < 0, TAG_O, tags)] = 1.0
    inside = np.flatnonzero(tags == TAG_I)
    assert inside.size >= 1
    probs[inside] = [0.1, 0.45, 0.45]  # O, B, I: ambiguous between B and I, clearly not O
    span = tags_to_span(text, b.offsets[0], b.special[0], probs)
    assert span is not None and span[0] == "Just £927"
