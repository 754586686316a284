"""The real-ad report: scoring rules (objects any-right, unlabelled heads skipped), baselines, and a
run on a small labelled folder with a real bundle that writes the table, the JSON and the plot."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))
from bundle_fixtures import ad_png, fp32_bundle, tiny_artifacts  # noqa: E402, F401

from adfusion_edge.distill.evaluate.real_dev_report import (  # noqa: E402
    SECTION_BEGIN,
    SECTION_END,
    baselines,
    kept_section,
    run,
    score,
    splice_section,
)


def test_score_counts_objects_any_right_and_skips_unlabelled_heads():
    preds = [{"theme": "food", "monetary": "none", "cta": "none", "dominant_colour": "red", "sentiment": "positive",
              "objects": {"person", "car"}},
             {"theme": "travel", "monetary": "price", "cta": "none", "dominant_colour": "blue", "sentiment": "neutral",
              "objects": set()}]
    labels = [{"theme": "food", "monetary": "price", "objects": ["car", "shoe"]},
              {"theme": "home", "cta": "none", "objects": ["person"], "sentiment": None}]
    s = score(preds, labels)
    assert s["theme"] == {"hits": 1, "n": 2, "accuracy": 0.5}
    assert s["monetary"] == {"hits": 0, "n": 1, "accuracy": 0.0}
    assert s["cta"]["n"] == 1 and s["cta"]["hits"] == 1
    assert s["objects"] == {"hits": 1, "n": 2, "accuracy": 0.5}
    assert s["sentiment"] == {"hits": 0, "n": 0, "accuracy": None}


def test_baselines_and_a_run_on_a_labelled_folder(fp32_bundle, tmp_path):  # noqa: F811
    rng = np.random.default_rng(0)
    dev = tmp_path / "dev"
    dev.mkdir()
    labels = {}
    for i, (colour, theme, text) in enumerate([("red", "food", "Hot pizza 50% OFF"), ("blue", "travel", "Fly to Rome"),
                                               ("red", "food", "Fresh burgers daily")]):
        (dev / f"ad{i}.png").write_bytes(ad_png(colour, rng))
        labels[f"ad{i}.png"] = {"theme": theme, "monetary": "none", "cta": "none", "dominant_colour": colour,
                                "sentiment": "positive", "text_hint": text, "objects": ["pizza"] if i == 0 else []}
    (dev / "labels.json").write_text(json.dumps(labels))
    base = baselines([labels[k] for k in sorted(labels)])
    assert base["theme"]["majority"] == 2 / 3 and base["theme"]["majority_label"] == "food"
    assert 0.0 <= base["theme"]["zero_shot"] <= 1.0 and base["objects"]["majority"] == 0.0
    report = tmp_path / "student" / "REPORT.md"
    report.parent.mkdir()
    report.write_text("# Teacher vs student\n\nAdSynth tables\n")
    result = run({"tiny": str(fp32_bundle)}, dev, tmp_path / "out", command="test", student_report=report)
    b = result["bundles"]["tiny"]
    assert b["ocr"]["theme"]["n"] == 3 and b["given_text"]["objects"]["n"] == 1 and b["run_text_given_p50_ms"] > 0
    md = (tmp_path / "out" / "DEV.md").read_text()
    assert "| theme | 66.7% |" in md and "tiny (fp32)" in md
    assert (tmp_path / "out" / "quality_vs_latency.png").stat().st_size > 1000
    assert json.loads((tmp_path / "out" / "dev_figures.json").read_text())["ads"] == 3
    text = report.read_text()
    assert text.startswith("# Teacher vs student\n\nAdSynth tables\n") and text.count(SECTION_BEGIN) == 1
    assert "| theme | 66.7% |" in text and "../out/quality_vs_latency.png" in text


def test_the_real_ad_section_is_replaced_in_place_and_kept_on_regeneration(tmp_path):
    old = f"# R\n\nbefore\n\n{SECTION_BEGIN}\nold table\n{SECTION_END}\n\nafter\n"
    new = splice_section(old, [SECTION_BEGIN, "new table", SECTION_END])
    assert new == f"# R\n\nbefore\n\n{SECTION_BEGIN}\nnew table\n{SECTION_END}\n\nafter\n"
    path = tmp_path / "REPORT.md"
    path.write_text(new)
    assert kept_section(path) == [SECTION_BEGIN, "new table", SECTION_END]
    path.write_text("# no section\n")
    assert kept_section(path) == [] and kept_section(tmp_path / "missing.md") == []
