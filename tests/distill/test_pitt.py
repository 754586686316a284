import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adfusion_edge import schema
from adfusion_edge.cli import main
from adfusion_edge.distill.data import pitt
from adfusion_edge.distill.data.manifest import read_manifest
from adfusion_edge.errors import ManifestError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pitt"

# What the fixture files must convert to (see the vote rules in pitt.py's docstring).
EXPECTED = {
    "10/170741.jpg": {"theme": "food", "sentiment": "positive", "emotion": "joy"},  # 1,1,7 ; 9 x2
    # "active" describes the ad, not its tone: neutral (ad_tone.TONE), and still the emotion excitement
    "10/171131.jpg": {"theme": "technology", "sentiment": "neutral", "emotion": "excitement"},
    "0/10000.jpg": {"sentiment": "negative", "emotion": "fear"},  # environment -> masked theme
    "0/10001.jpg": {"theme": "finance", "sentiment": "positive", "emotion": "calm"},  # ties -> smallest id
    "1/10003.jpg": {"theme": "politics"},  # 37 vs free text tie: the id wins; no sentiments
    "3/10005.jpg": {"sentiment": "negative", "emotion": "sadness"},  # no topics
    "1/10002.jpg": {"sentiment": "neutral"},  # free text wins the topic; "feminine" is a neutral tone, no emotion
}
# 2/10004.jpg (ids 99, 0 and free text count as "other") has every head masked and is dropped.


def test_official_lists_complete_and_mappings_valid():
    assert sorted(pitt.PITT_TOPICS) == list(range(1, 39))
    assert sorted(pitt.PITT_SENTIMENTS) == list(range(1, 31))
    assert pitt.PITT_TOPICS[37][0] == "political" and pitt.PITT_SENTIMENTS[28][0] == "sad"
    assert set(pitt.TOPIC_TO_THEME) == set(pitt.PITT_TOPICS)
    assert set(pitt.SENTIMENT_TO_OURS) == set(pitt.PITT_SENTIMENTS)
    for theme in filter(None, pitt.TOPIC_TO_THEME.values()):
        schema.encode_label("theme", theme)
    for senti, emo in pitt.SENTIMENT_TO_OURS.values():
        if senti:
            schema.encode_label("sentiment", senti)
        if emo:
            schema.encode_label("emotion", emo)
    assert set(schema.head("theme").labels) <= set(pitt.TOPIC_TO_THEME.values())  # every theme reachable
    assert pitt.TOPIC_TO_THEME[34] is None and pitt.TOPIC_TO_THEME[31] is None


def test_majority_vote_rules():
    ids = pitt.PITT_TOPICS
    assert pitt.majority_vote(["3", "5", "5"], ids) == 5
    assert pitt.majority_vote(["9", "4"], ids) == 4  # tie -> smallest id
    assert pitt.majority_vote(["12", "cars"], ids) == 12  # tie id vs free text -> the id
    assert pitt.majority_vote(["soap", "gum", "3"], ids) == pitt.OTHER  # free text counts as one class
    assert pitt.majority_vote(["39", "0", "-1", "2"], ids) == pitt.OTHER  # off-list ids are "other"
    assert pitt.majority_vote([["2", "3"], ["3"], "2", ["2"]], ids) == 2  # each pick is a vote
    assert pitt.majority_vote([], ids) is None
    with pytest.raises(ValueError, match="annotator entry"):
        pitt.majority_vote([{"id": 1}], ids)


def test_convert_fixture_files_without_images(tmp_path):
    topics = json.loads((FIXTURES / "Topics.json").read_text())
    sentiments = json.loads((FIXTURES / "Sentiments.json").read_text())
    stats = pitt.ConvertStats()
    recs = pitt.convert(topics, sentiments, tmp_path / "imgs", stats=stats)
    got = {r.id.removeprefix("pitt/"): r.labels for r in recs}
    assert got == EXPECTED
    assert all(r.image is None and r.image_path == str((tmp_path / "imgs" / r.id[5:]).resolve()) for r in recs)
    assert recs[0].meta["source"] == "pitt" and recs[0].text == ""
    assert (stats.images, stats.written, stats.unlabelled) == (8, 7, 1)
    assert stats.mapped == {"theme": 4, "sentiment": 6, "emotion": 5}
    assert stats.masked == {"theme": 4, "sentiment": 2, "emotion": 3}


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def test_cli_writes_manifest_and_counts(tmp_path, capsys):
    out = tmp_path / "out" / "pitt.jsonl"
    rc = main(["data", "pitt", "--topics", str(FIXTURES / "Topics.json"), "--sentiments",
               str(FIXTURES / "Sentiments.json"), "--images-root", str(tmp_path / "imgs"), "--out", str(out)])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["written"] == 7 and summary["masked"]["theme"] == 4 and summary["missing_images"] == 0
    back = {r.id.removeprefix("pitt/"): r for r in read_manifest(out)}
    assert {k: r.labels for k, r in back.items()} == EXPECTED
    assert back["0/10001.jpg"].image_path == str((tmp_path / "imgs" / "0" / "10001.jpg").resolve())


def test_cli_check_images_reports_missing(tmp_path, capsys):
    root = tmp_path / "imgs"
    for key in ("10/170741.jpg", "0/10001.jpg"):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(_jpeg())
    out = tmp_path / "pitt.jsonl"
    rc = main(["data", "pitt", "--topics", str(FIXTURES / "Topics.json"), "--sentiments",
               str(FIXTURES / "Sentiments.json"), "--images-root", str(root), "--out", str(out), "--check-images"])
    assert rc == 0
    cap = capsys.readouterr()
    assert json.loads(cap.out.strip().splitlines()[-1])["missing_images"] == 6
    assert f"missing image: {(root / '3' / '10005.jpg').resolve()}" in cap.err
    assert sorted(r.id for r in read_manifest(out)) == ["pitt/0/10001.jpg", "pitt/10/170741.jpg"]


def test_bad_annotation_files(tmp_path):
    bad = tmp_path / "Topics.json"
    bad.write_text('{"a.jpg": ["1",')
    with pytest.raises(ManifestError, match="not valid JSON"):
        pitt.run(pitt_args(bad, tmp_path))
    bad.write_text('["1"]')
    with pytest.raises(ManifestError, match="keyed by image path"):
        pitt.run(pitt_args(bad, tmp_path))
    bad.write_text('{"x/1.jpg": [3.5]}')
    with pytest.raises(ValueError, match="'x/1.jpg'"):
        pitt.run(pitt_args(bad, tmp_path))
    assert main(["data", "pitt", "--topics", str(tmp_path / "none.json"), "--images-root", ".",
                 "--out", str(tmp_path / "m.jsonl")]) == 2


def pitt_args(topics: Path, tmp_path: Path):
    import argparse

    p = argparse.ArgumentParser()
    pitt.add_arguments(p)
    return p.parse_args(["--topics", str(topics), "--images-root", str(tmp_path), "--out", str(tmp_path / "m.jsonl")])
