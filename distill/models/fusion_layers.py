"""Building blocks of the teacher's fusion: explicit-Linear attention, co-attention layer, 2-D positions.

Attention is written with explicit ``q_proj``/``k_proj``/``v_proj``/``out_proj`` Linears and plain
matmul/softmax (no fused kernels, no data-dependent branches): torch-pruning sees ordinary Linear
dependencies and the legacy TorchScript ONNX exporter traces it op for op.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# Added to attention scores of padding keys. Finite (not -inf) so a fully padded row cannot give
# NaN, and small enough in magnitude to stay finite in FP16 engines.
MASK_BIAS = -1e4


class CrossAttention(nn.Module):
    """Multi-head attention of queries ``x`` over a context ``ctx`` (scaled dot product).

    Args:
        dim: Model width (queries, keys, values and output).
        heads: Number of heads; must divide ``dim``.
        dropout: Dropout on the attention probabilities.
    """

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.shape[0], -1, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, ctx: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, Nq, D), ctx (B, Nk, D), bias broadcastable to (B, H, Nq, Nk) -> (B, Nq, D)."""
        q, k, v = self._split(self.q_proj(x)), self._split(self.k_proj(ctx)), self._split(self.v_proj(ctx))
        scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        if bias is not None:  # None vs tensor is fixed per call site, so tracing stays static
            scores = scores + bias
        out = torch.matmul(self.drop(scores.softmax(-1)), v)
        return self.out_proj(out.transpose(1, 2).reshape(x.shape[0], -1, self.heads * self.head_dim))


def feed_forward(dim: int, hidden: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim), nn.Dropout(dropout))


class CoAttentionLayer(nn.Module):
    """One bidirectional cross-attention layer (post-LN, as in the paper's Transformer recipe).

    Text tokens attend to image regions and image tokens attend to text tokens, both from the
    previous layer's states; each stream then gets residual + LayerNorm + FFN + residual + LayerNorm.
    """

    def __init__(self, dim: int, heads: int, ffn_hidden: int, dropout: float):
        super().__init__()
        self.text_attn = CrossAttention(dim, heads, dropout)
        self.image_attn = CrossAttention(dim, heads, dropout)
        self.text_norm1, self.image_norm1 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.text_ffn = feed_forward(dim, ffn_hidden, dropout)
        self.image_ffn = feed_forward(dim, ffn_hidden, dropout)
        self.text_norm2, self.image_norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, t: torch.Tensor, v: torch.Tensor, text_bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """t (B, L, D) text tokens, v (B, N, D) image tokens, text_bias (B, 1, 1, L) key padding."""
        t2 = self.text_norm1(t + self.drop(self.text_attn(t, v)))
        v2 = self.image_norm1(v + self.drop(self.image_attn(v, t, text_bias)))
        return self.text_norm2(t2 + self.text_ffn(t2)), self.image_norm2(v2 + self.image_ffn(v2))


def padding_bias(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, L) 1/0 mask -> (B, 1, 1, L) additive bias: 0 for real tokens, MASK_BIAS for padding."""
    return ((1.0 - attention_mask.to(dtype)) * MASK_BIAS)[:, None, None, :]


def sincos_2d(grid: int, dim: int) -> torch.Tensor:
    """Fixed 2-D sine/cosine positions (grid*grid, dim), row-major like ``flatten(2)`` of a map.

    Fixed rather than learned: no parameters tied to the image size, and region position (a CTA
    at the bottom, a price badge in a corner) is still visible to the attention.
    """
    quarter = dim // 4
    freq = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float32) / max(quarter, 1)))
    pos = torch.arange(grid, dtype=torch.float32)
    yy, xx = torch.meshgrid(pos, pos, indexing="ij")
    ang_y, ang_x = yy.reshape(-1, 1) * freq, xx.reshape(-1, 1) * freq
    return torch.cat([ang_y.sin(), ang_y.cos(), ang_x.sin(), ang_x.cos()], dim=1)
