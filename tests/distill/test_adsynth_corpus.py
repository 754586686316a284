"""AdSynth corpus writing through the real CLI: shards, manifest, parallel determinism, resume, preview."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from adfusion_edge.cli import main
from adfusion_edge.distill.data.adsynth.config import SynthConfig
from adfusion_edge.distill.data.adsynth.corpus import generate_corpus, plan
from adfusion_edge.distill.data.adsynth.generator import generate_ad
from adfusion_edge.distill.data.shards import iter_split, load_manifest, shard_path
from adfusion_edge.errors import ConfigError

SYNTH = ["data", "synth", "--n", "40", "--workers", "2", "--shard-size", "16", "--seed", "5", "--no-progress"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("adsynth") / "c40"
    assert main([*SYNTH, "--out", str(out)]) == 0
    return out


def test_cli_writes_shards_and_manifest(corpus, capsys):
    m = load_manifest(corpus)
    assert {k: v["count"] for k, v in m["splits"].items()} == {"train": 32, "val": 4, "test": 4, "shift": 4}
    assert len(m["splits"]["train"]["shards"]) == 2
    info = m["info"]
    assert info["generator"] == "adsynth" and info["n"] == 40 and info["config"]["seed"] == 5
    assert SynthConfig.from_dict(info["config"]).shard_size == 16
    ids = [r.id for s in ("train", "val", "test", "shift") for r in iter_split(corpus, s)]
    assert len(ids) == len(set(ids)) == 44


def test_parallel_shards_equal_serial_generation(corpus):
    cfg = SynthConfig.from_dict(load_manifest(corpus)["info"]["config"])
    recs = list(iter_split(corpus, "train"))
    for i in (0, 17, 31):  # across both shards (written by different worker processes)
        assert recs[i].to_row() == generate_ad(cfg, "train", i).to_row()
    shift = list(iter_split(corpus, "shift"))
    assert shift[2].to_row() == generate_ad(cfg, "shift", 2).to_row()


def test_resume_skips_existing_shards(tmp_path):
    cfg = SynthConfig(seed=1, shard_size=8)
    first = generate_corpus(cfg, 20, tmp_path, workers=1, progress=False)
    assert first["skipped_shards"] == 0 and first["generated"] == 22
    keep = shard_path(tmp_path, "train", 0)
    gone = shard_path(tmp_path, "train", 1)
    mtime = keep.stat().st_mtime_ns
    rows = [r.to_row() for r in iter_split(tmp_path, "train")]
    gone.unlink()
    second = generate_corpus(cfg, 20, tmp_path, workers=1, progress=False)
    assert second["skipped_shards"] == len(plan(cfg, 20)) - 1 and second["generated"] == 8
    assert keep.stat().st_mtime_ns == mtime  # untouched
    assert [r.to_row() for r in iter_split(tmp_path, "train")] == rows


def test_truncated_shard_is_regenerated(tmp_path):
    cfg = SynthConfig(seed=2, shard_size=8)
    generate_corpus(cfg, 10, tmp_path, workers=1, progress=False)
    bad = shard_path(tmp_path, "train", 0)
    bad.write_bytes(bad.read_bytes()[:100])
    again = generate_corpus(cfg, 10, tmp_path, workers=1, progress=False)
    assert again["generated"] == 8
    assert len(list(iter_split(tmp_path, "train"))) == 8


def test_resume_with_other_config_is_refused(tmp_path):
    generate_corpus(SynthConfig(seed=1, shard_size=8), 10, tmp_path, workers=1, progress=False)
    with pytest.raises(ConfigError, match="seed"):
        generate_corpus(SynthConfig(seed=2, shard_size=8), 10, tmp_path, workers=1, progress=False)
    with pytest.raises(ConfigError, match="n"):
        generate_corpus(SynthConfig(seed=1, shard_size=8), 12, tmp_path, workers=1, progress=False)


def test_cli_bad_values_exit_2_naming_the_field(tmp_path, capsys):
    assert main(["data", "synth", "--n", "10", "--out", str(tmp_path), "--size", "8", "--no-progress"]) == 2
    assert "SynthConfig.size" in capsys.readouterr().err
    assert main(["data", "synth", "--n", "10", "--out", str(tmp_path), "--split-fractions", "a,b",
                 "--no-progress"]) == 2
    assert "split_fractions" in capsys.readouterr().err
    assert main(["data", "synth", "--n", "10", "--out", str(tmp_path), "--workers", "0", "--no-progress"]) == 2
    assert "workers" in capsys.readouterr().err


def test_preview_writes_png(corpus, tmp_path, capsys):
    out = tmp_path / "sheet.png"
    assert main(["data", "preview", str(corpus), "--split", "train", "--n", "7", "--cols", "4",
                 "--thumb", "120", "--out", str(out)]) == 0
    img = Image.open(out)
    assert img.format == "PNG" and img.width == 4 * 128 + 8 and img.height > 2 * 120
    assert main(["data", "preview", str(corpus), "--split", "nope"]) == 2


@pytest.mark.slow
def test_ocr_cer_on_a_few_ads(corpus, tmp_path):
    out = tmp_path / "cer.json"
    assert main(["data", "ocr-cer", str(corpus), "--split", "test", "--n", "3", "--out", str(out),
                 "--no-progress"]) == 0
    report = json.loads(out.read_text())
    assert report["n"] == 3 and report["cer"] < 0.15


def test_cer_alignment_helpers(corpus):
    from adfusion_edge.distill.data.ocr_eval import levenshtein, line_aligned, reading_order_text

    assert levenshtein("kitten", "sitting") == 3 and levenshtein("", "abc") == 3
    rec = next(iter_split(corpus, "test"))
    perfect = [(tuple(ln["box"]), ln["text"]) for b in rec.text_boxes for ln in b["lines"]]
    lines = line_aligned(rec, perfect)
    assert sum(x["edits"] for x in lines) == 0 and sum(x["chars"] for x in lines) > 10
    assert sorted(reading_order_text(perfect).split()) == sorted(rec.text.split())
    noisy = perfect[1:] + [((0.0, 0.0, 1.0, 1.0), "xyz")]  # one line missed, one stray detection
    lines = line_aligned(rec, noisy)
    assert sum(x["edits"] for x in lines) == len(perfect[0][1]) + 3
