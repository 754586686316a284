"""Mention text rows (distill/data/mention_rows.py) and their adoption check (distill/evaluate/mention_check.py)."""

from __future__ import annotations

import json
import random

import pytest

from adfusion_edge.distill.data.adsynth.offers import CTA_TEXTS, FORMAT_PATTERNS
from adfusion_edge.distill.data.manifest import read_manifest
from adfusion_edge.distill.data.mention_rows import (
    CTA_TYPES,
    OFFER_TYPES,
    base_texts,
    cta_row,
    offer_row,
    write_rows,
)
from adfusion_edge.distill.evaluate.mention_check import decide
from adfusion_edge.errors import ConfigError, ManifestError


def _rows(tmp_path, extra: str = ""):
    path = tmp_path / "train.jsonl"
    rows = [
        {"id": "a", "text": "Don't deprive yourself. Indulge yourself!", "labels": {"monetary": "none", "cta": "none",
                                                                                "theme": "food"}},
        {"id": "b", "text": "Only $5 today", "labels": {"monetary": "price", "cta": "none"}},  # an offer: not a base
        {"id": "c", "text": "Winter is coming\nand so is the new season", "labels": {"monetary": "none", "cta": "none"}},
        {"id": "d", "text": "Join us to learn more", "labels": {"monetary": "none"}},  # a CTA (no cta = none): not a base
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n" + extra)
    return path


def test_bases_are_the_rows_without_an_offer_and_a_bad_line_is_named(tmp_path):
    assert [b[0] for b in base_texts(_rows(tmp_path))] == ["a", "c"]
    with pytest.raises(ManifestError, match=r"train.jsonl:5"):
        base_texts(_rows(tmp_path, "{oops\n"))
    empty = tmp_path / "none.jsonl"
    empty.write_text(json.dumps({"text": "x", "labels": {"monetary": "price"}}) + "\n")
    with pytest.raises(ConfigError, match="no rows labelled monetary = none and cta = none"):
        base_texts(empty)


def test_every_row_keeps_the_real_text_and_its_span_covers_a_mention_of_its_type():
    rng = random.Random(0)
    base = ("a", "Don't deprive yourself. Indulge yourself!", "food")
    seen = set()
    for i in range(300):
        row = offer_row(rng, i, base)
        label, (s, e) = row["labels"]["monetary"], row["monetary_span"]
        assert set(row["labels"]) == {"monetary"}  # only the monetary head learns from these rows
        mention = row["text"][s:e]
        assert FORMAT_PATTERNS[label].fullmatch(mention), (label, mention)  # any casing, commas or not
        assert "deprive yourself" in row["text"].lower()
        seen.add((label, row["meta"]["position"]))
    assert {lab for lab, _ in seen} == set(OFFER_TYPES)
    assert {pos for _, pos in seen} == {"start", "middle", "end"}


def test_a_cta_row_labels_only_the_cta_and_carries_its_button_text():
    rng = random.Random(0)
    base = ("c", "Winter is coming\nand so is the new season", None)
    labels = set()
    for i in range(200):
        row = cta_row(rng, i, base)
        (head, label), = row["labels"].items()
        assert head == "cta" and "monetary_span" not in row
        assert any(t.lower().replace(",", "") in row["text"].lower().replace(",", "") for t in CTA_TEXTS[label])
        labels.add(label)
    assert labels == set(CTA_TYPES)


def test_written_rows_read_back_as_a_text_manifest_with_spans(tmp_path):
    out = tmp_path / "mentions.jsonl"
    counts = write_rows(_rows(tmp_path), out, n_offers=40, n_ctas=20, seed=1, progress=False)
    assert counts["rows"] == 60 and counts["base_rows"] == 2
    assert sum(counts["by_label"]["monetary"].values()) == 40 and sum(counts["by_label"]["cta"].values()) == 20
    records = list(read_manifest(out, text_only=True))
    assert len(records) == 60
    assert sum(r.monetary_span is not None for r in records) == 40
    again = tmp_path / "again.jsonl"
    write_rows(_rows(tmp_path), again, n_offers=40, n_ctas=20, seed=1, progress=False)
    assert again.read_bytes() == out.read_bytes()  # the seed fixes the rows
    with pytest.raises(ConfigError, match="--offers and --ctas"):
        write_rows(_rows(tmp_path), out, n_offers=0, n_ctas=0)


def _figures(offer_recall, cta_recall, pitt_cta_none, monetary_acc=0.97):
    return {"adsynth": {"monetary": {"recall": offer_recall, "accuracy": monetary_acc},
                        "cta": {"recall": cta_recall, "accuracy": 0.97}},
            "pitt": {"monetary": {"answered_none": 0.998}, "cta": {"answered_none": pitt_cta_none},
                     "theme": {"accuracy": 0.72}}}


def test_the_adoption_rule_needs_more_offers_found_and_nothing_else_lost():
    base = _figures(0.6, 0.8, 0.999)
    assert all(decide(base, _figures(0.8, 0.8, 0.996, monetary_acc=0.966)).values())  # within 0.5 points
    worse = decide(base, _figures(0.8, 0.8, 0.99))
    assert [k for k, ok in worse.items() if not ok] == ["pitt_cta_none_holds"]
    assert [k for k, ok in decide(base, _figures(0.8, 0.75, 0.999)).items() if not ok] == ["cta_recall_holds"]
    assert not decide(base, base)["offer_recall_rises"]
