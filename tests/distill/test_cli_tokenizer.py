import json

import pytest

from adfusion_edge.cli import main
from adfusion_edge.distill.data.cli_tokenizer import iter_texts
from adfusion_edge.distill.data.manifest import write_manifest
from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.distill.data.shards import shard_path, write_shard
from adfusion_edge.distill.data.shards import write_manifest as write_corpus_manifest
from adfusion_edge.errors import ConfigError
from adfusion_edge.tokenizer import AdTokenizer

TRAIN = ["Hot pizza 50% OFF today", "Fresh burger combo, order now", "New laptop launch: buy now",
         "Summer flights from $99, book now", "Glow skincare sale, shop now"]


def _corpus(root, train_texts, val_texts=("zanzibar zanzibar zanzibar",)):
    def recs(split, texts):
        return [AdRecord(id=f"{split}-{i}", image=b"\xff\xd8\xff not decoded here", text=t, labels={})
                for i, t in enumerate(texts)]

    half = len(train_texts) // 2
    write_shard(shard_path(root, "train", 0), recs("t0", train_texts[:half]))
    write_shard(shard_path(root, "train", 1), recs("t1", train_texts[half:]))
    write_shard(shard_path(root, "val", 0), recs("v", val_texts))
    write_corpus_manifest(root, {
        "train": [{"file": "train/shard-00000.parquet", "count": half},
                  {"file": "train/shard-00001.parquet", "count": len(train_texts) - half}],
        "val": [{"file": "val/shard-00000.parquet", "count": len(val_texts)}],
    }, {})
    return root


def test_trains_on_train_split_only(tmp_path, capsys):
    corpus = _corpus(tmp_path / "c", TRAIN * 20)
    out = tmp_path / "tok" / "tokenizer.json"
    rc = main(["data", "tokenizer", str(corpus), "--out", str(out), "--vocab-size", "150", "--min-frequency", "1"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["texts"] == 100 and summary["vocab_size"] <= 150
    vocab = json.loads(out.read_text())["model"]["vocab"]
    assert "pizza" in vocab and "zanzibar" not in vocab  # no val text leaks into the vocabulary
    tok = AdTokenizer(out, 16)
    batch = tok.encode(["hot pizza order now"])
    assert batch.attention_mask[0].sum() == 6 and (batch.input_ids[0, 1:5] != vocab["[UNK]"]).all()


def test_iter_texts_streams_both_sources(tmp_path):
    corpus = _corpus(tmp_path / "c", TRAIN)
    assert list(iter_texts(corpus, "train")) == TRAIN
    assert list(iter_texts(corpus, "val")) == ["zanzibar zanzibar zanzibar"]
    recs = [AdRecord(id=str(i), image=None, image_path=f"/x/{i}.jpg", text=t, labels={})
            for i, t in enumerate(["", *TRAIN])]
    write_manifest(tmp_path / "m.jsonl", recs)
    assert list(iter_texts(tmp_path / "m.jsonl")) == TRAIN  # empty texts are not training data
    with pytest.raises(ConfigError, match="splits: train, val"):
        list(iter_texts(corpus, "test"))


def test_errors_exit_2_with_message(tmp_path, capsys):
    out = tmp_path / "tok.json"
    assert main(["data", "tokenizer", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert "manifest.json" in capsys.readouterr().err
    empty = _corpus(tmp_path / "e", ["", ""])
    assert main(["data", "tokenizer", str(empty), "--out", str(out)]) == 2
    assert "no text to train" in capsys.readouterr().err and not out.exists()
    assert main(["data", "tokenizer", str(empty), "--out", str(out), "--vocab-size", "3"]) == 2
    assert "--vocab-size" in capsys.readouterr().err
