"""Bundle format: what is written, and every way a bundle is refused (BundleError naming why)."""

import json
import shutil

import pytest
from bundle_fixtures import fp32_bundle, tiny_artifacts  # noqa: F401 - fixtures

from adfusion_edge import schema
from adfusion_edge.bundle import BUNDLE_FILE, load_bundle, sha256_file
from adfusion_edge.errors import BundleError


@pytest.fixture
def bundle(fp32_bundle, tmp_path):  # noqa: F811
    dst = tmp_path / "bundle"
    shutil.copytree(fp32_bundle, dst)
    return dst


def _edit(bundle, **changes):
    meta = json.loads((bundle / BUNDLE_FILE).read_text())
    meta.update(changes)
    (bundle / BUNDLE_FILE).write_text(json.dumps(meta))


def test_contents(bundle):
    b = load_bundle(bundle)
    meta = b.meta
    assert meta["format_version"] == 1 and meta["schema"] == schema.to_dict()
    assert meta["schema_fingerprint"] == schema.fingerprint()
    assert meta["preprocess"] == b.preprocess.to_dict() and b.preprocess.image_size == 64
    assert b.tokenizer_file.name == "tokenizer.json" and b.model_file.name == "model.onnx"
    assert b.precision == "fp32" and b.format == "onnx"
    assert [o.name for o in b.outputs] == list(schema.output_names())
    assert [i.name for i in b.inputs] == ["image", "input_ids", "attention_mask"]
    for name, entry in meta["files"].items():
        assert entry["sha256"] == sha256_file(bundle / name) and entry["size"] == (bundle / name).stat().st_size
    prov = meta["provenance"]
    assert {"torch", "onnx", "onnxruntime", "adfusion-edge"} <= set(prov["tools"])
    assert prov["data"]["calibration"] and prov["metrics"]["export"]["parity_fp32"] == "ok"
    assert "command" in prov


def test_byte_flip_names_the_file(bundle):
    model = bundle / "model.onnx"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"model\.onnx: sha256 mismatch"):
        load_bundle(bundle)


def test_tampered_tokenizer(bundle):
    tok = bundle / "tokenizer.json"
    tok.write_text(tok.read_text().replace("[UNK]", "[UNX]", 1))
    with pytest.raises(BundleError, match=r"tokenizer\.json: sha256 mismatch"):
        load_bundle(bundle)


def test_truncated(bundle):
    model = bundle / "model.onnx"
    model.write_bytes(model.read_bytes()[:1000])
    with pytest.raises(BundleError, match=r"model\.onnx: truncated: 1000 bytes"):
        load_bundle(bundle)


def test_missing_file(bundle):
    (bundle / "tokenizer.json").unlink()
    with pytest.raises(BundleError, match=r"tokenizer\.json: missing from bundle"):
        load_bundle(bundle)


def test_wrong_format_version(bundle):
    _edit(bundle, format_version=99)
    with pytest.raises(BundleError, match="format_version 99 is not supported"):
        load_bundle(bundle)


def test_wrong_schema_fingerprint(bundle):
    _edit(bundle, schema_fingerprint="0" * 64)
    with pytest.raises(BundleError, match="another label schema"):
        load_bundle(bundle)


def test_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match="not found"):
        load_bundle(tmp_path / "nope")
    with pytest.raises(BundleError, match="bundle.json missing"):
        load_bundle(tmp_path)


def test_unreadable_and_malformed_json(bundle):
    (bundle / BUNDLE_FILE).write_text("{not json")
    with pytest.raises(BundleError, match="unreadable"):
        load_bundle(bundle)
    (bundle / BUNDLE_FILE).write_text(json.dumps({"format_version": 1}))
    with pytest.raises(BundleError, match="missing keys"):
        load_bundle(bundle)


def test_file_names_cannot_escape_the_bundle(bundle):
    meta = json.loads((bundle / BUNDLE_FILE).read_text())
    meta["files"]["../outside"] = {"sha256": "0" * 64, "size": 1}
    (bundle / BUNDLE_FILE).write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="invalid file name"):
        load_bundle(bundle)


def test_model_must_be_a_listed_file(bundle):
    meta = json.loads((bundle / BUNDLE_FILE).read_text())
    del meta["files"]["model.onnx"]
    (bundle / BUNDLE_FILE).write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="not listed"):
        load_bundle(bundle)


def test_writer_refuses_to_overwrite_a_non_bundle(tiny_artifacts, tokenizer_file, tmp_path):  # noqa: F811
    from adfusion_edge.export.exporter import export_bundle

    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    with pytest.raises(BundleError, match="refusing to overwrite"):
        export_bundle(tiny_artifacts["model"], "onnx", tmp_path / "precious", tokenizer_file)
    assert (tmp_path / "precious" / "notes.txt").read_text() == "keep me"
