"""What every model in the registry is: the contract between models, losses, training and export.

An AdModel takes the runtime's inputs directly and returns raw logits per output:

    forward(image uint8 (B,S,S,3), input_ids int64 (B,L), attention_mask int64 (B,L)) -> dict
        "<head>"          (B, K) logits for every schema head (softmax/sigmoid applied by losses
                          and by the export wrapper, never inside forward)
        "monetary_span"   (B, L, 3) BIO tag logits
        "ctr_value"       (B,) logit; sigmoid gives the CTR estimate in [0, 1]
        "aux/..."         optional training-only tensors, dropped at export:
            "aux/image_emb", "aux/text_emb"   (B, D) pooled embeddings for the ITC loss
            "aux/logit_scale"                  () learnable log inverse temperature (ITC)
            "aux/fused"                        (B, D) fused embedding (distillation hint)
            "aux/attention_map"                (B, h, w) spatial activation map (attention transfer)
            "aux/image_logits/<head>", "aux/text_logits/<head>"  unimodal predictions (MI loss)

Normalisation (uint8 -> float, mean/std) is the first op inside the model, so exported graphs take
uint8 NHWC images and the host does no float pass.

Each model has a frozen config dataclass; a checkpoint stores {"name", "config", "preprocess"} as
JSON next to safetensors weights, so ``registry.create_model(name, **config)`` rebuilds it from the
file alone (nanoGPT style), including pruned models whose widths live in the config.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch
from torch import nn

from adfusion_edge import schema
from adfusion_edge.preprocess import PreprocessConfig


class ImageNormalize(nn.Module):
    """uint8 NHWC -> float32 NCHW normalised with the PreprocessConfig's mean/std (in-graph)."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]):
        super().__init__()
        self.register_buffer("scale", torch.tensor([1.0 / (255.0 * s) for s in std]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", torch.tensor([m / s for m, s in zip(mean, std, strict=True)]).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image.permute(0, 3, 1, 2).to(self.scale.dtype)
        return x * self.scale - self.shift


class HeadSet(nn.Module):
    """One linear classifier per schema head (+ CTR value) on a pooled feature vector."""

    def __init__(self, dim: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.ModuleDict({h.name: nn.Linear(dim, h.num_labels) for h in schema.HEADS})
        self.ctr_value = nn.Linear(dim, 1)

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        z = self.dropout(z)
        out = {name: layer(z) for name, layer in self.heads.items()}
        out[schema.VALUE_OUTPUT] = self.ctr_value(z).squeeze(-1)
        return out


class AdModel(nn.Module):
    """Base class: subclasses set ``name``/``config_class`` and implement ``forward``."""

    name: ClassVar[str] = ""
    config_class: ClassVar[type] = object

    def __init__(self, config: Any, preprocess: PreprocessConfig):
        super().__init__()
        self.config = config
        self.preprocess = preprocess
        self.normalize = ImageNormalize(preprocess.mean, preprocess.std)

    def describe(self) -> dict[str, Any]:
        """JSON-able identity: enough to rebuild the model with the registry."""
        return {
            "name": self.name,
            "config": dataclasses.asdict(self.config),
            "preprocess": self.preprocess.to_dict(),
        }

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
