"""Real ad text -> text-only manifests: splits kept apart, negatives, CTR, malformed lines counted."""

from __future__ import annotations

import json
import shutil

import pytest

from adfusion_edge.distill.data import realtext
from adfusion_edge.distill.data.manifest import read_manifest
from adfusion_edge.errors import ManifestError


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture()
def src(tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    _write(d / realtext.SLOGANS, [
        {"ad_id": "1/a.png", "split": "train", "text": "Dove: Women tested, women approved",
         "pitt_topic": {"id": 17, "name": "beauty"}, "theme": "beauty", "sentiment": "positive"},
        {"ad_id": "1/b.png", "split": "test", "text": "Taste the feeling", "theme": "food", "sentiment": None},
        "{not json",
        {"ad_id": "1/c.png", "split": "train", "text": "Buy now, 50% off!", "theme": "nosuchtheme"},
        {"ad_id": "1/d.png", "split": "dev", "text": "x"},
    ])
    _write(d / realtext.OCR, [
        {"ad_id": "e.jpg", "split": "train", "ocr_text": "Since 1921\nCall us today", "theme": "home"},
        {"ad_id": "f.jpg", "split": "test", "ocr_text": None, "theme": "home"},
    ])
    _write(d / realtext.FACEBOOK, [
        {"ad_id": 1, "text": "Join us!", "impressions": 5000, "clicks": 50, "ctr": 0.01},
        {"ad_id": 2, "text": "Stand together", "impressions": 9000, "clicks": 900, "ctr": 0.1},
        {"ad_id": 3, "text": "Few views", "impressions": 10, "clicks": 1, "ctr": 0.1},
        {"ad_id": 4, "text": "bad ctr", "impressions": 10, "clicks": 1, "ctr": "high"},
    ])
    return d


def test_build_keeps_test_split_out_and_counts_bad_lines(src, tmp_path, capsys):
    stats = realtext.BuildStats()
    out = tmp_path / "out"
    rows = realtext.build(src, out, stats)
    train_ids = {r.meta.get("ad_id") for r in rows["train"]}
    assert "1/b.png" not in train_ids and {r.meta["ad_id"] for r in rows["pitt_test"]} == {"1/b.png"}
    # 3 malformed lines (bad JSON, unknown theme, unknown split) + 1 bad ctr, each named FILE:LINE
    assert len(stats.bad_lines) == 4
    err = capsys.readouterr().err
    assert f"{src / realtext.SLOGANS}:3:" in err and f"{src / realtext.SLOGANS}:4:" in err
    assert f"{src / realtext.FACEBOOK}:4:" in err
    back = list(read_manifest(out / "train.jsonl", text_only=True))
    assert len(back) == len(rows["train"]) and all(r.image_path is None for r in back)
    with pytest.raises(ManifestError, match="image"):
        list(read_manifest(out / "train.jsonl"))  # without text_only an image is required


def test_labels_negatives_and_ctr(src):
    rows = realtext.build(src)
    by_text = {r.text: r for r in rows["train"]}
    dove = by_text["Dove: Women tested, women approved"]
    assert dove.labels == {"theme": "beauty", "sentiment": "positive", "cta": "none", "monetary": "none"}
    ocr = by_text["Since 1921\nCall us today"]
    assert "cta" not in ocr.labels and ocr.labels["monetary"] == "none"  # a CTA, a year that is no price
    fb = {r.text: r for r in rows["train"] if r.meta["source"] == "facebook"}
    assert fb["Join us!"].ctr_value == 0.01 and fb["Stand together"].labels["ctr"] == "high"
    assert fb["Few views"].ctr_value is None and "ctr" not in fb["Few views"].labels  # < MIN_IMPRESSIONS


def test_missing_source_is_an_error_not_a_bad_line(src):
    (src / realtext.FACEBOOK).unlink()
    with pytest.raises(FileNotFoundError, match="facebook"):
        realtext.build(src)


def test_project_copy_builds(tmp_path):
    if not (realtext.DEFAULT_SRC / realtext.SLOGANS).is_file():
        pytest.skip("datasets/realtext not in this tree")
    stats = realtext.BuildStats()
    rows = realtext.build(realtext.DEFAULT_SRC, None, stats)
    assert stats.bad_lines == [] and len(rows["pitt_test"]) > 2000 and len(rows["train"]) > 10000
    assert not any(r.meta.get("split") == "test" for r in rows["train"])
    shutil.rmtree(tmp_path, ignore_errors=True)
