"""Building blocks of the compact student: conv blocks, attention and transformer layers.

Every block takes its widths as explicit integers (no ratios, no derived defaults), so the student
config can describe a pruned model exactly and the model is rebuilt from config + safetensors.
Ops are chosen for ONNX Runtime on CPU: Conv+BN(+ReLU) folds/fuses into one FusedConv, attention is
plain MatMul/Softmax, LayerNorm exports as LayerNormalization (opset 17).
"""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "relu6": nn.ReLU6, "hardswish": nn.Hardswish}

# Additive mask value for padded keys: large enough to zero the softmax weight, small enough to stay
# finite in float16 (a -inf row would give NaN for an all-padding text).
MASK_VALUE = -1.0e4


def conv_bn_act(cin: int, cout: int, k: int, stride: int, groups: int, act: str | None) -> nn.Sequential:
    """Conv (no bias: BN follows) + BN (+ activation); ORT folds the BN and fuses the activation."""
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act is not None:
        layers.append(ACTIVATIONS[act]())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: [1x1 expand] -> 3x3 depthwise -> 1x1 project (linear), optional skip.

    Args:
        cin: Input channels.
        hidden: Depthwise width; 0 means no expansion conv (depthwise runs on the input, i.e. a
            MobileNetV1 depthwise-separable block, which is cheaper in ORT).
        cout: Output channels.
        stride: Depthwise stride (1 or 2).
        residual: Add the input to the output. Stored explicitly in the config because pruning
            can make cin == cout by coincidence and the rebuild must not invent a skip.
        act: Activation name.
    """

    def __init__(self, cin: int, hidden: int, cout: int, stride: int, residual: bool, act: str):
        super().__init__()
        dw = hidden if hidden > 0 else cin
        self.expand = conv_bn_act(cin, hidden, 1, 1, 1, act) if hidden > 0 else nn.Identity()
        self.depthwise = conv_bn_act(dw, dw, 3, stride, dw, act)
        self.project = conv_bn_act(dw, cout, 1, 1, 1, None)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


class Attention(nn.Module):
    """Multi-head attention with separate q/k/v/o Linear layers (what torch-pruning can trace).

    Token streams are 2-D ``(B*N, dim)``: every Linear then exports as one Gemm with its bias fused
    (a 3-D Linear exports as MatMul + Add), and the reshapes use constant shapes (only the batch is
    dynamic), so the graph has no Shape/Gather/Concat chains.

    ``qk_dim`` and ``v_dim`` are the total widths (heads x per-head dim); they may differ after
    pruning, because q/k and v/o are independent channel groups.

    Args:
        dim_q: Width of the query stream (and of the output).
        dim_kv: Width of the key/value stream (== dim_q for self-attention).
        heads: Number of heads.
        qk_dim: Total query/key width, divisible by ``heads``.
        v_dim: Total value width, divisible by ``heads``.
        n_q: Query tokens per sample (static: text length).
        n_kv: Key/value tokens per sample (static: text length or image regions).
        dropout: Dropout on the attention weights.
    """

    def __init__(self, dim_q: int, dim_kv: int, heads: int, qk_dim: int, v_dim: int, n_q: int, n_kv: int,
                 dropout: float = 0.0):
        super().__init__()
        if qk_dim % heads or v_dim % heads:
            raise ValueError(f"qk_dim {qk_dim} / v_dim {v_dim} not divisible by heads {heads}")
        self.heads, self.n_q, self.n_kv = heads, n_q, n_kv
        self.qk_head, self.v_head = qk_dim // heads, v_dim // heads
        # A Python float, not computed from a traced shape: no Shape/Pow nodes in the graph.
        self.scale = float(self.qk_head ** -0.5)
        self.q = nn.Linear(dim_q, qk_dim)
        self.k = nn.Linear(dim_kv, qk_dim)
        self.v = nn.Linear(dim_kv, v_dim)
        self.o = nn.Linear(v_dim, dim_q)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, context: torch.Tensor, bias: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attend from ``x`` (B*n_q, dim_q) to ``context`` (B*n_kv, dim_kv).

        Args:
            bias: Optional additive score bias broadcastable to (B, heads, n_q, n_kv).

        Returns:
            (output (B*n_q, dim_q), attention weights (B, heads, n_q, n_kv)).
        """
        h = self.heads
        q = self.q(x).reshape(-1, self.n_q, h, self.qk_head).transpose(1, 2)
        # k goes straight to (B, H, d, n_kv): one transpose instead of two.
        k = self.k(context).reshape(-1, self.n_kv, h, self.qk_head).permute(0, 2, 3, 1)
        v = self.v(context).reshape(-1, self.n_kv, h, self.v_head).transpose(1, 2)
        # Scale right after the MatMul: ORT folds it into the MatMul (FusedMatMul alpha), no Mul node.
        scores = (q @ k) * self.scale
        if bias is not None:
            scores = scores + bias
        attn = torch.softmax(scores, dim=-1)
        out = (self.drop(attn) @ v).transpose(1, 2).reshape(-1, h * self.v_head)
        return self.o(out), attn


class FeedForward(nn.Module):
    """Linear -> GELU -> Linear (ORT fuses Gemm bias + erf-GELU into BiasGelu/Gelu)."""

    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.act(self.fc1(x))))


class TransformerLayer(nn.Module):
    """Pre-LN transformer layer on 2-D token streams; text self-attention or text->image cross-attention.

    Args:
        dim: Residual stream width.
        dim_kv: Context width (== dim for self-attention).
        heads, qk_dim, v_dim, n_q, n_kv: See :class:`Attention`.
        ffn: FeedForward hidden width; 0 means no feed-forward sub-layer.
        dropout: Dropout rate.
        cross: True for cross-attention (the context gets its own LayerNorm).
    """

    def __init__(self, dim: int, dim_kv: int, heads: int, qk_dim: int, v_dim: int, ffn: int, n_q: int, n_kv: int,
                 dropout: float, cross: bool = False):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.norm_ctx = nn.LayerNorm(dim_kv) if cross else None
        self.attn = Attention(dim, dim_kv, heads, qk_dim, v_dim, n_q, n_kv, dropout)
        self.drop = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(dim) if ffn > 0 else None
        self.ffn = FeedForward(dim, ffn, dropout) if ffn > 0 else None

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, bias: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (B*n_q, dim), ``context`` (B*n_kv, dim_kv) or None for self-attention."""
        h = self.norm1(x)
        ctx = h if self.norm_ctx is None or context is None else self.norm_ctx(context)
        a, attn = self.attn(h, ctx, bias)
        x = x + self.drop(a)
        if self.ffn is not None and self.norm2 is not None:
            x = x + self.ffn(self.norm2(x))
        return x, attn


def pooling_weights(mask: torch.Tensor) -> torch.Tensor:
    """(B, L) 0/1 mask -> (B, 1, L) weights summing to 1 (all zeros for an all-padding row)."""
    m = mask.to(torch.float32)
    return (m / m.sum(1, keepdim=True).clamp(min=1.0)).unsqueeze(1)


def masked_mean(x: torch.Tensor, weights: torch.Tensor, n: int, dim: int) -> torch.Tensor:
    """Weighted mean of ``x`` (B*n, dim) with :func:`pooling_weights` (B, 1, n): one MatMul -> (B, dim)."""
    return (weights @ x.reshape(-1, n, dim)).squeeze(1)
