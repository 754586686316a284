"""Train a BERT-style WordPiece tokenizer on ad text (the teacher/student default).

Pretrained DistilBERT's vocabulary cannot be downloaded here, and a 30k vocabulary would dominate
the student's parameter budget; a corpus-trained 4-8k WordPiece vocabulary fits ad copy well.
The output is a standard ``tokenizer.json`` (uncased BERT normaliser, [CLS] text [SEP]), so
transformers and our runtime's AdTokenizer both read it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


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
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_path))
    return out_path
