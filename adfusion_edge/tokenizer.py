"""Text side of preprocessing: tokenize ad text and convert monetary spans to/from token tags.

Wraps a Hugging Face ``tokenizers`` JSON file (WordPiece, as DistilBERT/BERT use). The same file
ships in every bundle, so a model always meets the tokenizer it was trained with.

The project tokenizer is the bert-base-uncased WordPiece vocabulary (30,522 tokens, the one
all-MiniLM-L6-v2 reads), packaged as :data:`BERT_UNCASED`: brand names and slogans tokenize as
words, and the teacher's MiniLM, the student's static embeddings and the runtime's open-vocabulary
scorer share one id space. Bundles made with an older corpus-trained vocabulary carry their own
``tokenizer.json`` and keep working: a bundle's file is always the one used.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from adfusion_edge.errors import ConfigError, InvalidTextError

# Token tag ids (must match adfusion_edge.schema.SPAN_TAGS = ("O", "B", "I")).
TAG_O, TAG_B, TAG_I = 0, 1, 2
# Label for positions that must not count in the span loss (padding, [CLS], [SEP]).
IGNORE_INDEX = -100
# Text length cap, applied before tokenizing: the model reads at most max_tokens (<= 512) tokens,
# which real ad copy reaches within a few hundred characters, while tokenizing megabytes of text
# costs hundreds of MB for nothing. Longer texts are cut here; Analyzer reports the cut
# (AdReport.text_truncated).
MAX_TEXT_CHARS = 4096


def cap_text(text: str, max_chars: int = MAX_TEXT_CHARS) -> tuple[str, bool]:
    """(text cut to ``max_chars`` characters, whether it was cut)."""
    return (text, False) if len(text) <= max_chars else (text[:max_chars], True)

# The packaged bert-base-uncased WordPiece tokenizer (built from MiniLM's vocab.txt by
# distill.data.tokenizer_train.wordpiece_from_vocab).
BERT_UNCASED_NAME = "bert-base-uncased"
BERT_UNCASED = Path(__file__).parent / "assets" / "tokenizers" / "bert-base-uncased.json"


def resolve_tokenizer(name_or_path: str | os.PathLike) -> str:
    """A tokenizer.json path; the name ``bert-base-uncased`` means the packaged :data:`BERT_UNCASED`."""
    if os.fspath(name_or_path) == BERT_UNCASED_NAME:
        return str(BERT_UNCASED)
    return os.fspath(name_or_path)


@dataclass(frozen=True)
class TokenBatch:
    """Tokenized texts: model inputs plus character offsets for span extraction.

    Attributes:
        input_ids: int64 (N, L).
        attention_mask: int64 (N, L), 1 for real tokens.
        offsets: int64 (N, L, 2) character [start, end) of each token in its text; (0, 0) for
            special and padding tokens.
        special: bool (N, L), True for [CLS]/[SEP]/padding.
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray
    offsets: np.ndarray
    special: np.ndarray


def ensure_text(text: object) -> str:
    """Validate one ad text; bytes must be UTF-8. None means empty text.

    Raises:
        InvalidTextError: not str/bytes/None, or bytes that are not valid UTF-8.
    """
    if text is None:
        return ""
    if isinstance(text, (bytes, bytearray)):
        try:
            return bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidTextError(f"text bytes are not valid UTF-8 (at byte {e.start})") from None
    if not isinstance(text, str):
        raise InvalidTextError(f"text must be str, UTF-8 bytes or None, not {type(text).__name__}")
    if text.isascii():
        return text  # the common case: no surrogates possible, no copy
    # Lone surrogates (from broken decoders) would make the Rust tokenizer raise.
    return text.encode("utf-8", "replace").decode("utf-8")


class AdTokenizer:
    """Fixed-length tokenizer for ad text.

    Args:
        path: A ``tokenizer.json`` file (Hugging Face tokenizers format), or ``bert-base-uncased``.
        max_tokens: Sequence length: longer texts are truncated, shorter ones padded.
    """

    def __init__(self, path: str | os.PathLike, max_tokens: int):
        path = resolve_tokenizer(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"tokenizer file not found: {path}")
        if max_tokens < 4:
            raise ConfigError(f"max_tokens must be >= 4, got {max_tokens}")
        self.path = str(path)
        self.max_tokens = int(max_tokens)
        try:
            tok = Tokenizer.from_file(self.path)
        except Exception as e:  # the Rust library raises a bare Exception naming no file
            raise ConfigError(f"{path}: not a valid tokenizer.json: {e}") from None
        pad_id = tok.token_to_id("[PAD]")
        if pad_id is None:
            raise ConfigError(f"{path}: tokenizer has no [PAD] token")
        tok.enable_truncation(self.max_tokens)
        tok.enable_padding(length=self.max_tokens, pad_id=pad_id, pad_token="[PAD]")
        self._tok = tok
        self.pad_id = pad_id
        self.vocab_size = tok.get_vocab_size()

    def vocab(self) -> dict[str, int]:
        """Token -> id."""
        return self._tok.get_vocab()

    def encode(self, texts: Sequence[object]) -> TokenBatch:
        """Tokenize a batch of texts (str, UTF-8 bytes or None), each cut to MAX_TEXT_CHARS first."""
        clean = [cap_text(ensure_text(t))[0] for t in texts]
        encs = self._tok.encode_batch(clean) if clean else []
        n, L = len(encs), self.max_tokens
        ids = np.zeros((n, L), np.int64)
        mask = np.zeros((n, L), np.int64)
        offs = np.zeros((n, L, 2), np.int64)
        special = np.ones((n, L), bool)
        for i, e in enumerate(encs):
            ids[i] = e.ids
            mask[i] = e.attention_mask
            offs[i] = e.offsets
            special[i] = np.asarray(e.special_tokens_mask, bool)
        return TokenBatch(ids, mask, offs, special)


def span_to_tags(offsets: np.ndarray, special: np.ndarray, span: tuple[int, int] | None) -> np.ndarray:
    """Character span [start, end) -> BIO tag ids per token (IGNORE_INDEX on special tokens).

    A token belongs to the span when its characters overlap it.
    """
    tags = np.where(special, IGNORE_INDEX, TAG_O).astype(np.int64)
    if span is None:
        return tags
    start, end = span
    inside = (~special) & (offsets[:, 0] < end) & (offsets[:, 1] > start)
    idx = np.flatnonzero(inside)
    if idx.size:
        tags[idx] = TAG_I
        tags[idx[0]] = TAG_B
    return tags


def tags_to_span(
    text: str, offsets: np.ndarray, special: np.ndarray, tag_probs: np.ndarray, threshold: float = 0.5
) -> tuple[str, float] | None:
    """Decode per-token tag probabilities (L, 3) into the best contiguous span's text.

    Picks the most probable B token, extends over following tokens that are more likely inside
    the span than outside it (P(B) + P(I) passes ``threshold``: a currency sign or a digit group
    that the model tags B again still belongs to the one span an ad has), and cuts the text
    between the first and last token's character offsets.

    Returns:
        (span text, confidence = P(B) of the start token), or None when no token's P(B) or P(I)
        passes the threshold.
    """
    usable = ~special
    if not usable.any():
        return None
    p_b = np.where(usable, tag_probs[:, TAG_B], 0.0)
    p_i = np.where(usable, tag_probs[:, TAG_I], 0.0)
    start = int(np.argmax(p_b))
    if p_b[start] < threshold and p_b[start] + p_i[start] < threshold:
        return None
    end = start
    inside = p_b + p_i
    while end + 1 < len(p_i) and usable[end + 1] and inside[end + 1] >= threshold:
        end += 1
    s, e = int(offsets[start, 0]), int(offsets[end, 1])
    if e <= s:
        return None
    return text[s:e], float(p_b[start])
