"""Start a token-embedding table from the packaged MiniLM static embeddings (student ``text_encoder: static``).

The static file (adfusion_edge.static_text) holds, for every bert-base-uncased token, MiniLM's
output for that token PCA-reduced to 128 dimensions, components in order of explained variance. A
``dim``-wide table takes the first ``dim`` components, i.e. the best ``dim``-dimensional linear
summary of the same vectors; a wider table keeps all components and fills the rest with small
random values. The table is rescaled to unit standard deviation, the spread of ``nn.Embedding``'s
own initialisation, so the learned position embeddings added to it weigh as they would from scratch.
"""

from __future__ import annotations

import numpy as np
import torch

from adfusion_edge.errors import ConfigError
from adfusion_edge.static_text import StaticEmbeddings


def static_token_init(vocab_size: int, dim: int, seed: int = 0) -> torch.Tensor:
    """(vocab_size, dim) float32 table from the static embeddings (see module docstring).

    Raises:
        ConfigError: ``vocab_size`` is not the static file's vocabulary (bert-base-uncased ids).
    """
    static = StaticEmbeddings()
    v = static.vectors
    if vocab_size != v.shape[0]:
        raise ConfigError(f"text_encoder 'static' needs the bert-base-uncased tokenizer ({v.shape[0]} tokens; "
                          f"set data.tokenizer: bert-base-uncased), got vocab_size {vocab_size}")
    table = v[:, :dim].astype(np.float32)
    std = float(table.std()) or 1.0
    table = table / std
    if dim > v.shape[1]:
        extra = np.random.default_rng(seed).normal(0.0, 0.02, (vocab_size, dim - v.shape[1])).astype(np.float32)
        table = np.concatenate([table, extra], axis=1)
    return torch.from_numpy(np.ascontiguousarray(table))
