import io
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from adfusion_edge import schema
from adfusion_edge.distill.data.dataset import (
    AdCollate,
    AdDataset,
    BlockShuffleSampler,
    default_num_workers,
    make_loader,
    precompute_ocr,
)
from adfusion_edge.distill.data.manifest import write_manifest
from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.distill.data.shards import shard_path, write_shard
from adfusion_edge.distill.data.shards import write_manifest as write_corpus_manifest
from adfusion_edge.distill.data.targets import encode_batch
from adfusion_edge.errors import ConfigError
from adfusion_edge.preprocess import PreprocessConfig, prepare_image
from adfusion_edge.tokenizer import IGNORE_INDEX, TAG_B, AdTokenizer

CFG = PreprocessConfig(image_size=32, max_tokens=24)


def _image(seed: int, fmt: str = "JPEG", size: tuple[int, int] = (48, 40)) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt)
    return buf.getvalue()


def _rec(i: int, image: bytes | None, **kw) -> AdRecord:
    text = kw.pop("text", f"Pizza {i}0% OFF Order Now")
    span = kw.pop("span", (text.index(f"{i}0%"), text.index("OFF") + 3) if "OFF" in text else None)
    labels = kw.pop("labels", {"theme": "food", "monetary": "percent_off", "keywords": ["pizza", "sale"]})
    return AdRecord(id=f"r{i}", image=image, text=text, labels=labels, monetary_span=span, **kw)


@pytest.fixture
def corpus(tmp_path) -> Path:
    """Two shards; row 3 of shard 0 is a truncated JPEG, row 2 of shard 1 is not an image."""
    good = _image(1)
    s0 = [_rec(1, _image(1)), _rec(2, _image(2, "PNG")), _rec(3, _image(3), labels={"theme": "travel"}),
          _rec(4, good[: len(good) // 2])]
    s1 = [_rec(5, _image(5), ctr_value=0.25), _rec(6, _image(6)), _rec(7, b"this is not an image at all")]
    shards = []
    for k, recs in enumerate((s0, s1)):
        write_shard(shard_path(tmp_path, "train", k), recs)
        shards.append({"file": f"train/shard-{k:05d}.parquet", "count": len(recs)})
    write_shard(shard_path(tmp_path, "val", 0), [_rec(9, _image(9), text="zanzibar only in val")])
    write_corpus_manifest(tmp_path, {"train": shards, "val": [{"file": "val/shard-00000.parquet", "count": 1}]}, {})
    return tmp_path


@pytest.fixture
def manifest(tmp_path) -> Path:
    """Manifest with good files plus a missing file, a text file named .jpg and a truncated PNG."""
    img = tmp_path / "img"
    img.mkdir()
    (img / "a.jpg").write_bytes(_image(11))
    (img / "b.png").write_bytes(_image(12, "PNG"))
    (img / "notes.jpg").write_text("plain text, not pixels")
    png = _image(13, "PNG")
    (img / "cut.png").write_bytes(png[: len(png) // 3])
    recs = [
        AdRecord(id="a", image=None, image_path=str(img / "a.jpg"), text="Save $5 today", labels={"sentiment": "positive"},
                 monetary_span=(5, 7)),
        AdRecord(id="gone", image=None, image_path=str(img / "missing.jpg"), text="x", labels={"theme": "home"}),
        AdRecord(id="notes", image=None, image_path=str(img / "notes.jpg"), text="x", labels={"theme": "home"}),
        AdRecord(id="cut", image=None, image_path=str(img / "cut.png"), text="x", labels={"theme": "home"}),
        AdRecord(id="b", image=None, image_path=str(img / "b.png"), text="Learn more", labels={"cta": "learn_more"}),
    ]
    write_manifest(tmp_path / "m.jsonl", recs)
    return tmp_path / "m.jsonl"


def test_parity_with_runtime_and_targets_match_schema(corpus, tokenizer_file):
    ds = AdDataset.from_corpus(corpus, "train", cfg=CFG)
    assert len(ds) == 7
    for i in (0, 1, 4):
        sample = ds[i]
        rec = ds.record(i)
        # the runtime path on the same bytes gives the very same pixels
        assert np.array_equal(sample.image, prepare_image(rec.image, CFG.image_size))
        assert sample.image.dtype == np.uint8 and sample.image.shape == (32, 32, 3)
    batch = AdCollate(tokenizer_file, CFG)([ds[0], ds[2], ds[4]])
    ref = encode_batch([ds.record(0), ds.record(2), ds.record(4)], None, AdTokenizer(tokenizer_file, 24), CFG)
    assert set(batch) == set(ref)
    for k, v in ref.items():
        assert torch.equal(batch[k], torch.from_numpy(v)), k
    assert batch["image"].dtype == torch.uint8 and batch["input_ids"].dtype == torch.int64
    theme, kw = schema.head("theme"), schema.head("keywords")
    assert batch["y/theme"].tolist() == [theme.index("food"), theme.index("travel"), theme.index("food")]
    assert batch["y/keywords"][0, kw.index("pizza")] == 1 and batch["y/keywords"][0].sum() == 2
    # masked heads where labels are missing
    assert batch["m/theme"].tolist() == [True, True, True]
    assert batch["m/monetary"].tolist() == [True, False, True] and batch["m/cta"].tolist() == [False] * 3
    assert batch["m/keywords"].tolist() == [True, False, True]
    assert (batch["y/monetary_span"][1] == IGNORE_INDEX).all()  # unknown monetary -> ignored tags
    assert (batch["y/monetary_span"][0] == TAG_B).sum() == 1
    assert batch["m/ctr_value"].tolist() == [False, False, True] and batch["y/ctr_value"][2] == 0.25


def test_bad_shard_rows_are_reported_and_skipped(corpus, tokenizer_file, caplog):
    ds = AdDataset.from_corpus(corpus, "train", cfg=CFG)
    with caplog.at_level(logging.WARNING):
        assert ds[3] is None and ds[6] is None
        assert ds[3] is None  # second time: counted, not logged again
    assert len(ds.skipped) == 2 and sum(ds.skipped.values()) == 3
    keys = sorted(ds.skipped)
    assert "shard-00000.parquet[row 3, id r4]" in keys[0] and "shard-00001.parquet[row 2, id r7]" in keys[1]
    assert sum("skipping bad image" in r.message for r in caplog.records) == 2
    assert "truncated" in caplog.text and "not a recognised image" in caplog.text
    loader = make_loader(ds, tokenizer_file, batch_size=3, shuffle=True, seed=1)
    ids = [int(n) for b in loader for n in b["input_ids"].shape[:1]]
    assert sum(ids) == 5  # 7 rows - 2 bad; the run went on


def test_manifest_bad_files_skipped_with_paths_and_all_bad_batch(manifest, tokenizer_file, caplog):
    ds = AdDataset.from_manifest(manifest, cfg=CFG)
    loader = make_loader(ds, tokenizer_file, batch_size=3, shuffle=False)
    with caplog.at_level(logging.WARNING):
        batches = list(loader)
    # batch 1 = a, gone, notes -> only "a"; batch 2 = cut, b -> only "b"
    assert [b["image"].shape[0] for b in batches] == [1, 1]
    img = manifest.parent / "img"
    assert set(ds.skipped) == {str(img / "missing.jpg"), str(img / "notes.jpg"), str(img / "cut.png")}
    for p in ds.skipped:
        assert p in caplog.text
    assert "image file not found" in caplog.text
    # a batch made only of bad samples: collate gives None and the loader skips it
    collate = AdCollate(tokenizer_file, CFG)
    assert collate([ds[1], ds[2], ds[3]]) is None and collate([]) is None
    bad_manifest = manifest.parent / "bad.jsonl"
    write_manifest(bad_manifest, [ds.record(i) for i in (1, 2, 3)])
    bad_only = AdDataset.from_manifest(bad_manifest, cfg=CFG)
    assert list(make_loader(bad_only, tokenizer_file, batch_size=2)) == []
    assert len(bad_only.skipped) == 3


def test_skips_reported_from_worker_processes(manifest, tokenizer_file):
    ds = AdDataset.from_manifest(manifest, cfg=CFG)
    loader = make_loader(ds, tokenizer_file, batch_size=2, num_workers=1, shuffle=False)
    assert sum(b["image"].shape[0] for b in loader) == 2
    assert len(ds.skipped) == 3 and all(v == 1 for v in ds.skipped.values())


def test_text_source_ocr_relocates_span_or_masks(tmp_path, tokenizer_file):
    recs = [
        _rec(1, _image(1), meta={"ocr_text": "ORDER NOW\nPizza 10% OFF"}),
        _rec(2, _image(2), meta={"ocr_text": "Pizza 2O% 0FF"}),  # mention misread: not found
        _rec(3, _image(3)),
    ]
    write_shard(shard_path(tmp_path, "test", 0), recs)
    write_corpus_manifest(tmp_path, {"test": [{"file": "test/shard-00000.parquet", "count": 3}]}, {})
    ds = AdDataset.from_corpus(tmp_path, "test", cfg=CFG, text_source="ocr")
    s0, s1 = ds[0], ds[1]
    assert s0.record.text == "ORDER NOW\nPizza 10% OFF" and s0.record.monetary_text == "10% OFF"
    assert s1.record.monetary_span is None and s1.record.labels["monetary"] is None
    batch = AdCollate(tokenizer_file, CFG)([s0, s1])
    assert batch["m/monetary"].tolist() == [True, False] and batch["m/theme"].tolist() == [True, True]
    with pytest.raises(ConfigError, match="precompute_ocr"):
        ds[2]
    with pytest.raises(ConfigError, match="text_source"):
        AdDataset.from_corpus(tmp_path, "test", text_source="tesseract")


def test_ocr_noise_is_seeded_per_sample_and_epoch(corpus, tokenizer_file):
    ds = AdDataset.from_corpus(corpus, "train", cfg=CFG, ocr_noise_p=1.0, ocr_noise_strength=1.0, seed=3)
    texts0 = [ds[i].record.text for i in (0, 1, 2, 4, 5)]
    assert texts0 == [ds[i].record.text for i in (0, 1, 2, 4, 5)]  # same epoch: same noise
    assert texts0 != [ds.record(i).text for i in (0, 1, 2, 4, 5)]
    ds.set_epoch(1)
    assert texts0 != [ds[i].record.text for i in (0, 1, 2, 4, 5)]
    for epoch in range(6):
        ds.set_epoch(epoch)
        for i in (0, 1, 2, 4, 5):
            r, orig = ds[i].record, ds.record(i)
            if r.monetary_span is not None:
                assert r.labels.get("monetary") == orig.labels.get("monetary") and r.monetary_text.strip()
            elif orig.monetary_span is not None:
                assert r.labels.get("monetary") is None  # lost mention -> masked, never all-"O" tags


def test_ocr_noise_lost_mention_masks_monetary(tmp_path, tokenizer_file):
    (tmp_path / "a.png").write_bytes(_image(4, "PNG"))
    rec = AdRecord(id="a", image=None, image_path=str(tmp_path / "a.png"), text="Only 5 left",
                   labels={"monetary": "price", "theme": "food"}, monetary_span=(5, 6))
    write_manifest(tmp_path / "m.jsonl", [rec])
    ds = AdDataset.from_manifest(tmp_path / "m.jsonl", cfg=CFG, ocr_noise_p=1.0, ocr_noise_strength=1.0)
    seen, collate = set(), AdCollate(tokenizer_file, CFG)
    for epoch in range(40):
        ds.set_epoch(epoch)
        r = ds[0].record
        m = collate([ds[0]])["m/monetary"].item()
        seen.add(m)
        assert m == (r.monetary_span is not None) and (not m or r.monetary_text == "5")
    assert seen == {True, False}  # both paths ran (a one-character mention is often misread)


def test_block_shuffle_sampler():
    blocks = [range(0, 4), range(4, 10), range(10, 13)]
    s = BlockShuffleSampler(blocks, shuffle=True, seed=5)
    a = list(s)
    assert sorted(a) == list(range(13)) and a == list(s)
    runs = [[i for i in a if i in b] for b in blocks]
    for run in runs:  # each block comes out contiguously (cache-friendly)
        start = a.index(run[0])
        assert a[start:start + len(run)] == run
    s.set_epoch(1)
    assert list(s) != a
    assert list(BlockShuffleSampler(blocks, shuffle=False)) == list(range(13))


def test_shard_random_access_caches_few_row_groups(corpus):
    ds = AdDataset.from_corpus(corpus, "train", cfg=CFG, cache_groups=1)
    assert [r.stop - r.start for r in ds.blocks()] == [4, 3]
    assert [ds.record(i).id for i in (6, 0, 5, 1)] == ["r7", "r1", "r6", "r2"]
    assert len(ds.source._cache) == 1  # never more decoded row groups than asked for
    assert ds.record(-1).id == "r7"
    with pytest.raises(IndexError):
        ds[7]


def test_default_workers_and_precompute_ocr(corpus):
    cores = len(os.sched_getaffinity(0))
    assert default_num_workers() == (0 if cores <= 2 else min(4, cores - 1))

    def mean_brightness(img: np.ndarray) -> str:  # a deterministic image -> text function
        return f"mean {int(img.mean())} size {img.shape[1]}x{img.shape[0]}"

    assert precompute_ocr(corpus, "val", mean_brightness) == 1
    assert precompute_ocr(corpus, "val", mean_brightness) == 0  # already done
    ds = AdDataset.from_corpus(corpus, "val", cfg=CFG, text_source="ocr")
    assert ds[0].record.text.endswith("size 48x40") and ds.record(0).text == "zanzibar only in val"
