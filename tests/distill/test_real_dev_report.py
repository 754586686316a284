"""The real-ad report: scoring rules (objects any-right, unlabelled heads skipped), baselines, and a
run on a small labelled folder with a real bundle that writes the table, the JSON and the plot."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))
from bundle_fixtures import ad_png, fp32_bundle, tiny_artifacts  # noqa: E402, F401

from adfusion_edge.distill.evaluate.real_dev_report import baselines, run, score  # noqa: E402


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
    result = run({"tiny": str(fp32_bundle)}, dev, tmp_path / "out", command="test")
    b = result["bundles"]["tiny"]
    assert b["ocr"]["theme"]["n"] == 3 and b["given_text"]["objects"]["n"] == 1 and b["run_text_given_p50_ms"] > 0
    md = (tmp_path / "out" / "DEV.md").read_text()
    assert "| theme | 66.7% |" in md and "tiny (fp32)" in md
    assert (tmp_path / "out" / "quality_vs_latency.png").stat().st_size > 1000
    assert json.loads((tmp_path / "out" / "dev_figures.json").read_text())["ads"] == 3
