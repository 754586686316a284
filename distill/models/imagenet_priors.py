"""The ImageNet priors as a graph module: ImageNet logits -> object-label mass and theme distribution.

Constant buffers only (the matrices of ``imagenet_objects`` and ``imagenet_themes``), so the module
exports to ONNX as two MatMuls and can sit behind any tower that has ImageNet logits (the
teacher's ``aux/imagenet_logits``) as a prior, an auxiliary output or a distillation target.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from adfusion_edge import schema
from adfusion_edge.distill.models.imagenet_objects import content_mask, object_matrix, person_vector
from adfusion_edge.distill.models.imagenet_themes import DEFAULT_TAU, theme_matrix


class ImageNetPriors(nn.Module):
    """logits (B, 1000) -> {"objects": (B, 36) probability mass, "theme": (B, 12) distribution}.

    Args:
        tau: Theme-prior temperature (``theme_matrix``).
        drop_medium: Drop the medium classes (web site, book jacket, ...) and renormalise first.
        with_person: Person column = mass of the person-implying classes.
        theme_source: What the theme prior embedded each class as (``imagenet_themes.class_texts``).
    """

    def __init__(self, tau: float = DEFAULT_TAU, drop_medium: bool = True, with_person: bool = True,
                 theme_source: str = "lemmas"):
        super().__init__()
        m = torch.from_numpy(object_matrix().copy())
        if with_person:
            m[:, schema.head("objects").index("person")] = torch.from_numpy(person_vector())
        self.register_buffer("objects_matrix", m, persistent=False)
        self.register_buffer("theme_matrix", torch.from_numpy(theme_matrix(tau, theme_source)), persistent=False)
        mask = content_mask() if drop_medium else np.ones_like(content_mask())
        self.register_buffer("mask", torch.from_numpy(mask), persistent=False)

    def forward(self, logits: torch.Tensor) -> dict[str, torch.Tensor]:
        p = logits.softmax(-1) * self.mask
        p = p / p.sum(-1, keepdim=True).clamp_min(1e-6)
        return {"objects": p @ self.objects_matrix, "theme": p @ self.theme_matrix}
