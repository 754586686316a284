"""Packed weights: int8 per channel on disk, float32 in the session. The format's own checks, an export
with --pack-weights that answers as the FP32 bundle does in a smaller file, and a damaged weights file
refused at load with a BundleError naming it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from bundle_fixtures import fp32_bundle, synth_records, tiny_artifacts  # noqa: F401 - fixtures

from adfusion_edge import Analyzer, packed_weights
from adfusion_edge.bundle import BUNDLE_FILE, load_bundle
from adfusion_edge.errors import BundleError


def test_round_trip_error_is_at_most_half_a_step_per_channel():
    rng = np.random.default_rng(0)
    w = {"conv": rng.normal(size=(8, 4, 3, 3)).astype(np.float32) * np.arange(1, 9)[:, None, None, None],
         "zero_row": np.vstack([np.zeros((1, 16)), rng.normal(size=(3, 16))]).astype(np.float32)}
    content = packed_weights.pack(w)
    back = packed_weights.unpack(content)
    for name, a in w.items():
        step = np.abs(a.reshape(a.shape[0], -1)).max(1) / 127
        err = np.abs(back[name] - a).reshape(a.shape[0], -1).max(1)
        assert (err <= step / 2 + 1e-7).all() and back[name].dtype == np.float32
    assert (back["zero_row"][0] == 0).all()


def test_fp16_scheme_round_trips_within_half_precision():
    a = np.random.default_rng(2).normal(size=(6, 10)).astype(np.float32)
    back = packed_weights.unpack(packed_weights.pack({"w": a}, packed_weights.FP16))["w"]
    assert back.dtype == np.float32 and np.allclose(back, a, rtol=1e-3, atol=1e-4)
    bad = packed_weights.pack({"w": a}, packed_weights.FP16)
    bad["h0"] = bad["h0"].astype(np.float32)
    with pytest.raises(BundleError, match="float16"):
        packed_weights.unpack(bad)
    with pytest.raises(ValueError, match="scheme"):
        packed_weights.pack({"w": a}, "int4")


@pytest.mark.parametrize("damage, message", [
    (lambda c: c.update(scheme=np.array("int4")), "scheme"),
    (lambda c: c.update(s0=np.ones(3, np.float32)), "do not fit"),
    (lambda c: c.update(q0=c["q0"].astype(np.int16)), "do not fit"),
    (lambda c: c.update(s0=-c["s0"]), "finite and positive"),
    (lambda c: c.pop("q1"), "no q1"),
    (lambda c: c.update(names=np.array(["a", "a"])), "distinct"),
])
def test_damaged_content_is_a_bundle_error(damage, message):
    rng = np.random.default_rng(1)
    content = packed_weights.pack({"a": rng.normal(size=(4, 8)).astype(np.float32),
                                   "b": rng.normal(size=(2, 8)).astype(np.float32)})
    damage(content)
    with pytest.raises(BundleError, match=message):
        packed_weights.unpack(content, "weights.npz")


@pytest.fixture(scope="module")
def packed(tiny_artifacts, tmp_path_factory):  # noqa: F811
    from adfusion_edge.export.exporter import export_bundle

    out = tmp_path_factory.mktemp("packed") / "bundle"
    result = export_bundle(tiny_artifacts["model"], "onnx", out, tiny_artifacts["tokenizer"],
                           calib=tiny_artifacts["corpus"], measure=False, pack_weights=True)
    return result


def test_export_packs_the_weights_and_gates_them(packed, fp32_bundle):  # noqa: F811
    b = load_bundle(packed.bundle)
    stats = packed.metrics["packed_weights"]
    assert "weights.npz" in b.meta["files"] and b.precision == "fp32"
    assert stats["tensors"] > 0 and stats["parity"]["ok"] and stats["max_relative_error"] < 0.01
    files, fp32_files = b.meta["files"], load_bundle(fp32_bundle).meta["files"]
    # float16 at most (half the float bytes), less where the search put tensors in int8
    assert stats["weights_file_bytes"] <= stats["fp16_weights_file_bytes"] < 0.55 * stats["float_bytes"]
    assert files["model.onnx"]["size"] + files["weights.npz"]["size"] < fp32_files["model.onnx"]["size"] - 0.6 * stats["float_bytes"]


def test_packed_bundle_answers_as_the_fp32_bundle(packed, fp32_bundle):  # noqa: F811
    ads = [r.image for r in synth_records(12, seed=7)]
    texts = [r.text for r in synth_records(12, seed=7)]
    a = Analyzer(fp32_bundle, device="cpu", threads=1, ocr=False)
    b = Analyzer(packed.bundle, device="cpu", threads=1, ocr=False)
    same = [x.theme.label == y.theme.label and x.sentiment.label == y.sentiment.label
            for x, y in zip(a.run_batch(ads, texts), b.run_batch(ads, texts), strict=True)]
    assert sum(same) >= 11


def test_damaged_or_missing_weights_are_refused_at_load(packed, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(packed.bundle, bad)
    data = bytearray((bad / "weights.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / "weights.npz").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="weights.npz"):
        Analyzer(bad, device="cpu", ocr=False)
    (bad / "weights.npz").unlink()
    with pytest.raises(BundleError, match="weights.npz"):
        Analyzer(bad, device="cpu", ocr=False)
    # Re-hashed after damage (someone who can write bundle.json): the content check still refuses it.
    shutil.copytree(packed.bundle, tmp_path / "rehashed")
    rehashed = tmp_path / "rehashed"
    content = dict(np.load(rehashed / "weights.npz"))
    content["scheme"] = np.array("int4")
    np.savez(rehashed / "weights.npz", **content)
    meta = json.loads((rehashed / BUNDLE_FILE).read_text())
    from adfusion_edge.fileops import sha256_file

    meta["files"]["weights.npz"] = {"sha256": sha256_file(rehashed / "weights.npz"),
                                    "size": (rehashed / "weights.npz").stat().st_size}
    (rehashed / BUNDLE_FILE).write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="scheme"):
        Analyzer(rehashed, device="cpu", ocr=False)


def test_the_weights_file_depends_on_the_weights_only(tmp_path):
    import time

    from adfusion_edge.export.weight_packing import write_npz

    content = packed_weights.pack({"w": np.random.default_rng(3).normal(size=(8, 16)).astype(np.float32)})
    a = write_npz(tmp_path / "a.npz", content)
    time.sleep(2.1)  # zip timestamps have a 2 s resolution
    b = write_npz(tmp_path / "b.npz", content)
    assert a.read_bytes() == b.read_bytes()
    assert packed_weights.unpack(dict(np.load(a))).keys() == {"w"}
    assert np.array_equal(packed_weights.load(a)["w"], packed_weights.unpack(content)["w"])


def test_mixed_storage_keeps_each_tensor_in_its_kind():
    rng = np.random.default_rng(4)
    table = rng.integers(-120, 121, size=(300, 16)).astype(np.int8)
    tuned = table.copy()
    tuned[:20] += rng.integers(-3, 4, size=(20, 16)).astype(np.int8)  # training touched 20 rows
    other = rng.integers(-127, 128, size=(300, 16)).astype(np.int8)  # unrelated: no delta
    lut = rng.integers(0, 11, size=4096).astype(np.int64)
    floats = {"conv": rng.normal(size=(8, 4, 3, 3)).astype(np.float32), "fc": rng.normal(size=(6, 10)).astype(np.float32)}
    content = packed_weights.pack_mixed(floats, ["conv"], {"table": table, "tuned": tuned, "other": other, "lut": lut})
    kinds = dict(zip(content["names"].tolist(), content["kinds"].tolist(), strict=True))
    assert kinds == {"conv": "int8", "fc": "fp16", "table": "exact", "tuned": "delta", "other": "exact", "lut": "exact"}
    back = packed_weights.unpack(content)
    for name, a in {"table": table, "tuned": tuned, "other": other, "lut": lut}.items():
        assert back[name].dtype == a.dtype and np.array_equal(back[name], a)
    assert back["conv"].dtype == np.float32 and np.allclose(back["conv"], floats["conv"], atol=0.05)
    assert np.allclose(back["fc"], floats["fc"], rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="not packed floats"):
        packed_weights.pack_mixed(floats, ["missing"])
    with pytest.raises(ValueError, match="non-float"):
        packed_weights.pack_mixed({}, (), {"f": floats["fc"]})


def _mixed_content():
    rng = np.random.default_rng(5)
    table = rng.integers(-100, 100, size=(64, 8)).astype(np.int8)
    tuned = table.copy()
    tuned[0] += 1
    return packed_weights.pack_mixed({"w": rng.normal(size=(4, 8)).astype(np.float32)}, ["w"],
                                     {"table": table, "tuned": tuned})


@pytest.mark.parametrize("damage, message", [
    (lambda c: c.update(kinds=np.array(["int8", "exact", "int4"])), "storage kind"),
    (lambda c: c.pop("bases"), "kinds"),
    (lambda c: c.update(bases=np.array([-1, -1, 0])), "earlier exact"),
    (lambda c: c.update(d2=np.full_like(c["d2"], 127)), "int8 range"),
    (lambda c: c.update(d2=c["d2"][:10]), "differences"),
    (lambda c: c.update(x1=c["x1"].astype(np.float32)), "integer"),
])
def test_damaged_mixed_content_is_a_bundle_error(damage, message):
    content = _mixed_content()
    assert content["kinds"].tolist() == ["int8", "exact", "delta"]
    damage(content)
    with pytest.raises(BundleError, match=message):
        packed_weights.unpack(content, "weights.npz")


def test_the_precision_search_chooses_int8_tensors_that_pass_unseen_ads(packed):
    stats = packed.metrics["packed_weights"]
    content = dict(np.load(packed.bundle / "weights.npz"))
    kinds = dict(zip(content["names"].tolist(), content["kinds"].tolist(), strict=True))
    assert stats["scheme"] == packed_weights.MIXED and stats["search_trials"] >= 1
    assert sorted(n for n, k in kinds.items() if k == "int8") == sorted(stats["int8"])
    assert stats["weights_file_bytes"] <= stats["fp16_weights_file_bytes"]
