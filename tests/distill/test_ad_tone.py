"""Sentiment as the ad's tone (distill/data/ad_tone.py) and its adoption check (distill/evaluate/tone_check.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from adfusion_edge import schema
from adfusion_edge.distill.data.ad_tone import TONE, main, relabel, tone_of
from adfusion_edge.distill.data.manifest import read_manifest
from adfusion_edge.distill.data.pitt import PITT_SENTIMENTS
from adfusion_edge.distill.data.realtext import DEFAULT_SRC, OCR, SLOGANS
from adfusion_edge.distill.evaluate.evaluator import Collected, head_figures, others_identical
from adfusion_edge.distill.evaluate.tone_check import decide
from adfusion_edge.errors import ConfigError, ManifestError


@pytest.mark.parametrize("feelings, tone", [
    (["eager"], "neutral"), (["fashionable", "feminine"], "neutral"), (["creative", "eager"], "neutral"),
    (["cheerful"], "positive"), (["amused", "eager"], "positive"), (["alarmed", "alert"], "negative"),
    (["sad"], "negative"), (["cheerful", "sad"], None), (["emotional"], None), (["empathetic", "eager"], "neutral"),
    (None, None), ([], None)])
def test_the_tone_of_an_ads_feelings(feelings, tone):
    assert tone_of(feelings) == tone


def test_an_unknown_feeling_is_refused_not_guessed():
    with pytest.raises(ValueError, match=r"\['nostalgic'\] have no tone"):
        tone_of(["cheerful", "nostalgic"])


def test_every_feeling_in_the_shipped_real_text_has_a_tone():
    seen: set[str] = set()
    for name in (SLOGANS, OCR):
        for line in (DEFAULT_SRC / name).open(encoding="utf-8"):
            seen.update(json.loads(line).get("pitt_sentiments") or ())
    assert seen <= set(TONE)
    # every name of Pitt's sentiment list is mapped on purpose, and nothing else is
    assert set(TONE) == {name for name, _ in PITT_SENTIMENTS.values()}
    assert {TONE[s] for s in seen} == {"positive", "neutral", "negative", None}


def _src(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / SLOGANS).write_text("\n".join(json.dumps(r) for r in [
        {"ad_id": "1/a.png", "pitt_sentiments": ["eager"]},
        {"ad_id": "1/b.png", "pitt_sentiments": ["cheerful", "creative"]},
        {"ad_id": "1/c.png", "pitt_sentiments": None}]) + "\n")
    (src / OCR).write_text(json.dumps({"ad_id": "9.jpg", "pitt_sentiments": ["afraid"]}) + "\n")
    return src


def _rows(tmp_path, rows):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_pitt_rows_take_their_ads_tone_and_other_rows_keep_theirs(tmp_path, capsys):
    rows = _rows(tmp_path, [
        {"id": "s1", "text": "Hungry?", "labels": {"theme": "food", "sentiment": "positive"},
         "meta": {"source": "pitt_slogans", "ad_id": "1/a.png"}},
        {"id": "s2", "text": "Smile", "labels": {"sentiment": "positive"}, "meta": {"source": "pitt_slogans", "ad_id": "1/b.png"}},
        {"id": "s3", "text": "Hm", "labels": {"sentiment": "positive"}, "meta": {"source": "pitt_slogans", "ad_id": "1/c.png"}},
        {"id": "o1", "text": "Beware", "labels": {"cta": "none"}, "meta": {"source": "pitt_ocr", "ad_id": "9.jpg"}},
        {"id": "f1", "text": "Join us", "labels": {"cta": "none"}, "meta": {"source": "facebook", "ad_id": "7"}}])
    out = tmp_path / "tone.jsonl"
    assert main(["--rows", str(rows), "--out", str(out), "--src", str(_src(tmp_path))]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["changed"] == 3 and counts["rows"] == 5
    got = {r.id: r.labels for r in read_manifest(out, text_only=True)}
    assert got == {"s1": {"theme": "food", "sentiment": "neutral"}, "s2": {"sentiment": "positive"}, "s3": {},
                   "o1": {"cta": "none", "sentiment": "negative"}, "f1": {"cta": "none"}}


def test_bad_input_is_named(tmp_path):
    src = _src(tmp_path)
    rows = _rows(tmp_path, [{"id": "x", "text": "t", "labels": {}, "meta": {"source": "pitt_slogans", "ad_id": "2/z.png"}}])
    with pytest.raises(ManifestError, match=r"rows.jsonl:1: row x: ad '2/z.png' is not in pitt_slogans.jsonl"):
        relabel(rows, tmp_path / "o.jsonl", src)
    with pytest.raises(ConfigError, match="is the input manifest"):
        relabel(rows, rows, src)
    with pytest.raises(ConfigError, match="missing"):
        relabel(rows, tmp_path / "o.jsonl", tmp_path / "nowhere")
    (src / OCR).write_text("{oops\n")
    with pytest.raises(ManifestError, match=r"pitt_ocr_action_reason.jsonl:1: not JSON"):
        relabel(rows, tmp_path / "o.jsonl", src)


def _collected(sentiment_logits, labels, theme=None):
    n = len(labels)
    outputs = {"sentiment": np.asarray(sentiment_logits, dtype=np.float32),
               "theme": np.zeros((n, len(schema.head("theme").labels)), np.float32) if theme is None else theme}
    return Collected(outputs=outputs, targets={"y/sentiment": np.asarray(labels), "m/sentiment": np.ones(n)})


def test_head_figures_and_the_rule():
    neg, neu, pos = np.eye(3)
    c = _collected([pos, neu, neu, neg], [1, 1, 2, 0])
    f = head_figures(c, "sentiment")
    assert f["rows"] == 4 and f["accuracy"] == 0.5
    assert f["answered"] == {"negative": 0.25, "neutral": 0.5, "positive": 0.25}
    moved = others_identical(c, _collected([pos, pos, pos, pos], [1, 1, 2, 0]), "sentiment")
    assert moved == []  # sentiment itself may move
    other = _collected([pos, neu, neu, neg], [1, 1, 2, 0], theme=np.ones((4, len(schema.head("theme").labels)), np.float32))
    assert others_identical(c, other, "sentiment") == ["theme"]

    def figs(pitt_acc, pitt_f1, synth_acc, synth_f1):
        return {"pitt": {"accuracy": pitt_acc, "macro_f1": pitt_f1}, "adsynth": {"accuracy": synth_acc, "macro_f1": synth_f1}}
    base = figs(0.08, 0.05, 0.997, 0.997)
    assert all(decide(base, figs(0.6, 0.4, 0.988, 0.987), []).values())  # within 1 point on AdSynth
    assert [k for k, ok in decide(base, figs(0.6, 0.04, 0.997, 0.997), []).items() if not ok] == ["pitt_macro_f1_rises"]
    assert [k for k, ok in decide(base, figs(0.6, 0.4, 0.98, 0.997), []).items() if not ok] == ["adsynth_accuracy_holds"]
    assert not decide(base, figs(0.6, 0.4, 0.997, 0.997), ["adsynth:theme"])["other_outputs_identical"]


def test_the_line_named_is_the_line_in_the_file_blank_lines_included(tmp_path):
    src = _src(tmp_path)
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"id": "a", "text": "t", "labels": {}, "meta": {"source": "facebook"}}) + "\n\n"
                    + json.dumps({"id": "x", "text": "t", "labels": {}, "meta": {"source": "pitt_slogans", "ad_id": "2/z.png"}})
                    + "\n")
    with pytest.raises(ManifestError, match=r"rows.jsonl:3: row x"):
        relabel(rows, tmp_path / "o.jsonl", src)
