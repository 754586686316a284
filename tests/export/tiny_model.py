"""A small but real AdModel used to develop and test export, INT8 and the runtime.

It obeys distill/models/base.py exactly (uint8 NHWC image in, logits per head + monetary_span +
ctr_value + aux outputs) and has the op mix the real student has: strided convs + BatchNorm for
the image, token + position embeddings, one pre-norm self-attention block with padding mask
(LayerNorm, attention softmax, GELU MLP) for the text, and a fusion MLP feeding the schema heads.
``TinyConfig`` scales it from test size to student size for benchmarks. It is deliberately NOT
registered in the model registry (other suites parametrize over every registered model); the
checkpoint / CLI path is tested with the registered student at a tiny width instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from adfusion_edge import schema
from adfusion_edge.distill.models.base import AdModel, HeadSet
from adfusion_edge.preprocess import PreprocessConfig


@dataclass(frozen=True)
class TinyConfig:
    vocab_size: int = 300
    dim: int = 32
    channels: tuple[int, ...] = (8, 16, 32)
    text_layers: int = 1
    heads: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if self.dim % self.heads:
            raise ValueError("dim must be divisible by heads")


class _SelfAttentionBlock(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor, additive_mask: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, h, d // h).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // h)) + additive_mask
        y = (att.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, d)
        x = x + self.proj(y)
        return x + self.mlp(self.norm2(x))


class TinyAdModel(AdModel):
    """Conv image tower + one-block text encoder + fusion MLP + schema heads."""

    name = "tiny_test"
    config_class = TinyConfig

    def __init__(self, config: TinyConfig, preprocess: PreprocessConfig):
        super().__init__(config, preprocess)
        layers: list[nn.Module] = []
        c_in = 3
        for c in config.channels:
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
            c_in = c
        self.vision = nn.Sequential(*layers)
        self.vision_proj = nn.Linear(c_in, config.dim)
        self.tok = nn.Embedding(config.vocab_size, config.dim)
        self.pos = nn.Parameter(torch.zeros(1, preprocess.max_tokens, config.dim))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList(_SelfAttentionBlock(config.dim, config.heads) for _ in range(config.text_layers))
        self.text_norm = nn.LayerNorm(config.dim)
        self.fuse = nn.Sequential(nn.Linear(2 * config.dim, config.dim), nn.GELU())
        self.heads = HeadSet(config.dim, dropout=0.0)
        self.span = nn.Linear(2 * config.dim, len(schema.SPAN_TAGS))

    def forward(self, image: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict:
        v = self.vision(self.normalize(image)).mean(dim=(2, 3))
        v = self.vision_proj(v)
        seq = input_ids.shape[1]
        x = self.tok(input_ids) + self.pos[:, :seq]
        m = attention_mask.to(x.dtype)
        # Large negative (not -inf) so fully padded rows stay finite in FP16/INT8 engines.
        additive = ((1.0 - m) * -1e4)[:, None, None, :]
        for block in self.blocks:
            x = block(x, additive)
        x = self.text_norm(x)
        t = (x * m[..., None]).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)
        z = self.fuse(torch.cat([v, t], dim=-1))
        out = self.heads(z)
        ctx = z[:, None, :].expand(-1, seq, -1)
        out[schema.SPAN_OUTPUT] = self.span(torch.cat([x, ctx], dim=-1))
        out["aux/image_emb"], out["aux/text_emb"], out["aux/fused"] = v, t, z
        return out
