"""Batch scoring on a real local Ray instance (2 CPUs, no dashboard), with the default bundle."""

from __future__ import annotations

import io
import json
import pickle

import numpy as np
import pytest
from PIL import Image

from adfusion_edge import Analyzer
from adfusion_edge.errors import ConfigError, ManifestError

ray = pytest.importorskip("ray", reason="the [ray] extra is not installed")
pads = pytest.importorskip("pyarrow.dataset")

TEXT = "Hot pizza 50% OFF today only! Order Now"


def _jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    arr = np.zeros((80, 120, 3), np.uint8) + rng.integers(0, 255, 3, dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _manifest(tmp_path, n_good: int) -> str:
    (tmp_path / "imgs").mkdir(exist_ok=True)
    lines = []
    for i in range(n_good):
        (tmp_path / "imgs" / f"{i}.jpg").write_bytes(_jpeg(i))
        lines.append({"image": f"imgs/{i}.jpg", "text": TEXT, "id": f"ad{i}", "labels": {"theme": "food"}})
    (tmp_path / "imgs" / "corrupt.jpg").write_bytes(b"\xff\xd8 truncated")
    lines += [{"image": "imgs/corrupt.jpg", "text": TEXT, "id": "corrupt"},
              {"image": "imgs/missing.jpg", "text": TEXT, "id": "missing"}]
    path = tmp_path / "ads.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return str(path)


def _rows(out) -> dict[str, dict]:
    return {r["id"]: r for r in pads.dataset(str(out), format="parquet").to_table().to_pylist()}


def test_score_records_errors_matches_run_batch_and_resumes(local_ray, tmp_path):
    from adfusion_edge.score import ScoreJob, score
    from adfusion_edge.score.job import check_output

    manifest = _manifest(tmp_path, 5)
    out = tmp_path / "results.parquet"
    s = score(ScoreJob(input=manifest, output=str(out), batch_size=4, ocr=False))
    assert (s.scored, s.errors, s.skipped) == (5, 2, 0)
    assert check_output(out)  # the parts Ray wrote pass the resume schema check
    rows = _rows(out)
    assert rows["corrupt"]["ok"] is False and rows["corrupt"]["error"] == "InvalidImageError"
    assert rows["missing"]["ok"] is False and rows["missing"]["error"] == "FileNotFoundError"
    direct = Analyzer(device="cpu", threads=1).run_batch([_jpeg(i) for i in range(5)], [TEXT] * 5)
    for i, rep in enumerate(direct):
        r = rows[f"ad{i}"]
        assert r["ok"] and r["theme"] == rep.theme.label and r["dominant_colour"] == rep.dominant_colour.label
        assert json.loads(r["report_json"])["cta"]["label"] == rep.cta.label and r["text_source"] == "given"

    # Resume: two new items; only they are scored, nothing already there is scored again.
    for i in (5, 6):
        (tmp_path / "imgs" / f"{i}.jpg").write_bytes(_jpeg(i))
    with open(manifest, "a") as f:
        for i in (5, 6):
            f.write(json.dumps({"image": f"imgs/{i}.jpg", "text": TEXT, "id": f"ad{i}"}) + "\n")
    s2 = score(ScoreJob(input=manifest, output=str(out), batch_size=4, ocr=False))
    assert (s2.scored, s2.errors, s2.skipped) == (2, 0, 7)
    assert len(pads.dataset(str(out), format="parquet").to_table()) == 9
    with pytest.raises(ConfigError, match="already holds"):
        score(ScoreJob(input=manifest, output=str(out), resume=False))


def test_score_parquet_input_with_bytes_and_the_ocr_stage(local_ray, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from adfusion_edge.score import ScoreJob, score
    from adfusion_edge.serve.engine import warmup_image

    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": ["t", "o"], "image": [_jpeg(1), warmup_image()], "text": [TEXT, None]}), src)
    s = score(ScoreJob(input=str(src), output=str(tmp_path / "out"), batch_size=2))
    assert (s.scored, s.errors) == (2, 0)
    rows = _rows(tmp_path / "out")
    assert rows["t"]["text_source"] == "given" and rows["o"]["text_source"] == "ocr"
    assert "SALE" in rows["o"]["text"].upper() and json.loads(rows["o"]["report_json"])["ocr_lines"]


def test_bad_inputs_are_refused_before_any_work(tmp_path):
    from adfusion_edge.score.inputs import load_items

    (tmp_path / "m.jsonl").write_text('{"image": "a.jpg", "lables": {}}\n')
    with pytest.raises(ManifestError, match="lables"):
        load_items(tmp_path / "m.jsonl")
    (tmp_path / "d.jsonl").write_text('{"image": "a.jpg", "id": 1}\n{"image": "b.jpg", "id": 1}\n')
    with pytest.raises(ConfigError, match="duplicate id"):
        load_items(tmp_path / "d.jsonl")
    with pytest.raises(FileNotFoundError):
        load_items(tmp_path / "nope")
    (tmp_path / "x.csv").write_text("a")
    with pytest.raises(ConfigError, match="folder"):
        load_items(tmp_path / "x.csv")


def test_folder_input_lists_images_recursively(tmp_path):
    from adfusion_edge.score.inputs import load_items

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.png").write_bytes(b"x")
    (tmp_path / "a.JPG").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    assert [r["id"] for r in load_items(tmp_path)] == ["a.JPG", "sub/b.png"]


def test_analyzer_pickles_and_the_copy_gives_the_same_report():
    a = Analyzer(device="cpu", threads=1, ocr=False, cache_size=4)
    b = pickle.loads(pickle.dumps(a))
    assert b is not a and b.bundle.path == a.bundle.path and b.cache_info["size"] == 0
    assert b.run(_jpeg(3), text=TEXT).to_dict()["theme"] == a.run(_jpeg(3), text=TEXT).to_dict()["theme"]
