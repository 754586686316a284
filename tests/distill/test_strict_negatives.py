"""Strict CTA / monetary negatives (distill/data/strict_negatives.py)."""

from __future__ import annotations

import json

import pytest

from adfusion_edge.distill.data.manifest import read_manifest
from adfusion_edge.distill.data.strict_negatives import main, strict, unlabelled_heads
from adfusion_edge.errors import ConfigError, ManifestError

NONE = {"monetary": "none", "cta": "none"}


@pytest.mark.parametrize("text", ["2 for the price of 1!", "FREE eBooks RULE!", "Quiznos and free cookies",
                                  "Buy coffee today get free coffee forever", "Pizza deals are awesome.",
                                  "Save energy, save the earth", "You could win a party"])
def test_maybe_offers_lose_their_monetary_none(text):
    assert unlabelled_heads(text, NONE)[0] == "monetary"


@pytest.mark.parametrize("text", ["Buy Almay and get that look", "Great taste. Shop Lane Bryant today",
                                  "Fresh - visit your dealer", "Learn more at almay.com", "www.example.org"])
def test_maybe_ctas_lose_their_cta_none(text):
    assert "cta" in unlabelled_heads(text, NONE)


@pytest.mark.parametrize("text", ["Sugar-free and gluten-free", "800% more followers since 2012",
                                  "Call 555-123-4567", "Don't deprive yourself - indulge yourself!",
                                  "Winter is coming", "Made to order.", "The saviour of your skin"])
def test_real_negatives_stay(text):
    # "Call 555..." starts with "call" (a CTA verb): only its monetary none, a phone number, must stay.
    assert "monetary" not in unlabelled_heads(text, NONE)
    if not text.startswith("Call"):
        assert unlabelled_heads(text, NONE) == []


def test_only_none_labels_are_dropped():
    assert unlabelled_heads("FREE shipping, shop now", {"monetary": "free", "cta": "shop_now"}) == []
    assert unlabelled_heads("FREE shipping", {}) == []


def test_a_manifest_keeps_every_row_and_every_other_label(tmp_path, capsys):
    src, out = tmp_path / "rows.jsonl", tmp_path / "strict.jsonl"
    rows = [{"id": "a", "text": "Free cookies. Order today", "labels": {**NONE, "theme": "food", "sentiment": "positive"}},
            {"id": "b", "text": "Indulge yourself", "labels": {**NONE, "theme": "food"}}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["--rows", str(src), "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out) == {"rows": 2, "monetary_none": 2, "cta_none": 2,
                                                   "monetary_dropped": 1, "cta_dropped": 1}
    got = {r.id: r.labels for r in read_manifest(out, text_only=True)}
    assert got == {"a": {"theme": "food", "sentiment": "positive"}, "b": {**NONE, "theme": "food"}}


def test_bad_input_is_named(tmp_path):
    src = tmp_path / "rows.jsonl"
    src.write_text('{"id": "a", "text": "x", "labels": {"monetary": "none"}}\n{oops\n')
    with pytest.raises(ManifestError, match=r"rows.jsonl:2"):
        strict(src, tmp_path / "out.jsonl")
    with pytest.raises(ConfigError, match="is the input manifest"):
        strict(src, src)
