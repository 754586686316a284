"""A resumed scoring run refuses output part files of another schema (or unreadable ones) before
any work: no Ray, no model, nothing in the output touched. Real Parquet part files, written with
pyarrow the way an older version of the package would have left them.

The resume onto parts Ray itself wrote (same schema) runs end to end in test_score_ray.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from adfusion_edge.errors import AdFusionError, ConfigError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

# The schema the writer uses: taken from the stage that writes it, never restated here.
from adfusion_edge.score.job import ScoreJob, check_output, done_ids, score  # noqa: E402
from adfusion_edge.score.stages import OUTPUT_SCHEMA  # noqa: E402

IDS = ["ad0", "ad1", "ad2"]


def _manifest(tmp_path: Path) -> str:
    # The images need not exist: every test here ends before any item is read.
    path = tmp_path / "ads.jsonl"
    path.write_text("".join(json.dumps({"image": f"imgs/{i}.jpg", "text": "Order Now", "id": i}) + "\n"
                            for i in IDS))
    return str(path)


def _row(id_: str) -> dict:
    return {"id": id_, "source": f"imgs/{id_}.jpg", "ok": True, "text": "Order Now", "text_source": "given",
            "text_readable": 1.0, "theme": "food", "theme_confidence": 0.9, "ctr_estimate": 0.01}


def _part(out: Path, name: str, schema: pa.Schema, ids: list[str], **overrides: object) -> Path:
    """One part file as Ray's writer names them; rows cast to ``schema`` (absent columns dropped)."""
    out.mkdir(exist_ok=True)
    rows = [{k: v for k, v in {**_row(i), **overrides}.items() if k in schema.names} for i in ids]
    path = out / f"{name}_000000_000000.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def _without(schema: pa.Schema, name: str) -> pa.Schema:
    return schema.remove(schema.get_field_index(name))


def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def _ray_not_started() -> bool:
    ray = sys.modules.get("ray")
    return ray is None or not ray.is_initialized()


def test_parts_without_a_new_column_stop_the_resume_before_any_work(tmp_path):
    out = tmp_path / "results.parquet"
    old = _part(out, "old", _without(OUTPUT_SCHEMA, "text_readable"), IDS[:2])
    before = _snapshot(out)
    with pytest.raises(ConfigError) as info:
        score(ScoreJob(input=_manifest(tmp_path), output=str(out), ocr=False))
    msg = str(info.value)
    assert f"output {out} holds part files with other columns" in msg
    assert f"{old}: missing columns: text_readable (double)" in msg and "1 of 1 part files differ" in msg
    assert "extra columns" not in msg and "another type" not in msg
    assert "Score into a new output folder" in msg and f"remove {out}" in msg and "nothing in" in msg
    assert isinstance(info.value, AdFusionError) and not isinstance(info.value, pa.ArrowException)
    assert _snapshot(out) == before and _ray_not_started()


def test_the_output_is_checked_before_the_input_is_read(tmp_path):
    out = tmp_path / "out"
    _part(out, "old", _without(OUTPUT_SCHEMA, "text_readable"), IDS)
    with pytest.raises(ConfigError, match="missing columns: text_readable"):
        score(ScoreJob(input=str(tmp_path / "no-such-input.jsonl"), output=str(out)))


def test_columns_of_another_type_and_extra_columns_are_named(tmp_path):
    out = tmp_path / "out"
    fields = [pa.field("ok", pa.string()) if f.name == "ok" else f for f in OUTPUT_SCHEMA]
    retyped = _part(out, "retyped", pa.schema([*fields, pa.field("legacy_score", pa.int64())]), IDS[:1],
                    ok="yes", legacy_score=3)
    with pytest.raises(ConfigError) as info:
        score(ScoreJob(input=_manifest(tmp_path), output=str(out)))
    msg = str(info.value)
    assert f"{retyped}: extra columns: legacy_score (int64); columns of another type: ok (string, this " \
           "version writes bool)" in msg
    assert "missing columns" not in msg and _ray_not_started()


def test_one_old_part_among_current_ones_is_found_and_every_difference_listed(tmp_path):
    out = tmp_path / "out"
    _part(out, "current", OUTPUT_SCHEMA, IDS[:1])
    old = _part(out, "old1", _without(OUTPUT_SCHEMA, "text_readable"), IDS[1:2])
    old2 = _part(out, "old2", _without(OUTPUT_SCHEMA, "text_readable"), IDS[2:])
    older = _part(out, "older", _without(_without(OUTPUT_SCHEMA, "text_readable"), "bundle"), [])
    with pytest.raises(ConfigError) as info:
        done_ids(out)
    msg = str(info.value)
    assert "3 of 4 part files differ" in msg and "current_" not in msg
    assert f"{old} and 1 more: missing columns: text_readable (double)" in msg and str(old2) not in msg
    assert f"{older}: missing columns: text_readable (double), bundle (string)" in msg


def test_an_unreadable_part_is_named_with_its_path(tmp_path):
    out = tmp_path / "out"
    _part(out, "good", OUTPUT_SCHEMA, IDS[:1])
    bad = out / "bad_000000_000000.parquet"
    bad.write_bytes(b"PAR1 truncated by a killed job")
    before = _snapshot(out)
    with pytest.raises(ConfigError) as info:
        score(ScoreJob(input=_manifest(tmp_path), output=str(out)))
    msg = str(info.value)
    assert f"part file {bad} is not a readable Parquet file" in msg and "Score into a new output folder" in msg
    assert _snapshot(out) == before and _ray_not_started()


def test_an_output_that_is_a_file_is_refused(tmp_path):
    out = tmp_path / "results.parquet"
    pq.write_table(pa.Table.from_pylist([_row("ad0")], schema=OUTPUT_SCHEMA), out)
    with pytest.raises(ConfigError, match="is a file"):
        score(ScoreJob(input=_manifest(tmp_path), output=str(out)))


def test_matching_parts_resume(tmp_path):
    out = tmp_path / "out"
    # Column order, nullability and metadata may differ from the writer's: readers match by name.
    reordered = pa.schema([pa.field(f.name, f.type, nullable=f.name != "id") for f in reversed(OUTPUT_SCHEMA)],
                          metadata={b"written_by": b"ray"})
    parts = [_part(out, "a", OUTPUT_SCHEMA, IDS[:2]), _part(out, "b", reordered, IDS[2:])]
    (out / "_SUCCESS").write_text("")  # not a part file: readers skip it, and so does the check
    assert check_output(out) == [str(p) for p in parts]
    assert done_ids(out) == set(IDS)
    s = score(ScoreJob(input=_manifest(tmp_path), output=str(out)))
    assert (s.scored, s.errors, s.skipped) == (0, 0, 3) and _ray_not_started()
    with pytest.raises(ConfigError, match="already holds 3 results"):
        score(ScoreJob(input=_manifest(tmp_path), output=str(out), resume=False))


def test_no_output_yet_is_nothing_to_check(tmp_path):
    assert check_output(tmp_path / "new") == [] and done_ids(tmp_path / "new") == set()
    (tmp_path / "empty").mkdir()
    assert check_output(tmp_path / "empty") == []
