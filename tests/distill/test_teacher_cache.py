"""Teacher output cache: same numbers as a live forward, keyed by ad id, refuses any mismatch."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from student_fixtures import tiny_student
from train_fixtures import make_corpus

from adfusion_edge.distill.data.dataset import AdCollate, AdDataset
from adfusion_edge.distill.data.tokenizer_train import train_wordpiece
from adfusion_edge.distill.kd.losses import TEACHER_KEYS
from adfusion_edge.distill.kd.teacher_cache import (
    IdCollate,
    TeacherCacheError,
    TeacherCollate,
    build_teacher_cache,
    cache_paths,
    ensure_teacher_cache,
    load_teacher_cache,
    teacher_hash,
)
from adfusion_edge.tokenizer import AdTokenizer


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"), {"train": 20, "val": 6})


@pytest.fixture(scope="module")
def teacher():
    return tiny_student(seed=3, fused_dim=40)


@pytest.fixture(scope="module")
def cache(corpus, teacher):
    return build_teacher_cache(teacher, corpus, "train", corpus / "tokenizer.json", batch_size=8, progress=False)


def _batch(corpus, model, n=20):
    ds = AdDataset.from_corpus(corpus, "train", cfg=model.preprocess)
    collate = IdCollate(AdCollate(AdTokenizer(corpus / "tokenizer.json", model.preprocess.max_tokens), model.preprocess))
    return collate([ds[i] for i in range(n)])


def test_cache_matches_live_teacher(corpus, teacher, cache):
    batch = _batch(corpus, teacher)
    with torch.no_grad():
        live = teacher(batch["image"], batch["input_ids"], batch["attention_mask"])
    order = list(reversed(batch["id"]))  # lookup follows the requested order, not the file's
    got = cache.lookup(order)
    assert set(got) == set(TEACHER_KEYS) | {"aux/attention_map"}
    assert len(cache) == 20 and cache.feature_dim() == 40
    for k, v in got.items():
        want = live[k].flip(0).numpy()
        assert v.dtype == np.float32 and v.shape == want.shape, k
        np.testing.assert_allclose(v, want, rtol=2e-3, atol=2e-3, err_msg=k)  # stored as float16


def test_files_layout_and_metadata(corpus, teacher, cache):
    tensor_file, meta_file = cache_paths(corpus, teacher_hash(teacher), "train")
    assert tensor_file.parent.parent == corpus / "teacher_outputs"
    meta = json.loads(meta_file.read_text())
    assert meta["count"] == 20 and meta["ids"][0] == "train-0000"
    assert meta["teacher"]["name"] == "student"


def test_ensure_reuses_a_valid_cache(corpus, teacher, cache):
    tensor_file, _ = cache_paths(corpus, teacher_hash(teacher), "train")
    before = tensor_file.stat().st_mtime_ns
    again = ensure_teacher_cache(teacher, corpus, "train", corpus / "tokenizer.json", progress=False)
    assert tensor_file.stat().st_mtime_ns == before
    assert again.meta["ids"] == cache.meta["ids"]


def test_teacher_hash_tracks_weights_and_identity(teacher):
    clone = tiny_student(seed=3, fused_dim=40)
    assert teacher_hash(clone) == teacher_hash(teacher)
    with torch.no_grad():
        clone.stem[0].weight[0, 0, 0, 0] += 1e-3
    assert teacher_hash(clone) != teacher_hash(teacher)


def test_refuses_other_teacher(corpus, cache):
    other = tiny_student(seed=4, fused_dim=40)
    with pytest.raises(TeacherCacheError, match="no teacher cache"):
        load_teacher_cache(corpus, other, "train", corpus / "tokenizer.json")
    # Forging the directory name does not help: the stored hash is checked too.
    forged = cache.meta["teacher_hash"][:16] + "0" * 48
    with pytest.raises(TeacherCacheError, match="teacher_hash"):
        load_teacher_cache(corpus, forged, "train", corpus / "tokenizer.json")


def test_refuses_other_tokenizer_text_source_and_corpus(tmp_path, corpus, teacher, cache):
    tok = train_wordpiece(["completely different words here"] * 3, tmp_path / "tok.json", vocab_size=60,
                          min_frequency=1)
    with pytest.raises(TeacherCacheError, match="tokenizer_hash"):
        load_teacher_cache(corpus, teacher, "train", tok)
    with pytest.raises(TeacherCacheError, match="text_source"):
        load_teacher_cache(corpus, teacher, "train", corpus / "tokenizer.json", text_source="ocr")
    manifest = corpus / "manifest.json"
    original = manifest.read_text()
    try:
        data = json.loads(original)
        data["info"]["regenerated"] = True
        manifest.write_text(json.dumps(data))
        with pytest.raises(TeacherCacheError, match="manifest_hash"):
            load_teacher_cache(corpus, teacher, "train", corpus / "tokenizer.json")
        with pytest.raises(TeacherCacheError):  # ensure refuses too, it does not silently rebuild
            ensure_teacher_cache(teacher, corpus, "train", corpus / "tokenizer.json", progress=False)
    finally:
        manifest.write_text(original)


def test_refuses_tampered_tensors(tmp_path, corpus, teacher):
    root = tmp_path / "cache"
    build_teacher_cache(teacher, corpus, "val", corpus / "tokenizer.json", root=root, progress=False)
    tensor_file, _ = cache_paths(corpus, teacher_hash(teacher), "val", root)
    data = bytearray(tensor_file.read_bytes())
    data[-2] ^= 0xFF
    tensor_file.write_bytes(bytes(data))
    with pytest.raises(TeacherCacheError, match="sha256"):
        load_teacher_cache(corpus, teacher, "val", corpus / "tokenizer.json", root=root)


def test_unknown_id_is_an_error(cache):
    with pytest.raises(TeacherCacheError, match="val-0001"):
        cache.lookup(["train-0001", "val-0001"])


def test_collate_adds_teacher_outputs_and_pickles(corpus, teacher, cache):
    ds = AdDataset.from_corpus(corpus, "train", cfg=teacher.preprocess)
    collate = TeacherCollate(AdCollate(corpus / "tokenizer.json", teacher.preprocess), cache)
    collate = pickle.loads(pickle.dumps(collate))  # what DataLoader workers receive
    samples = [ds[3], None, ds[5]]
    batch = collate(samples)
    assert batch["id"] == ["train-0003", "train-0005"]
    assert batch["t/aux/fused"].shape == (2, 40) and batch["t/aux/fused"].dtype == torch.float32
    np.testing.assert_array_equal(batch["t/theme"].numpy(), cache.lookup(["train-0003", "train-0005"])["theme"])


def test_limit_covers_first_ads_and_ensure_extends(tmp_path, corpus, teacher):
    root = tmp_path / "lim"
    small = build_teacher_cache(teacher, corpus, "train", corpus / "tokenizer.json", root=root, limit=5,
                                progress=False)
    assert small.meta["ids"] == [f"train-{i:04d}" for i in range(5)]
    same = ensure_teacher_cache(teacher, corpus, "train", corpus / "tokenizer.json", root=root, limit=4,
                                progress=False)
    assert len(same) == 5
    full = ensure_teacher_cache(teacher, corpus, "train", corpus / "tokenizer.json", root=root, progress=False)
    assert len(full) == 20
