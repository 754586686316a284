import json
from pathlib import Path

import pytest

from adfusion_edge import schema
from adfusion_edge.distill.data.manifest import read_manifest, write_manifest
from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.errors import ManifestError, UnknownLabelError


def _write_lines(path: Path, lines: list) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


def test_reads_all_fields_and_resolves_relative_paths(tmp_path):
    (tmp_path / "imgs").mkdir()
    m = _write_lines(tmp_path / "m.jsonl", [
        {"image": "imgs/a.jpg", "text": "Pizza 50% OFF", "id": "a", "labels": {"theme": "food", "keywords": ["pizza", "sale"]},
         "monetary_text": "50% OFF", "ctr_value": 0.04, "meta": {"ocr_text": "Pizza 5O% OFF"}},
        "",  # blank lines are allowed (trailing newlines, hand-edited files)
        {"image": "/abs/b.png", "labels": {"sentiment": None}, "monetary_span": [0, 1], "text": "$9"},
    ])
    a, b = list(read_manifest(m))
    assert a.id == "a" and a.image is None and a.image_path == str(tmp_path / "imgs" / "a.jpg")
    assert a.monetary_span == (6, 13) and a.monetary_text == "50% OFF"
    assert a.labels == {"theme": "food", "keywords": ["pizza", "sale"]} and a.ctr_value == 0.04
    assert a.meta == {"ocr_text": "Pizza 5O% OFF"}
    assert b.id == "m:3" and b.image_path == "/abs/b.png" and b.text == "$9" and b.monetary_span == (0, 1)


def test_round_trip_relative_and_absolute(tmp_path, jpeg_bytes):
    inside = tmp_path / "data" / "img" / "x.jpg"
    outside = tmp_path / "elsewhere" / "y.jpg"
    recs = [
        AdRecord(id="x", image=None, image_path=str(inside), text="Save $5 now", labels={"theme": "food", "cta": "buy_now"},
                 monetary_span=(5, 7), ctr_value=0.5, meta={"k": 1}),
        AdRecord(id="y", image=None, image_path=str(outside), text="", labels={}),
    ]
    out = tmp_path / "data" / "m.jsonl"
    assert write_manifest(out, recs) == 2
    lines = [json.loads(s) for s in out.read_text().splitlines()]
    assert lines[0]["image"] == "img/x.jpg"  # under the manifest's folder: stored relative
    assert lines[1]["image"] == str(outside.resolve())
    back = list(read_manifest(out))
    for r, b in zip(recs, back, strict=True):
        assert (b.id, b.text, b.labels, b.monetary_span, b.ctr_value, b.meta) == (
            r.id, r.text, r.labels, r.monetary_span, r.ctr_value, r.meta)
        assert Path(b.image_path).resolve() == Path(r.image_path).resolve()


def test_write_embedded_bytes_to_images_dir(tmp_path, jpeg_bytes):
    rec = AdRecord(id="train/0001", image=jpeg_bytes, text="t", labels={"theme": "travel"})
    with pytest.raises(ValueError, match="image_path"):
        write_manifest(tmp_path / "m.jsonl", [rec])
    write_manifest(tmp_path / "m.jsonl", [rec], images_dir=tmp_path / "images")
    (back,) = read_manifest(tmp_path / "m.jsonl")
    assert Path(back.image_path).read_bytes() == jpeg_bytes and back.image_path.endswith(".jpg")


@pytest.mark.parametrize("bad, reason", [
    ('{"image": "a.jpg", "text": ', "invalid JSON"),
    ('["a.jpg"]', "expected a JSON object"),
    ('{"text": "no image"}', "missing 'image'"),
    ('{"image": 5}', "'image' must be a path string"),
    ('{"image": "a.jpg", "text": 12}', "'text' must be a string"),
    ('{"image": "a.jpg", "labels": ["food"]}', "'labels' must be an object"),
    ('{"image": "a.jpg", "labels": {"keywords": "pizza"}}', "multi-label"),
    ('{"image": "a.jpg", "labels": {"theme": ["food"]}}', "expected one label string"),
    ('{"image": "a.jpg", "labels": {"colour": "red"}}', "unknown head 'colour'"),
    ('{"image": "a.jpg", "lables": {"theme": "food"}}', "unknown key(s) 'lables'"),
    ('{"image": "a.jpg", "text": "abc", "monetary_span": [1, 9]}', "outside the text"),
    ('{"image": "a.jpg", "text": "abc", "monetary_span": [true, 2]}', "integers"),
    ('{"image": "a.jpg", "text": "abc", "monetary_text": "50%"}', "does not occur"),
    ('{"image": "a.jpg", "text": "50% 60%", "monetary_text": "60%", "monetary_span": [0, 3]}', "not monetary_text"),
    ('{"image": "a.jpg", "ctr_value": 1.5}', "ctr_value"),
    ('{"image": "a.jpg", "ctr_value": true}', "ctr_value"),
    ('{"image": "a.jpg", "id": [1]}', "'id' must be"),
    ('{"image": "a.jpg", "meta": "x"}', "'meta' must be an object"),
])
def test_malformed_line_names_file_and_line(tmp_path, bad, reason):
    m = _write_lines(tmp_path / "m.jsonl", [{"image": "ok.jpg"}, "", bad, {"image": "later.jpg"}])
    it = read_manifest(m)
    assert next(it).image_path.endswith("ok.jpg")  # streaming: good lines before the bad one still come out
    with pytest.raises(ManifestError) as ei:
        next(it)
    assert ei.value.line == 3 and ei.value.path == str(m)
    assert str(ei.value).startswith(f"{m}:3: ") and reason in str(ei.value)


def test_unknown_label_names_head_allowed_labels_and_line(tmp_path):
    m = _write_lines(tmp_path / "m.jsonl", [{"image": "a.jpg", "labels": {"theme": "food"}},
                                            {"image": "b.jpg", "labels": {"theme": "space"}}])
    with pytest.raises(UnknownLabelError) as ei:
        list(read_manifest(m))
    msg = str(ei.value)
    assert ei.value.head == "theme" and ei.value.label == "space"
    assert ei.value.allowed == schema.head("theme").labels
    assert ", ".join(schema.head("theme").labels) in msg and f"{m}:2" in msg


def test_unknown_multi_label_and_duplicate_id_and_bad_utf8(tmp_path):
    m = _write_lines(tmp_path / "m.jsonl", [{"image": "a.jpg", "labels": {"objects": ["car", "dragon"]}}])
    with pytest.raises(UnknownLabelError, match=r"'dragon' for head 'objects'.*m.jsonl:1"):
        list(read_manifest(m))
    m2 = _write_lines(tmp_path / "d.jsonl", [{"image": "a.jpg", "id": 7}, {"image": "b.jpg", "id": "7"}])
    with pytest.raises(ManifestError, match=r"d.jsonl:2: duplicate id '7' \(first on line 1\)"):
        list(read_manifest(m2))
    m3 = tmp_path / "u.jsonl"
    m3.write_bytes(b'{"image": "a.jpg"}\n{"image": "\xff.jpg"}\n')
    with pytest.raises(ManifestError, match="u.jsonl:2: not valid UTF-8"):
        list(read_manifest(m3))


def test_missing_manifest_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest not found"):
        list(read_manifest(tmp_path / "nope.jsonl"))
