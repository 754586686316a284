"""Static token embeddings: a torch-free numpy lookup that embeds any text (labels, ad copy).

A :class:`StaticEmbeddings` file holds one vector per bert-base-uncased WordPiece token,
distilled from all-MiniLM-L6-v2 (``adfusion_edge.distill.models.static_distill``): each token's
MiniLM sentence embedding, PCA-reduced and stored as int8 with one float scale per row. A text's
embedding is the mean of its tokens' vectors (special tokens left out), L2-normalised, so cosine
similarity is a dot product. It is what the runtime's open-vocabulary scorer embeds user labels
with, and what the student's text tower can start from.

The vocabulary is English (bert-base-uncased, lower-cased, accents stripped): German or
Vietnamese words break into fragments whose vectors carry little meaning.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from adfusion_edge.errors import ConfigError
from adfusion_edge.tokenizer import BERT_UNCASED, ensure_text

DEFAULT_STATIC = Path(__file__).parent / "assets" / "static_text" / "minilm-static-128.npz"
MAX_TOKENS = 128  # longer texts are cut: a label or an ad's printed copy fits


def quantize_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float (V, D) -> int8 (V, D) and float32 (V,) scales with ``row = q * scale``."""
    scale = np.abs(matrix).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(matrix / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def load_table(path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """The static-embedding file as stored: int8 rows ``q`` (V, D), float32 ``scale`` (V,) and its meta.

    Raises:
        FileNotFoundError: no such file.
    """
    path = Path(path) if path is not None else DEFAULT_STATIC
    if not path.is_file():
        raise FileNotFoundError(f"static embedding file not found: {path}")
    with np.load(path, allow_pickle=False) as z:
        return np.ascontiguousarray(z["q"]), np.ascontiguousarray(z["scale"]), json.loads(str(z["meta"]))


class StaticEmbeddings:
    """Load a static-embedding file and embed texts with it.

    Args:
        path: ``.npz`` with ``q`` (int8, V x D), ``scale`` (float32, V) and ``meta`` (JSON string);
            default: the file packaged with adfusion-edge.
        tokenizer: tokenizer.json whose ids index the rows (default: the packaged bert-base-uncased).

    Raises:
        FileNotFoundError: no such file. ConfigError: the file and the tokenizer do not match.
    """

    def __init__(self, path: str | os.PathLike | None = None, tokenizer: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else DEFAULT_STATIC
        q, scale, self.meta = load_table(self.path)
        self.vectors = (q.astype(np.float32) * scale[:, None]).astype(np.float32)
        self.dim = int(self.vectors.shape[1])
        tok = Tokenizer.from_file(os.fspath(tokenizer or BERT_UNCASED))
        if tok.get_vocab_size() != self.vectors.shape[0]:
            raise ConfigError(f"{self.path}: {self.vectors.shape[0]} rows but the tokenizer has "
                              f"{tok.get_vocab_size()} tokens")
        tok.no_padding()
        tok.enable_truncation(MAX_TOKENS)
        self._tok = tok

    def token_ids(self, texts: Sequence[object]) -> list[list[int]]:
        """WordPiece ids of each text without the special tokens."""
        encs = self._tok.encode_batch([ensure_text(t) for t in texts])
        return [[i for i, s in zip(e.ids, e.special_tokens_mask, strict=True) if not s] for e in encs]

    def encode(self, texts: Sequence[object]) -> np.ndarray:
        """(N, D) float32 L2-normalised mean token vectors; a text without tokens gives a zero row."""
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, ids in enumerate(self.token_ids(texts)):
            if ids:
                v = self.vectors[ids].mean(axis=0)
                n = float(np.linalg.norm(v))
                out[i] = v / n if n > 0 else v
        return out


__all__ = ["DEFAULT_STATIC", "StaticEmbeddings", "load_table", "quantize_rows"]
