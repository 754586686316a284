"""AdFusionNet, the teacher: ResNet-18 + DistilBERT + multiscale visual fusion + bidirectional
cross-attention + the schema's heads (paper, section III).

    image -> ResNet-18 -> layer2/3/4 maps = low/mid/high scales, each projected to width d (P_s)
        pooled:  v_s = P_s(GAP(map_s));  v_ms = Cat(v_l, v_m, v_h) (+) Mean(v_l, v_m, v_h)
                 v' = W_v LN(W_s v_ms)                                   (B, d)  global image token
        regions: P_s(AvgPool(map_s)) per scale (strides 32/32/32 by default: layer4's grid)
                 -> W_v LN(.) + 2-D sin-cos position + scale embedding  (B, N, d)
    text  -> DistilBERT -> W_t -> h_t (B, L, d);  h' = W_t(pool(h))
    fusion (2 CoAttentionLayers): text tokens attend to [v'; regions], image tokens attend to text
        v_att = image stream at the global token, h_att = pooled text stream
    z = Cat(v_att, h_att);  z' = GELU(W_z z + b)  -> HeadSet;  monetary_span = Linear(text stream)
    aux: image_emb/text_emb (ITC), fused (= z'), logit_scale, attention_map (layer4, for L_at),
         imagenet_logits (EfficientNet-Lite towers: the tower's own 1000-way classifier),
         image_logits/<h>, text_logits/<h> (unimodal heads on v' and h', single/ordinal heads, L_mi)

(+) is ``ms_fusion``: "concat" (default) appends the mean as a fourth block; "residual" adds the
mean to each scale's block (the paper's wording "residual addition"). Both feed a linear W_s, so
they span the same function class; concat keeps the mean as its own input to W_s.

Deviation, on purpose: ITC uses the *pre-fusion* v' and h' (``itc_source="unimodal"``), as ALBEF
does. After cross-attention v_att has seen its own text, so in-batch negatives are told apart by
the text leaking into both sides and ITC stops teaching alignment. ``itc_source="attended"`` gives
the paper's literal sim(v_att, h_att). The MI loss reads the auxiliary unimodal heads on v' and h'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from adfusion_edge import schema
from adfusion_edge.distill.models.base import AdModel, HeadSet, ImageNormalize
from adfusion_edge.distill.models.fusion_layers import CoAttentionLayer, padding_bias, sincos_2d
from adfusion_edge.distill.models.registry import register_model
from adfusion_edge.distill.models.resnet import feature_sizes
from adfusion_edge.distill.models.text_encoders import TextEncoder, TextEncoderConfig, masked_mean
from adfusion_edge.distill.models.vision_towers import build_vision_tower
from adfusion_edge.errors import ConfigError
from adfusion_edge.preprocess import PreprocessConfig

# Heads with a softmax distribution: the ones the unimodal auxiliary heads (MI loss) predict.
AUX_HEADS: tuple[str, ...] = tuple(h.name for h in schema.HEADS if h.kind in ("single", "ordinal"))


@dataclass(frozen=True)
class AdFusionNetConfig(TextEncoderConfig):
    """Teacher config. Defaults = full size (ResNet-18 + DistilBERT-base dims); see CPU_SCALE.

    Attributes:
        vision: Visual tower, one of vision_towers.VISION_TOWERS: "resnet18" (the paper's) or
            "efficientnet_lite0/1/2" (pretrained ImageNet towers, see distill/models/efficientnet_lite.py).
        vision_weights: "" = random init; "imagenet" = the EfficientNet-Lite package's weights; or a
            weights file (torchvision resnet18 state dict / Lite .pth).
        resnet_width: ResNet channel multiplier (1.0 = ResNet-18, can load ImageNet weights).
        d_model: Shared width d of the fusion (W_v, W_t, cross-attention, z').
        fusion_layers: Bidirectional cross-attention layers.
        fusion_heads: Attention heads per direction; must divide d_model.
        ffn_mult: FFN hidden width = ffn_mult * d_model.
        region_pool: Extra pooling of region tokens: 1 = every scale on layer4's grid
            (3 * (S/32)^2 tokens), 2 = half that grid per side.
        cross_attention: False = ablation: z = Cat(v', h') (pooled concat, no attention).
        multiscale: False = ablation: layer4 only (v' = W_v LN(W_s v_h)).
        ms_fusion: "concat" or "residual" (see module docstring).
        itc_source: "unimodal" (v', h'; default) or "attended" (v_att, h_att).
        unimodal_heads: Auxiliary image-only / text-only heads for the MI loss.
        dropout: Dropout in fusion and heads.
        temperature_init: Initial ITC temperature (CLIP: 0.07); learned as ``logit_scale``.
    """

    vision: str = "resnet18"
    vision_weights: str = ""
    resnet_width: float = 1.0
    d_model: int = 256
    fusion_layers: int = 2
    fusion_heads: int = 8
    ffn_mult: int = 4
    region_pool: int = 1
    cross_attention: bool = True
    multiscale: bool = True
    ms_fusion: str = "concat"
    itc_source: str = "unimodal"
    unimodal_heads: bool = True
    dropout: float = 0.1
    temperature_init: float = 0.07

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.d_model < 4 or self.d_model % 4 or self.d_model % self.fusion_heads:
            raise ConfigError(f"d_model {self.d_model} must be a multiple of 4 and of fusion_heads {self.fusion_heads}")
        for name in ("fusion_layers", "fusion_heads", "ffn_mult", "region_pool"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.ms_fusion not in ("concat", "residual"):
            raise ConfigError(f"ms_fusion must be 'concat' or 'residual', got {self.ms_fusion!r}")
        if self.itc_source not in ("unimodal", "attended"):
            raise ConfigError(f"itc_source must be 'unimodal' or 'attended', got {self.itc_source!r}")
        if self.itc_source == "attended" and not self.cross_attention:
            raise ConfigError("itc_source='attended' needs cross_attention=True")
        if not 0.0 <= self.dropout < 1.0 or not 0.0 < self.temperature_init < 1.0:
            raise ConfigError("dropout must be in [0, 1) and temperature_init in (0, 1)")


# Recommended CPU-scale teacher (2 cores, image 160, 64 tokens): see the models report.
CPU_SCALE: dict[str, Any] = dict(
    resnet_width=0.5, text_dim=256, text_layers=4, text_heads=4, text_ffn=1024, max_positions=64,
    d_model=192, fusion_heads=4, ffn_mult=2,
)


class AdFusionNet(AdModel):
    """The teacher; forward follows distill/models/base.py (uint8 NHWC image, ids, mask -> dict)."""

    name = "adfusionnet"
    config_class = AdFusionNetConfig

    def __init__(self, config: AdFusionNetConfig, preprocess: PreprocessConfig):
        super().__init__(config, preprocess)
        c, d = config, config.d_model
        self.backbone, mean, std = build_vision_tower(c.vision, c.vision_weights, c.resnet_width)
        if mean is not None:  # a pretrained tower is fed what it was trained on
            self.normalize = ImageNormalize(mean, std)
        self.text = TextEncoder(c, preprocess.max_tokens)
        n_scales = 3 if c.multiscale else 1
        chans = self.backbone.feature_channels[-n_scales:]
        # low/mid/high maps have strides 8/16/32: kernels 4/2/1 put all scales on layer4's grid.
        kernels = (4 * c.region_pool, 2 * c.region_pool, c.region_pool)[-n_scales:]
        grids = [s // k for s, k in zip(feature_sizes(preprocess.image_size)[-n_scales:], kernels, strict=True)]
        if min(grids) < 1:
            raise ConfigError(f"image_size {preprocess.image_size} too small for region_pool {c.region_pool}")
        self.scale_proj = nn.ModuleList(nn.Linear(ch, d) for ch in chans)  # P_l, P_m, P_h
        self.region_pool = nn.ModuleList(nn.AvgPool2d(k, k) if k > 1 else nn.Identity() for k in kernels)
        ms_in = d * (1 if n_scales == 1 else (4 if c.ms_fusion == "concat" else 3))
        self.w_s = nn.Linear(ms_in, d)
        self.image_norm = nn.LayerNorm(d)
        self.w_v = nn.Linear(d, d)
        self.w_t = nn.Linear(self.text.dim, d)
        if c.cross_attention:
            # Token 0 is the global v'; regions follow scale by scale, row-major.
            self.scale_embed = nn.Embedding(1 + n_scales, d)
            scale_ids = [0] + [i + 1 for i, g in enumerate(grids) for _ in range(g * g)]
            self.register_buffer("token_scale", torch.tensor(scale_ids), persistent=False)
            pos = torch.cat([torch.zeros(1, d)] + [sincos_2d(g, d) for g in grids])
            self.register_buffer("token_pos", pos, persistent=False)
            self.fusion = nn.ModuleList(
                CoAttentionLayer(d, c.fusion_heads, c.ffn_mult * d, c.dropout) for _ in range(c.fusion_layers)
            )
        self.w_z = nn.Linear(2 * d, d)
        self.act = nn.GELU()
        self.heads = HeadSet(d, c.dropout)
        self.span_head = nn.Linear(d, len(schema.SPAN_TAGS))
        if c.unimodal_heads:
            self.image_aux_heads = nn.ModuleDict({h: nn.Linear(d, schema.head(h).num_labels) for h in AUX_HEADS})
            self.text_aux_heads = nn.ModuleDict({h: nn.Linear(d, schema.head(h).num_labels) for h in AUX_HEADS})
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / c.temperature_init)))

    @property
    def tokenizer_path(self) -> str | None:
        """tokenizer.json required by a pretrained text encoder (None = project WordPiece)."""
        return self.text.tokenizer_path

    def _image(self, image: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """-> pooled multiscale v' (B, d), per-scale region tokens (B, n_s, d) before W_v, layer4 map."""
        maps = self.backbone(self.normalize(image))[-len(self.scale_proj):]
        pooled, regions = [], []
        for fmap, proj, pool in zip(maps, self.scale_proj, self.region_pool, strict=True):
            pooled.append(proj(fmap.mean((2, 3))))
            regions.append(proj(pool(fmap).flatten(2).transpose(1, 2)))
        if len(pooled) == 1:
            v_ms = pooled[0]
        else:
            mean = torch.stack(pooled).mean(0)
            v_ms = torch.cat(pooled + [mean] if self.config.ms_fusion == "concat" else [p + mean for p in pooled], -1)
        return self.w_v(self.image_norm(self.w_s(v_ms))), regions, maps[-1]

    def forward(self, image: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        c = self.config
        v_glob, regions, high = self._image(image)
        tok, _ = self.text(input_ids, attention_mask)
        t = self.w_t(tok)  # (B, L, d)
        h_glob = t[:, 0] if c.text_pool == "cls" else masked_mean(t, attention_mask)
        if c.cross_attention:
            v = torch.cat([v_glob[:, None], self.w_v(self.image_norm(torch.cat(regions, 1)))], 1)
            v = v + self.token_pos + self.scale_embed(self.token_scale)
            bias = padding_bias(attention_mask, v.dtype)
            for layer in self.fusion:
                t, v = layer(t, v, bias)
            v_att = v[:, 0]
            h_att = t[:, 0] if c.text_pool == "cls" else masked_mean(t, attention_mask)
        else:
            v_att, h_att = v_glob, h_glob
        fused = self.act(self.w_z(torch.cat([v_att, h_att], -1)))
        out = self.heads(fused)
        out[schema.SPAN_OUTPUT] = self.span_head(t)
        itc = (v_glob, h_glob) if c.itc_source == "unimodal" else (v_att, h_att)
        out["aux/image_emb"], out["aux/text_emb"] = itc
        out["aux/fused"] = fused
        out["aux/logit_scale"] = self.logit_scale
        # Activation-based spatial attention of the layer4 map (B, h, w): the distiller's L_at target.
        out["aux/attention_map"] = high.pow(2).mean(1)
        if hasattr(self.backbone, "classify"):  # ImageNet logits of a pretrained tower (LwF target)
            out["aux/imagenet_logits"] = self.backbone.classify(high)
        if c.unimodal_heads:
            for name in AUX_HEADS:
                out[f"aux/image_logits/{name}"] = self.image_aux_heads[name](v_glob)
                out[f"aux/text_logits/{name}"] = self.text_aux_heads[name](h_glob)
        return out


class AdFusionNetNoXattn(AdFusionNet):
    """Ablation: no cross-attention (pooled concat of v' and h')."""

    name = "adfusionnet_no_xattn"
    fixed: dict[str, Any] = {"cross_attention": False}


class AdFusionNetNoMultiscale(AdFusionNet):
    """Ablation: single-scale visual features (layer4 only)."""

    name = "adfusionnet_no_multiscale"
    fixed: dict[str, Any] = {"multiscale": False}


def _register(cls: type[AdFusionNet]) -> None:
    fixed: dict[str, Any] = getattr(cls, "fixed", {})

    @register_model(cls.name)
    def factory(preprocess: PreprocessConfig, **config: Any) -> AdFusionNet:
        clash = {k: v for k, v in config.items() if k in fixed and v != fixed[k]}
        if clash:
            raise ConfigError(f"{cls.name} fixes {fixed}; got {clash} (use 'adfusionnet' instead)")
        return cls(AdFusionNetConfig(**{**config, **fixed}), preprocess)


for _cls in (AdFusionNet, AdFusionNetNoXattn, AdFusionNetNoMultiscale):
    _register(_cls)

# Ablation table for evaluation: name -> (registered model, model config overrides, LossWeights
# overrides). Loss ablations keep the full model and zero a loss weight.
ABLATION_PRESETS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "full": ("adfusionnet", {}, {}),
    "no_xattn": ("adfusionnet_no_xattn", {}, {}),
    "no_multiscale": ("adfusionnet_no_multiscale", {}, {}),
    "no_itc": ("adfusionnet", {}, {"beta": 0.0}),
    # Without L_mi the unimodal heads would get no gradient at all: drop them (no dead weights).
    "no_mi": ("adfusionnet", {"unimodal_heads": False}, {"gamma": 0.0}),
}
