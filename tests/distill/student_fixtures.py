"""Helpers for the student / distillation / pruning tests: a tiny student and real small batches.

The tiny student keeps every structural feature of the default one (expansion and plain
depthwise blocks, a residual block, 2 text layers, cross-attention with FFN) at widths that
are multiples of 8, so pruning has something to remove and stays quick on 2 shared cores.
"""

from __future__ import annotations

from typing import Any

import torch
from model_fixtures import PRE

from adfusion_edge.distill.models import registry

TINY_STUDENT: dict[str, Any] = dict(
    vocab_size=300, max_positions=16, stem_channels=16,
    block_hidden=(0, 32, 48, 64), block_out=(16, 16, 24, 32), block_stride=(2, 1, 2, 2),
    block_residual=(False, True, False, False),
    text_dim=32, text_heads=(2, 2), text_qk_dims=(32, 32), text_v_dims=(32, 32), text_ffn=(64, 64),
    fusion_heads=2, fusion_qk_dim=32, fusion_v_dim=32, fusion_ffn=64, embed_dim=32, fused_dim=48, colour_cells=4,
    dropout=0.0,
)


def tiny_student(seed: int = 0, **overrides: Any) -> torch.nn.Module:
    """The tiny student at model_fixtures.PRE (64 px, 16 tokens), seeded, eval mode."""
    torch.manual_seed(seed)
    return registry.create_model("student", PRE, **{**TINY_STUDENT, **overrides}).eval()


def randomize_norms(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give BatchNorm/LayerNorm non-trivial affine params and running stats (fresh ones are 1/0).

    Pruning importance and exactness checks are meaningless when every channel looks the same.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.LayerNorm)):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    return model
