"""Baselines of the paper's comparison: unimodal, early/late fusion and a CLIP-style dual encoder.

    resnet18_image   ResNet-18 GAP -> heads
    vit_image        small ViT (transformers ViTModel from a ViTConfig, ViT-Tiny dims) -> heads
    distilbert_text  text encoder (DistilBERT by default, any TextEncoderConfig) -> heads
    roberta_text     RoBERTa from config -> heads
    early_fusion     Cat(GAP(ResNet), pooled text) -> Linear + GELU -> heads
    late_fusion      image heads and text heads, combined by averaging probabilities (or logits)
    clip_dual        ResNet + text encoder with projections trained by ITC; heads on Cat(embeddings)

Every model returns every schema output. Image-only models cannot tag text: their
``monetary_span`` is a learnable per-tag bias broadcast over the L tokens (it learns to say "O"
everywhere), an honest constant predictor rather than fake zeros. Only clip_dual emits the ITC
embeddings; no baseline emits unimodal aux logits, so baselines train on L_task alone (clip_dual
adds L_itc when beta > 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from adfusion_edge import schema
from adfusion_edge.distill.models.base import AdModel, HeadSet
from adfusion_edge.distill.models.registry import register_model
from adfusion_edge.distill.models.resnet import ResNet18
from adfusion_edge.distill.models.text_encoders import TextEncoder, TextEncoderConfig
from adfusion_edge.errors import ConfigError
from adfusion_edge.preprocess import PreprocessConfig

N_TAGS = len(schema.SPAN_TAGS)
# LossWeights overrides for clip_dual's contrastive pre-training phase (ITC only); the second
# phase rebuilds the model with freeze_encoders=True (or False to fine-tune) and task weights.
CLIP_PRETRAIN_WEIGHTS: dict[str, float] = {"alpha": 0.0, "beta": 1.0, "gamma": 0.0}


def _check(cfg: Any) -> None:
    if hasattr(cfg, "resnet_width") and not 0.0 < cfg.resnet_width <= 4.0:
        raise ConfigError(f"resnet_width must be in (0, 4], got {cfg.resnet_width}")
    if not 0.0 <= cfg.dropout < 1.0:
        raise ConfigError(f"dropout must be in [0, 1), got {cfg.dropout}")
    for name in ("d_model", "embed_dim", "vit_dim", "vit_layers", "vit_heads", "vit_ffn", "patch_size"):
        if hasattr(cfg, name) and int(getattr(cfg, name)) < 1:
            raise ConfigError(f"{name} must be >= 1, got {getattr(cfg, name)}")


@dataclass(frozen=True)
class ImageOnlyConfig:
    resnet_width: float = 1.0
    dropout: float = 0.1

    def __post_init__(self) -> None:
        _check(self)


@dataclass(frozen=True)
class VitImageConfig:
    """ViT-Tiny dims by default (192 wide, 12 layers, 3 heads, patch 16)."""

    vit_dim: int = 192
    vit_layers: int = 12
    vit_heads: int = 3
    vit_ffn: int = 768
    patch_size: int = 16
    dropout: float = 0.1

    def __post_init__(self) -> None:
        _check(self)
        if self.vit_dim % self.vit_heads:
            raise ConfigError(f"vit_dim {self.vit_dim} not divisible by vit_heads {self.vit_heads}")


@dataclass(frozen=True)
class TextOnlyConfig(TextEncoderConfig):
    dropout: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(self)


@dataclass(frozen=True)
class EarlyFusionConfig(TextEncoderConfig):
    resnet_width: float = 1.0
    d_model: int = 256
    dropout: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(self)


@dataclass(frozen=True)
class LateFusionConfig(TextEncoderConfig):
    """``combine``: "probs" (mean of probabilities, returned as logits) or "logits" (mean of logits)."""

    resnet_width: float = 1.0
    combine: str = "probs"
    dropout: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(self)
        if self.combine not in ("probs", "logits"):
            raise ConfigError(f"combine must be 'probs' or 'logits', got {self.combine!r}")


@dataclass(frozen=True)
class ClipDualConfig(TextEncoderConfig):
    """``freeze_encoders``: encoders + projections frozen (linear-probe phase after ITC pre-training)."""

    resnet_width: float = 1.0
    embed_dim: int = 256
    freeze_encoders: bool = False
    temperature_init: float = 0.07
    dropout: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(self)
        if not 0.0 < self.temperature_init < 1.0:
            raise ConfigError(f"temperature_init must be in (0, 1), got {self.temperature_init}")


class SpanBias(nn.Module):
    """Image-only models cannot tag text: a learnable per-tag bias broadcast over the L tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(N_TAGS))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.bias.view(1, 1, N_TAGS).expand(input_ids.shape[0], input_ids.shape[1], N_TAGS)


class ResNetImage(AdModel):
    name = "resnet18_image"
    config_class = ImageOnlyConfig

    def __init__(self, config: ImageOnlyConfig, preprocess: PreprocessConfig):
        super().__init__(config, preprocess)
        self.backbone = ResNet18(config.resnet_width)
        self.heads = HeadSet(self.backbone.feature_channels[-1], config.dropout)
        self.span_bias = SpanBias()

    def forward(self, image: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        v = self.backbone(self.normalize(image))[-1].mean((2, 3))
        out = self.heads(v)
        out[schema.SPAN_OUTPUT] = self.span_bias(input_ids)
        out["aux/fused"] = v
        return out


class VitImage(AdModel):
    name = "vit_image"
    config_class = VitImageConfig

    def __init__(self, config: VitImageConfig, preprocess: PreprocessConfig):
        super().__init__(config, preprocess)
        from transformers import ViTConfig, ViTModel

        c = config
        if preprocess.image_size % c.patch_size:
            raise ConfigError(f"image_size {preprocess.image_size} not divisible by patch_size {c.patch_size}")
        self.vit = ViTModel(ViTConfig(
            image_size=preprocess.image_size, patch_size=c.patch_size, hidden_size=c.vit_dim,
            num_hidden_layers=c.vit_layers, num_attention_heads=c.vit_heads, intermediate_size=c.vit_ffn,
            hidden_dropout_prob=c.dropout, attention_probs_dropout_prob=c.dropout,
        ), add_pooling_layer=False)
        self.heads = HeadSet(c.vit_dim, c.dropout)
        self.span_bias = SpanBias()

    def forward(self, image: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        v = self.vit(pixel_values=self.normalize(image)).last_hidden_state[:, 0]  # [CLS], uint8 normalised in-graph
        out = self.heads(v)
        out[schema.SPAN_OUTPUT] = self.span_bias(input_ids)
        out["aux/fused"] = v
        return out


class DistilBertText(AdModel):
    name = "distilbert_text"
    config_class = TextOnlyConfig

    def __init__(self, config: TextOnlyConfig, preprocess: PreprocessConfig):
        super().__init__(config, preprocess)
        self.text = TextEncoder(config, preprocess.max_tokens)
        self.heads = HeadSet(self.text.dim, config.dropout)
        self.span_head = nn.Linear(self.text.dim, N_TAGS)

    def forward(self, image: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        tokens, h = self.text(input_ids, attention_mask)
        out = self.heads(h)
        out[schema.SPAN_OUTPUT] = self.span_head(tokens)
        out["aux/fused"] = h
        return out


class RobertaText(DistilBertText):
    name = "roberta_text"


class EarlyFusion(AdModel):
    name = "early_fusion"
    config_class = EarlyFusionConfig

    def __init__(self, config: EarlyFusionConfig, preprocess: PreprocessConfig):
        super().__init__(config, preprocess)
        self.backbone = ResNet18(config.resnet_width)
        self.text = TextEncoder(config, preprocess.max_tokens)
        self.fuse = nn.Linear(self.backbone.feature_channels[-1] + self.text.dim, config.d_model)
        self.act = nn.GELU()
        self.heads = HeadSet(config.d_model, config.dropout)
        self.span_head = nn.Linear(self.text.dim, N_TAGS)

    def forward(self, image: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        v = self.backbone(self.normalize(image))[-1].mean((2, 3))
        tokens, h = self.text(input_ids, attention_mask)
        fused = self.act(self.fuse(torch.cat([v, h], -1)))
        out = self.heads(fused)
        out[schema.SPAN_OUTPUT] = self.span_head(tokens)
        out["aux/fused"] = fused
        return out


def _mean_softmax_logits(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """log of the mean of two softmax distributions (a valid logit vector for that mean)."""
    return torch.logsumexp(torch.stack([a.log_softmax(-1), b.log_softmax(-1)]), 0) - math.log(2.0)


def _mean_sigmoid_logits(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """logit of the mean of two sigmoids, in log space (no 0/1 probabilities, no NaN)."""
    fn = nn.functional.logsigmoid
    return torch.logsumexp(torch.stack([fn(a), fn(b)]), 0) - torch.logsumexp(torch.stack([fn(-a), fn(-b)]), 0)


class LateFusion(AdModel):
    name = "late_fusion"
    config_class = LateFusionConfig

    def __init__(self, config: LateFusionConfig, preprocess: PreprocessConfig):
        super().__init__(config, preprocess)
        self.backbone = ResNet18(config.resnet_width)
        self.text = TextEncoder(config, preprocess.max_tokens)
        self.image_heads = HeadSet(self.backbone.feature_channels[-1], config.dropout)
        self.text_heads = HeadSet(self.text.dim, config.dropout)
        self.span_head = nn.Linear(self.text.dim, N_TAGS)  # only the text side can tag tokens

    def forward(self, image: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        v = self.backbone(self.normalize(image))[-1].mean((2, 3))
        tokens, h = self.text(input_ids, attention_mask)
        iv, tv = self.image_heads(v), self.text_heads(h)
        out: dict[str, torch.Tensor] = {}
        for name in iv:
            if self.config.combine == "logits":
                out[name] = 0.5 * (iv[name] + tv[name])
            elif name == schema.VALUE_OUTPUT or schema.head(name).kind == "multi":
                out[name] = _mean_sigmoid_logits(iv[name], tv[name])
            else:
                out[name] = _mean_softmax_logits(iv[name], tv[name])
        out[schema.SPAN_OUTPUT] = self.span_head(tokens)
        return out


class ClipDual(AdModel):
    name = "clip_dual"
    config_class = ClipDualConfig

    def __init__(self, config: ClipDualConfig, preprocess: PreprocessConfig):
        super().__init__(config, preprocess)
        c = config
        self.backbone = ResNet18(c.resnet_width)
        self.text = TextEncoder(c, preprocess.max_tokens)
        self.image_proj = nn.Linear(self.backbone.feature_channels[-1], c.embed_dim)
        self.text_proj = nn.Linear(self.text.dim, c.embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / c.temperature_init)))
        self.fuse = nn.Linear(2 * c.embed_dim, c.embed_dim)
        self.act = nn.GELU()
        self.heads = HeadSet(c.embed_dim, c.dropout)
        self.span_head = nn.Linear(self.text.dim, N_TAGS)
        if c.freeze_encoders:
            for m in self._encoders():
                m.requires_grad_(False)
            self.logit_scale.requires_grad_(False)

    def _encoders(self) -> tuple[nn.Module, ...]:
        return self.backbone, self.text, self.image_proj, self.text_proj

    def train(self, mode: bool = True) -> ClipDual:
        super().train(mode)
        if self.config.freeze_encoders:  # frozen = fixed features: BN statistics and dropout off too
            for m in self._encoders():
                m.eval()
        return self

    def forward(self, image: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        v = self.image_proj(self.backbone(self.normalize(image))[-1].mean((2, 3)))
        tokens, h = self.text(input_ids, attention_mask)
        t = self.text_proj(h)
        fused = self.act(self.fuse(torch.cat([v, t], -1)))
        out = self.heads(fused)
        out[schema.SPAN_OUTPUT] = self.span_head(tokens)
        out["aux/image_emb"], out["aux/text_emb"], out["aux/logit_scale"] = v, t, self.logit_scale
        out["aux/fused"] = fused
        return out


def _register(cls: type[AdModel], **fixed: Any) -> None:
    @register_model(cls.name)
    def factory(preprocess: PreprocessConfig, **config: Any) -> AdModel:
        clash = {k: v for k, v in config.items() if k in fixed and v != fixed[k]}
        if clash:
            raise ConfigError(f"{cls.name} fixes {fixed}; got {clash}")
        return cls(cls.config_class(**{**config, **fixed}), preprocess)


_register(ResNetImage)
_register(VitImage)
_register(DistilBertText)
_register(RobertaText, text_encoder="roberta")
_register(EarlyFusion)
_register(LateFusion)
_register(ClipDual)
