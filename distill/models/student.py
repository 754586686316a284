"""The compact student: MobileNet-style CNN + 2-layer text transformer + one cross-attention fusion.

    image uint8 (B,S,S,3) -> ImageNormalize -> stem conv -> inverted-residual blocks -> F (B,C,h,w)
    input_ids (B,L) -> token + learned position embeddings -> N pre-LN layers -> T (B,L,D)
    fusion: T attends to the h*w image regions of F (one cross-attention layer [+ FFN]) -> X
    outputs: HeadSet(fused), fused = act(Linear([masked_mean(X), GAP(F) (, colour thumbnail)]));
             monetary_span = Linear(X) per token; aux/image_emb, aux/text_emb, aux/logit_scale
             (ITC), aux/fused (distillation hint), aux/attention_map (spatial attention transfer)

StudentConfig lists every width explicitly (per block, per layer), so structured pruning writes the
new widths back into a config and the pruned model is rebuilt from config + safetensors alone.

The default size was chosen by measured ONNX Runtime CPU latency of the exported graph at batch 1
(``python -m adfusion_edge.distill.prune.latency`` prints parameters, MACs and latency of any
config or checkpoint; the shipped model's figures are in reports/student/REPORT.md and
benchmarks/REPORT.md). Measured side by side, 160 px and a wider text encoder each cost more than
they gained, so 128 px (STUDENT_PREPROCESS) and text width 96. The text encoder dominates at
L = 64 tokens, so it stays narrow (2 layers, width 96, 3 heads of 32: head dims a multiple of 16
floats for AVX-512) and the fusion layer has no feed-forward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import nn

from adfusion_edge import schema
from adfusion_edge.distill.models.base import AdModel, HeadSet
from adfusion_edge.distill.models.registry import register_model
from adfusion_edge.distill.models.student_blocks import (
    ACTIVATIONS,
    MASK_VALUE,
    InvertedResidual,
    TransformerLayer,
    conv_bn_act,
    masked_mean,
    pooling_weights,
)
from adfusion_edge.errors import ConfigError
from adfusion_edge.preprocess import PreprocessConfig

# The student's preprocessing: 128 px (see the module docstring). Distillation configs without a
# preprocess section use it; the teacher keeps its own (its cached outputs are computed at its size).
STUDENT_PREPROCESS = PreprocessConfig(image_size=128, max_tokens=64)

_TUPLE_FIELDS = ("block_hidden", "block_out", "block_stride", "block_residual", "text_heads", "text_qk_dims",
                 "text_v_dims", "text_ffn")


@dataclass(frozen=True)
class StudentConfig:
    """Every width of the student. The defaults are the default student (see the module docstring).

    Attributes:
        vocab_size: Token embedding rows; must cover the tokenizer's vocabulary.
        max_positions: Learned position embeddings; must be >= PreprocessConfig.max_tokens.
        activation: CNN activation: relu (fastest in ORT: fused into Conv), relu6 or hardswish.
        stem_channels: Output channels of the 3x3 stride-2 stem conv.
        block_hidden: Per block, depthwise width after the 1x1 expansion (0 = no expansion).
        block_out: Per block, output channels.
        block_stride: Per block, depthwise stride (1 or 2).
        block_residual: Per block, whether the block adds its input (needs stride 1, in == out).
        text_dim: Width of the text residual stream (token embeddings, LayerNorms).
        text_heads: Per text layer, attention heads.
        text_qk_dims: Per text layer, total query/key width (heads x head dim).
        text_v_dims: Per text layer, total value width.
        text_ffn: Per text layer, feed-forward hidden width (0 = none).
        fusion_heads: Heads of the text->image cross-attention.
        fusion_qk_dim: Total query/key width of the cross-attention.
        fusion_v_dim: Total value width of the cross-attention.
        fusion_ffn: Feed-forward width after the cross-attention (0 = none).
        embed_dim: Width of aux/image_emb and aux/text_emb (contrastive ITC loss).
        fused_dim: Width of the fused vector the heads read (aux/fused).
        colour_cells: Side of a colour thumbnail (average-pooled normalised image, 3 x cells^2
            values) concatenated into the fused vector; 0 = none. The CNN's 4x4 regions carry
            layout more than colour: without it the student's dominant_colour fell to 81% of the
            teacher's on the held-out layouts of the shift split. Costs one AveragePool.
        dropout: Dropout rate (training only).
    """

    vocab_size: int = 6000
    max_positions: int = 64
    activation: str = "relu"
    stem_channels: int = 16
    block_hidden: tuple[int, ...] = (0, 48, 72, 96, 144, 192)
    block_out: tuple[int, ...] = (24, 32, 48, 64, 96, 128)
    block_stride: tuple[int, ...] = (2, 2, 1, 2, 1, 2)
    block_residual: tuple[bool, ...] = (False, False, False, False, False, False)
    text_dim: int = 96
    text_heads: tuple[int, ...] = (3, 3)
    text_qk_dims: tuple[int, ...] = (96, 96)
    text_v_dims: tuple[int, ...] = (96, 96)
    text_ffn: tuple[int, ...] = (192, 192)
    fusion_heads: int = 3
    fusion_qk_dim: int = 96
    fusion_v_dim: int = 96
    fusion_ffn: int = 0
    embed_dim: int = 128
    fused_dim: int = 256
    colour_cells: int = 0
    dropout: float = 0.1

    def __post_init__(self) -> None:
        # JSON gives lists; the frozen config keeps tuples so it stays hashable and comparable.
        for name in _TUPLE_FIELDS:
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "block_residual", tuple(bool(x) for x in self.block_residual))
        self._validate()

    def _validate(self) -> None:
        def positive(name: str, value: Any, allow_zero: bool = False) -> None:
            ok = isinstance(value, int) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
            if not ok:
                raise ConfigError(f"student config: {name} must be a {'non-negative' if allow_zero else 'positive'} "
                                  f"int, got {value!r}")

        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"student config: activation {self.activation!r} not in {sorted(ACTIVATIONS)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"student config: dropout must be in [0, 1), got {self.dropout}")
        for name in ("vocab_size", "max_positions", "stem_channels", "text_dim", "fusion_heads", "fusion_qk_dim",
                     "fusion_v_dim", "embed_dim", "fused_dim"):
            positive(name, getattr(self, name))
        positive("fusion_ffn", self.fusion_ffn, allow_zero=True)
        positive("colour_cells", self.colour_cells, allow_zero=True)
        n = len(self.block_out)
        if n == 0 or not (len(self.block_hidden) == len(self.block_stride) == len(self.block_residual) == n):
            raise ConfigError("student config: block_hidden/out/stride/residual need the same non-zero length")
        cin = self.stem_channels
        for i in range(n):
            positive(f"block_out[{i}]", self.block_out[i])
            positive(f"block_hidden[{i}]", self.block_hidden[i], allow_zero=True)
            if self.block_stride[i] not in (1, 2):
                raise ConfigError(f"student config: block_stride[{i}] must be 1 or 2")
            if self.block_residual[i] and (self.block_stride[i] != 1 or cin != self.block_out[i]):
                raise ConfigError(f"student config: block {i} residual needs stride 1 and in == out channels "
                                  f"({cin} -> {self.block_out[i]})")
            cin = self.block_out[i]
        layers = len(self.text_heads)
        if layers == 0 or not (len(self.text_qk_dims) == len(self.text_v_dims) == len(self.text_ffn) == layers):
            raise ConfigError("student config: text_heads/qk_dims/v_dims/ffn need the same non-zero length")
        attn = [(f"text layer {i}", self.text_heads[i], self.text_qk_dims[i], self.text_v_dims[i])
                for i in range(layers)]
        attn.append(("fusion", self.fusion_heads, self.fusion_qk_dim, self.fusion_v_dim))
        for where, heads, qk, v in attn:
            positive(f"{where} heads", heads)
            positive(f"{where} qk_dim", qk)
            positive(f"{where} v_dim", v)
            if qk % heads or v % heads:
                raise ConfigError(f"student config: {where}: qk_dim {qk} and v_dim {v} must be divisible by "
                                  f"heads {heads}")
        for i, f in enumerate(self.text_ffn):
            positive(f"text_ffn[{i}]", f, allow_zero=True)

    @property
    def image_channels(self) -> int:
        """Channels of the final feature map (the image regions the text attends to)."""
        return self.block_out[-1]

    @property
    def total_stride(self) -> int:
        """Downsampling factor of the CNN (stem stride 2 x block strides)."""
        s = 2
        for b in self.block_stride:
            s *= b
        return s

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict; ``StudentConfig(**d)`` rebuilds it."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}


class StudentModel(AdModel):
    """The compact student (see module docstring). Forward obeys distill/models/base.py."""

    name = "student"
    config_class = StudentConfig

    def __init__(self, config: StudentConfig, preprocess: PreprocessConfig):
        super().__init__(config, preprocess)
        c = config
        if preprocess.max_tokens > c.max_positions:
            raise ConfigError(f"student: max_positions {c.max_positions} < preprocess max_tokens "
                              f"{preprocess.max_tokens}")
        if preprocess.image_size % c.total_stride:
            raise ConfigError(f"student: image_size {preprocess.image_size} must be a multiple of the CNN stride "
                              f"{c.total_stride}")
        if c.colour_cells and preprocess.image_size % c.colour_cells:
            raise ConfigError(f"student: image_size {preprocess.image_size} must be a multiple of colour_cells "
                              f"{c.colour_cells}")
        # Vision tower.
        self.stem = conv_bn_act(3, c.stem_channels, 3, 2, 1, c.activation)
        blocks, cin = [], c.stem_channels
        for hidden, cout, stride, res in zip(c.block_hidden, c.block_out, c.block_stride, c.block_residual, strict=True):
            blocks.append(InvertedResidual(cin, hidden, cout, stride, res, c.activation))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        # Text tower. Token streams are 2-D (B*L, D), see student_blocks.Attention.
        self.seq_len = preprocess.max_tokens
        self.regions = (preprocess.image_size // c.total_stride) ** 2
        self.tok_embed = nn.Embedding(c.vocab_size, c.text_dim)
        self.pos_embed = nn.Embedding(c.max_positions, c.text_dim)
        self.register_buffer("position_ids", torch.arange(self.seq_len), persistent=False)
        self.embed_norm = nn.LayerNorm(c.text_dim)
        self.embed_drop = nn.Dropout(c.dropout)
        self.text_layers = nn.ModuleList(
            TransformerLayer(c.text_dim, c.text_dim, h, qk, v, f, self.seq_len, self.seq_len, c.dropout)
            for h, qk, v, f in zip(c.text_heads, c.text_qk_dims, c.text_v_dims, c.text_ffn, strict=True)
        )
        # Fusion: text tokens query the image regions.
        cimg = c.image_channels
        self.fusion = TransformerLayer(c.text_dim, cimg, c.fusion_heads, c.fusion_qk_dim, c.fusion_v_dim,
                                       c.fusion_ffn, self.seq_len, self.regions, c.dropout, cross=True)
        self.fused_norm = nn.LayerNorm(c.text_dim)
        self.fuse = nn.Linear(c.text_dim + cimg, c.fused_dim)
        # Colour thumbnail: average-pooled normalised pixels through their own Linear added to
        # ``fuse`` (the same as concatenating them into its input, but a concat whose branch goes
        # through a flatten breaks torch-pruning's channel offsets).
        self.colour_pool = nn.AvgPool2d(preprocess.image_size // c.colour_cells) if c.colour_cells else None
        self.colour_fuse = nn.Linear(3 * c.colour_cells ** 2, c.fused_dim, bias=False) if c.colour_cells else None
        self.fuse_act = nn.GELU()
        self.image_proj = nn.Linear(cimg, c.embed_dim)
        self.text_proj = nn.Linear(c.text_dim, c.embed_dim)
        self.span_head = nn.Linear(c.text_dim, len(schema.SPAN_TAGS))
        self.heads = HeadSet(c.fused_dim, c.dropout)
        # Learnable ITC inverse temperature (CLIP init 1/0.07), read by losses.itc_loss.
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / 0.07)))

    def forward(self, image: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
                ) -> dict[str, torch.Tensor]:
        """Raw logits per output + aux tensors (see distill/models/base.py)."""
        c, n = self.config, self.seq_len
        cimg = c.image_channels
        pixels = self.normalize(image)
        fmap = self.blocks(self.stem(pixels))  # (B, C, h, w)
        regions = fmap.reshape(-1, cimg, self.regions).transpose(1, 2)  # (B, h*w, C)
        pooled_img = regions.mean(1)

        t = self.tok_embed(input_ids) + self.pos_embed(self.position_ids)
        t = self.embed_drop(self.embed_norm(t.reshape(-1, c.text_dim)))  # (B*L, D)
        # (B, 1, 1, L) additive key mask, broadcast over heads and queries.
        bias = ((1 - attention_mask.to(t.dtype)) * MASK_VALUE)[:, None, None, :]
        for layer in self.text_layers:
            t, _ = layer(t, bias=bias)
        x, _ = self.fusion(t, context=regions.reshape(-1, cimg))
        x = self.fused_norm(x)

        weights = pooling_weights(attention_mask)
        pooled_txt = masked_mean(x, weights, n, c.text_dim)
        fused = self.fuse(torch.cat([pooled_txt, pooled_img], dim=-1))
        if self.colour_pool is not None:
            fused = fused + self.colour_fuse(self.colour_pool(pixels).flatten(1))
        fused = self.fuse_act(fused)
        out = self.heads(fused)
        out[schema.SPAN_OUTPUT] = self.span_head(x).reshape(-1, n, len(schema.SPAN_TAGS))
        out["aux/fused"] = fused
        out["aux/image_emb"] = self.image_proj(pooled_img)
        out["aux/text_emb"] = self.text_proj(masked_mean(t, weights, n, c.text_dim))
        out["aux/logit_scale"] = self.logit_scale
        # Spatial attention map (Zagoruyko & Komodakis): mean squared activation per region.
        out["aux/attention_map"] = fmap.pow(2).mean(1)
        return out


@register_model("student")
def create_student(preprocess: PreprocessConfig, **config: Any) -> StudentModel:
    """Registry factory: ``create_model("student", preprocess, **StudentConfig fields)``."""
    return StudentModel(StudentConfig(**config), preprocess)
