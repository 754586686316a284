import json

import pytest

from adfusion_edge import schema
from adfusion_edge.errors import UnknownHeadError, UnknownLabelError


def test_thirteen_heads_in_issue_order():
    assert schema.HEAD_NAMES == (
        "theme", "sentiment", "emotion", "keywords", "monetary", "cta", "objects", "dominant_colour",
        "attention", "trust_safety", "audience", "ctr", "shares",
    )


def test_vocabulary_sizes():
    assert 64 <= len(schema.head("keywords").labels) <= 128
    assert len(schema.head("objects").labels) >= 24


def test_kinds_and_extras():
    assert schema.head("keywords").kind == "multi"
    assert schema.head("attention").kind == "ordinal"
    assert schema.head("monetary").span and schema.head("ctr").value
    assert schema.output_names()[-2:] == (schema.SPAN_OUTPUT, schema.VALUE_OUTPUT)


def test_unknown_label_names_head_and_choices():
    with pytest.raises(UnknownLabelError) as e:
        schema.encode_label("sentiment", "ecstatic")
    assert "sentiment" in str(e.value) and "positive" in str(e.value)
    assert e.value.allowed == ("negative", "neutral", "positive")


def test_unknown_head():
    with pytest.raises(UnknownHeadError, match="heads are"):
        schema.head("colour")


def test_multi_label_encoding_sorted_unique():
    assert schema.encode_label("objects", ["phone", "pizza", "phone"]) == sorted(
        {schema.head("objects").index("phone"), schema.head("objects").index("pizza")}
    )
    with pytest.raises(UnknownLabelError):
        schema.encode_label("objects", "pizza")  # a bare string is not a list


def test_fingerprint_stable_and_json():
    d = schema.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert schema.fingerprint() == schema.fingerprint()
    assert len(schema.fingerprint()) == 64
