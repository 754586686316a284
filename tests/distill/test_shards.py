import pytest

from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.distill.data.shards import (
    iter_split,
    load_manifest,
    shard_path,
    write_manifest,
    write_shard,
)
from adfusion_edge.errors import ConfigError, UnknownLabelError


def _rec(i: int, jpeg: bytes) -> AdRecord:
    text = f"Pizza {i}0% OFF Order Now"
    s = text.index("%") - len(str(i)) - 1
    return AdRecord(
        id=f"t-{i}", image=jpeg, text=text,
        labels={"theme": "food", "objects": ["pizza"], "cta": "order_now"},
        monetary_span=(s, text.index("OFF") + 3), ctr_value=0.03,
        text_boxes=[{"text": text, "box": [0, 0, 10, 10], "role": "headline"}],
        object_boxes=[{"label": "pizza", "box": [1, 2, 3, 4]}], meta={"layout": "banner"},
    )


def test_round_trip(tmp_path, jpeg_bytes):
    recs = [_rec(i, jpeg_bytes) for i in range(1, 6)]
    p = shard_path(tmp_path, "train", 0)
    assert write_shard(p, recs) == 5
    write_manifest(tmp_path, {"train": [{"file": "train/shard-00000.parquet", "count": 5}]}, {"gen": "test"})
    assert load_manifest(tmp_path)["splits"]["train"]["count"] == 5
    back = list(iter_split(tmp_path, "train"))
    assert [r.to_row() for r in back] == [r.to_row() for r in recs]
    assert back[0].monetary_text == "10% OFF"


def test_unknown_split_names_choices(tmp_path, jpeg_bytes):
    write_shard(shard_path(tmp_path, "train", 0), [_rec(1, jpeg_bytes)])
    write_manifest(tmp_path, {"train": [{"file": "train/shard-00000.parquet", "count": 1}]}, {})
    with pytest.raises(ConfigError, match="splits: train"):
        list(iter_split(tmp_path, "val"))


def test_bad_record_labels_and_span(jpeg_bytes):
    with pytest.raises(UnknownLabelError, match="theme"):
        AdRecord(id="x", image=jpeg_bytes, text="t", labels={"theme": "space"})
    with pytest.raises(UnknownLabelError, match="outside text"):
        AdRecord(id="x", image=jpeg_bytes, text="abc", labels={}, monetary_span=(1, 9))


def test_missing_manifest(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest"):
        load_manifest(tmp_path)
