"""Student text tower started from the MiniLM static token embeddings: lookup + masked mean (+ small MLP).

Same interface as ``text_encoders.TextEncoder``: ``forward(input_ids, attention_mask) -> (tokens
(B, L, D), pooled (B, D))``. The embedding table is the packaged static-embedding file
(adfusion_edge.static_text, bert-base-uncased ids), so with ``mlp_hidden=0`` and ``out_dim=None``
the pooled vector is exactly what the runtime's numpy ``StaticEmbeddings.encode`` gives (before
L2-normalisation): the student starts from MiniLM's knowledge and fine-tuning moves it from there.
[CLS] / [SEP] / padding are left out of the mean, as in the numpy encoder. Only Gather, mask
arithmetic and Linear layers: ONNX-exportable (opset 17, the TorchScript exporter) and INT8-friendly.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from adfusion_edge.errors import ConfigError
from adfusion_edge.static_text import StaticEmbeddings
from adfusion_edge.tokenizer import BERT_UNCASED

CLS_ID, SEP_ID = 101, 102  # bert-base-uncased


def static_mean(tokens: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``tokens`` (B, L, D) over real word pieces: [CLS], [SEP] and padding left out, as the
    runtime's numpy ``StaticEmbeddings.encode`` does (before L2-normalisation)."""
    keep = attention_mask.to(tokens.dtype) * (input_ids != CLS_ID).to(tokens.dtype) * (input_ids != SEP_ID).to(tokens.dtype)
    m = keep.unsqueeze(-1)
    return (tokens * m).sum(1) / m.sum(1).clamp(min=1.0)


class StaticTextEncoder(nn.Module):
    """Embedding lookup initialised from static embeddings, masked mean pooling, optional MLP.

    Args:
        path: Static-embedding ``.npz`` (default: the packaged MiniLM one).
        out_dim: Project token vectors to this width (None: keep the file's width).
        mlp_hidden: Hidden width of a residual 2-layer MLP on the pooled vector (0: none).
        freeze: Keep the embedding table fixed (train only the projection / MLP).

    Attributes:
        dim: Output width D. tokenizer_path: the tokenizer whose ids index the table.
    """

    def __init__(self, path: str | os.PathLike | None = None, out_dim: int | None = None, mlp_hidden: int = 0,
                 freeze: bool = False):
        super().__init__()
        if out_dim is not None and out_dim < 1 or mlp_hidden < 0:
            raise ConfigError(f"out_dim must be >= 1 or None and mlp_hidden >= 0, got {out_dim}, {mlp_hidden}")
        static = StaticEmbeddings(path)
        self.source = str(static.path)
        self.tokenizer_path = str(BERT_UNCASED)
        self.embed = nn.Embedding.from_pretrained(torch.from_numpy(np.ascontiguousarray(static.vectors)),
                                                  freeze=freeze, padding_idx=0)
        d = static.dim
        self.proj = nn.Linear(d, out_dim) if out_dim is not None else nn.Identity()
        self.dim = out_dim if out_dim is not None else d
        self.mlp = (nn.Sequential(nn.Linear(self.dim, mlp_hidden), nn.GELU(), nn.Linear(mlp_hidden, self.dim))
                    if mlp_hidden else None)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self.proj(self.embed(input_ids))
        pooled = static_mean(tokens, input_ids, attention_mask)
        if self.mlp is not None:
            pooled = pooled + self.mlp(pooled)
        return tokens, pooled
