"""Structured pruning of the student with torch-pruning, steered by parameters or measured latency.

One pruning step (:func:`prune_step`) builds a ``tp.pruner.MetaPruner`` (DependencyGraph over the
whole student, L2 group-magnitude importance) and removes, in one go:

* CNN channels (stem, expansion, depthwise and projection widths; residual-coupled channels as
  one group), the text residual width (embeddings, LayerNorms, every Linear reading/writing it),
  feed-forward widths, and the image channels the fusion reads;
* attention heads (``attention="heads"``: ``prune_num_heads=True``, head dims kept) or per-head
  dims (``attention="head_dims"``: ``prune_head_dims=True``, head count kept), with the q/k/v
  Linears registered in ``num_heads`` so torch-pruning keeps them consistent.

Widths are targets relative to the *original* model, rounded to the nearest multiple of
``round_to`` (8) and passed as per-layer ratios; a fresh pruner per step avoids torch-pruning's
iterative head schedule, which re-applies the cumulative ratio to the already-reduced head count.
The outputs' widths never change (heads, span tags, ITC embeddings, aux/fused).

After a step the new widths and head counts are read back from the modules into a new
StudentConfig and VERIFIED: every attention's q/k/v/o shapes agree with its head count and with
torch-pruning's own head bookkeeping, the model is rebuilt from config + state dict (strict), and
the rebuilt model's outputs must match the pruned in-memory model's. The rebuilt model is the
result, so what is saved (config + safetensors) is exactly what was measured.

:func:`prune_student` repeats steps (5% of the original widths each) until the target holds:
``params=R`` (parameter count <= R x original) or ``latency=R`` (ONNX Runtime CPU latency, 2
threads, batch 1, measured interleaved with the original <= R x original).
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from adfusion_edge.distill.kd.losses import ATTENTION_MAP
from adfusion_edge.distill.models.student import StudentConfig, StudentModel
from adfusion_edge.distill.models.student_blocks import Attention
from adfusion_edge.distill.prune.latency import (
    OrtTimer,
    compare_latency,
    count_macs,
    example_inputs,
    ort_latency,
)
from adfusion_edge.errors import AdFusionError, ConfigError

__all__ = [
    "PruneConfig", "PruneResult", "PruneTarget", "PruningError", "config_from_model", "count_macs", "ort_latency",
    "prune_step", "prune_student", "rebuild_verified",
]

TARGET_KINDS = ("params", "latency")
ATTENTION_MODES = ("heads", "head_dims")


class PruningError(AdFusionError, RuntimeError):
    """A pruned model whose shapes, head counts or outputs are inconsistent (never saved)."""


@dataclass(frozen=True)
class PruneTarget:
    """What to reach: ``params`` or ``latency`` at ``ratio`` x the original (0 < ratio < 1)."""

    kind: str
    ratio: float

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS:
            raise ConfigError(f"prune target kind must be one of {TARGET_KINDS}, got {self.kind!r}")
        if not 0.0 < self.ratio < 1.0:
            raise ConfigError(f"prune target ratio must be in (0, 1), got {self.ratio}")

    @classmethod
    def parse(cls, text: str) -> PruneTarget:
        """``"params=0.5"`` or ``"latency=0.7"`` -> PruneTarget.

        Raises:
            ConfigError: malformed text, unknown kind or ratio outside (0, 1).
        """
        kind, sep, value = text.partition("=")
        try:
            ratio = float(value)
        except ValueError:
            ratio = float("nan")
        if not sep or ratio != ratio:
            raise ConfigError(f"prune target {text!r}: expected params=R or latency=R with 0 < R < 1")
        return cls(kind.strip(), ratio)


@dataclass(frozen=True)
class PruneConfig:
    """Pruning settings.

    Attributes:
        target: What to reach.
        step: Width removed per step, as a fraction of the original widths.
        min_keep: Never keep less than this fraction of any original width.
        round_to: Channel counts are multiples of this (SIMD-friendly).
        attention: "heads" (remove whole heads) or "head_dims" (shrink every head).
        min_heads: Fewest heads an attention layer keeps.
        threads: ORT intra-op threads for latency targets.
        latency_rounds / latency_runs: Interleaved measurement rounds x runs per round.
    """

    target: PruneTarget
    step: float = 0.05
    min_keep: float = 0.1
    round_to: int = 8
    attention: str = "heads"
    min_heads: int = 1
    threads: int = 2
    latency_rounds: int = 10
    latency_runs: int = 50

    def __post_init__(self) -> None:
        if not 0.0 < self.step < 1.0 or not 0.0 < self.min_keep < 1.0:
            raise ConfigError("prune step and min_keep must be in (0, 1)")
        if self.round_to < 1 or self.min_heads < 1 or self.threads < 1:
            raise ConfigError("prune round_to, min_heads and threads must be >= 1")
        if self.attention not in ATTENTION_MODES:
            raise ConfigError(f"prune attention must be one of {ATTENTION_MODES}, got {self.attention!r}")
        if self.latency_rounds < 1 or self.latency_runs < 1:
            raise ConfigError("latency_rounds and latency_runs must be >= 1")


@dataclass
class PruneResult:
    """Outcome of :func:`prune_student`.

    Attributes:
        model: The pruned student (rebuilt from its config; eval mode).
        reached: Whether the target was met before ``min_keep``.
        history: One record per step: keep, params, macs, latency (if measured), ratio, config.
    """

    model: StudentModel
    reached: bool
    history: list[dict[str, Any]] = field(default_factory=list)


def _out_width(m: nn.Module) -> int | None:
    if isinstance(m, nn.Conv2d):
        return m.out_channels
    if isinstance(m, nn.Linear):
        return m.out_features
    if isinstance(m, nn.Embedding):
        return m.embedding_dim
    if isinstance(m, nn.LayerNorm):
        return int(m.normalized_shape[0])
    if isinstance(m, nn.BatchNorm2d):
        return m.num_features
    return None


def out_widths(model: nn.Module) -> dict[str, int]:
    """Output width of every prunable layer, by module name."""
    return {n: w for n, m in model.named_modules() if (w := _out_width(m)) is not None}


def _attentions(model: nn.Module) -> dict[str, Attention]:
    return {n: m for n, m in model.named_modules() if isinstance(m, Attention)}


def _fixed_layers(model: StudentModel) -> list[nn.Module]:
    # Output widths that are part of the contract (heads, span tags) or of training (ITC
    # embeddings, aux/fused: the hint projection and the schema depend on them).
    fixed = [model.heads, model.span_head, model.image_proj, model.text_proj, model.fuse]
    return fixed + ([model.colour_fuse] if model.colour_fuse is not None else [])


def _nearest(x: float, multiple: int) -> int:
    return max(multiple, int(round(x / multiple)) * multiple)


def config_from_model(model: StudentModel, heads: dict[str, int]) -> StudentConfig:
    """Read every width back from a (pruned) student's modules into a new StudentConfig.

    Args:
        model: The student after torch-pruning changed its layers in place.
        heads: Attention module name -> head count (torch-pruning's bookkeeping).
    """
    c = model.config
    blocks = list(model.blocks)
    text = list(model.text_layers)
    fusion = model.fusion
    return dataclasses.replace(
        c,
        stem_channels=model.stem[0].out_channels,
        block_hidden=tuple(b.expand[0].out_channels if isinstance(b.expand, nn.Sequential) else 0 for b in blocks),
        block_out=tuple(b.project[0].out_channels for b in blocks),
        text_dim=model.tok_embed.embedding_dim,
        text_heads=tuple(heads[f"text_layers.{i}.attn"] for i in range(len(text))),
        text_qk_dims=tuple(layer.attn.q.out_features for layer in text),
        text_v_dims=tuple(layer.attn.v.out_features for layer in text),
        text_ffn=tuple(layer.ffn.fc1.out_features if layer.ffn is not None else 0 for layer in text),
        fusion_heads=heads["fusion.attn"],
        fusion_qk_dim=fusion.attn.q.out_features,
        fusion_v_dim=fusion.attn.v.out_features,
        fusion_ffn=fusion.ffn.fc1.out_features if fusion.ffn is not None else 0,
        embed_dim=model.image_proj.out_features,
        fused_dim=model.fuse.out_features,
    )


def _check_attention(name: str, a: Attention, heads: int, tp_heads: dict[nn.Module, int]) -> None:
    q, k, v, o = a.q, a.k, a.v, a.o
    problems = []
    if not tp_heads.get(q) == tp_heads.get(k) == tp_heads.get(v) == heads:
        problems.append(f"head counts q/k/v {tp_heads.get(q)}/{tp_heads.get(k)}/{tp_heads.get(v)} != {heads}")
    if q.out_features != k.out_features:
        problems.append(f"q width {q.out_features} != k width {k.out_features}")
    if q.out_features % heads or v.out_features % heads:
        problems.append(f"q/v widths {q.out_features}/{v.out_features} not divisible by {heads} heads")
    if o.in_features != v.out_features:
        problems.append(f"o reads {o.in_features} != v width {v.out_features}")
    if q.in_features != o.out_features:
        problems.append(f"q reads {q.in_features} != o writes {o.out_features}")
    if problems:
        raise PruningError(f"attention {name} inconsistent after pruning: {'; '.join(problems)}")


@torch.no_grad()
def rebuild_verified(pruned: StudentModel, heads: dict[str, int], tp_heads: dict[nn.Module, int],
                     atol: float = 1e-4) -> StudentModel:
    """Write widths back into a config, rebuild from config + weights, and check it all agrees.

    Args:
        pruned: Student pruned in place by torch-pruning (stale attention attributes).
        heads: Attention module name -> head count after pruning.
        tp_heads: torch-pruning's num_heads dict (q/k/v Linear -> heads), checked against ``heads``.
        atol: Tolerance of the output comparison (only q is rescaled; everything else is copied).

    Returns:
        A fresh StudentModel (eval mode) built from the new config with the pruned weights.

    Raises:
        PruningError: inconsistent attention shapes/heads, an invalid config, a state dict that
            does not fit the rebuilt model, or outputs that differ.
    """
    attn = _attentions(pruned)
    for name, a in attn.items():
        _check_attention(name, a, heads[name], tp_heads)
    try:
        cfg = config_from_model(pruned, heads)
        rebuilt = StudentModel(cfg, pruned.preprocess).eval()
    except ConfigError as e:
        raise PruningError(f"pruned widths do not form a valid student config: {e}") from None
    state = {k: v.clone() for k, v in pruned.state_dict().items()}
    new_attn = _attentions(rebuilt)
    for name, a in attn.items():
        # The attention scale is 1/sqrt(head dim): when head dims shrink, fold old/new scale into q
        # so the rebuilt model computes the same scores as the pruned one.
        factor = a.scale / new_attn[name].scale
        if factor != 1.0:
            state[f"{name}.q.weight"] *= factor
            state[f"{name}.q.bias"] *= factor
    try:
        rebuilt.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise PruningError(f"pruned weights do not fit the rebuilt config: {e}") from None
    # Make the in-memory pruned model runnable with its true widths, then compare.
    pruned.config = cfg
    for name, a in attn.items():
        a.heads = heads[name]
        a.qk_head, a.v_head = a.q.out_features // a.heads, a.v.out_features // a.heads
    pruned.eval()
    inputs = example_inputs(rebuilt, batch=2)
    ref, got = pruned(*inputs), rebuilt(*inputs)
    for k, v in ref.items():
        if not torch.allclose(v, got[k], atol=atol, rtol=1e-4):
            raise PruningError(f"rebuilt model output {k!r} differs from the pruned model by "
                               f"{(v - got[k]).abs().max().item():.3g}")
    return rebuilt


def prune_step(model: StudentModel, keep: float, original: StudentModel, pcfg: PruneConfig,
               keep_heads: float | None = None) -> StudentModel:
    """Prune a copy of ``model`` to ``keep`` x the widths of ``original``; returns the rebuilt model.

    Layers already at or below the target are left alone, so ``keep`` is cumulative. Heads (or head
    dims) follow ``keep_heads`` (default ``keep``). Returns ``model`` itself when nothing changes.
    """
    keep_heads = keep if keep_heads is None else keep_heads
    import torch_pruning as tp

    m = copy.deepcopy(model).eval()
    orig_w = out_widths(original)
    orig_attn = _attentions(original)
    attn = _attentions(m)
    qkv = {id(lin) for a in attn.values() for lin in (a.q, a.k, a.v)}
    fixed = {id(x) for layer in _fixed_layers(m) for x in layer.modules()}
    ratios: dict[nn.Module, float] = {}
    for name, mod in m.named_modules():
        w = _out_width(mod)
        if w is None or id(mod) in qkv or id(mod) in fixed:
            continue
        want = min(w, _nearest(orig_w[name] * keep, pcfg.round_to))
        if want < w:
            # +0.5: torch-pruning keeps int(w * (1 - ratio)) channels; this makes that exactly `want`.
            ratios[mod] = 1.0 - (want + 0.5) / w
    head_ratios: dict[nn.Module, float] = {}
    for name, a in attn.items():
        o = orig_attn[name]
        if pcfg.attention == "heads":
            want_h = min(a.heads, max(pcfg.min_heads, int(round(o.heads * keep_heads))))
            if want_h < a.heads:
                # Head removal runs only for groups with a positive width ratio; with
                # prune_head_dims=False that ratio removes nothing else.
                for lin in (a.q, a.k, a.v):
                    ratios[lin] = 0.5
                head_ratios[a] = (a.heads - want_h) / a.heads - 1e-6  # ceil(ratio * heads) == removed
        else:
            want_d = min(a.qk_head, _nearest(o.qk_head * keep_heads, pcfg.round_to))
            if want_d < a.qk_head and a.qk_head == a.v_head:
                for lin in (a.q, a.k, a.v):
                    ratios[lin] = 1.0 - (want_d + 0.5) / a.qk_head
    tp_heads = {lin: a.heads for a in attn.values() for lin in (a.q, a.k, a.v)}
    if not ratios:
        return model
    with warnings.catch_warnings():
        # logit_scale is a scalar: torch-pruning notes it as unwrapped and (rightly) leaves it alone.
        warnings.filterwarnings("ignore", message=r"Unwrapped parameters detected: \['logit_scale'\]")
        pruner = tp.pruner.MetaPruner(
            m, example_inputs(m, batch=2), importance=tp.importance.GroupMagnitudeImportance(p=2),
            pruning_ratio=0.0, pruning_ratio_dict=ratios, ignored_layers=[*_fixed_layers(m), m.logit_scale],
            round_to=pcfg.round_to,
            num_heads=tp_heads, prune_num_heads=pcfg.attention == "heads", prune_head_dims=pcfg.attention == "head_dims",
            head_pruning_ratio_dict=head_ratios or None,
            forward_fn=lambda model, inputs: model(*inputs),
            # aux/attention_map reduces over channels: as a traced output it would pin the image
            # channels (torch-pruning never prunes a dimension a model output exposes).
            output_transform=lambda out: sum(v.float().sum() for k, v in out.items() if k != ATTENTION_MAP),
        )
    pruner.step()
    heads = {name: pruner.num_heads[a.q] for name, a in attn.items()}
    return rebuild_verified(m, heads, pruner.num_heads)


def _record(step: int, keep: float, model: StudentModel) -> dict[str, Any]:
    macs, params = count_macs(model)
    return {"step": step, "keep": round(keep, 4), "params": params, "macs": macs,
            "config": model.config.to_dict()}


def prune_student(model: StudentModel, pcfg: PruneConfig, progress: bool = True) -> PruneResult:
    """Prune step by step until ``pcfg.target`` holds (or ``min_keep`` is reached).

    Args:
        model: The trained student (not modified).
        pcfg: Pruning settings.
        progress: Print one line per step.

    Returns:
        PruneResult with the pruned model and the per-step history (params, MACs, latency).
    """
    if not isinstance(model, StudentModel):
        raise ConfigError(f"prune_student needs the registered student, got {type(model).__name__}")
    original = copy.deepcopy(model).eval()
    base = _record(0, 1.0, original)
    latency = pcfg.target.kind == "latency"
    base_timer = OrtTimer(original, pcfg.threads) if latency else None
    history = [base]
    current, reached, i = original, False, 0
    while True:
        i += 1
        keep = 1.0 - i * pcfg.step
        if keep < pcfg.min_keep - 1e-9:
            break
        cand = prune_step(current, keep, original, pcfg)
        if cand is current:
            continue
        rec = _record(i, keep, cand)
        if latency and base_timer is not None:
            base_ms, cand_ms = compare_latency([base_timer, OrtTimer(cand, pcfg.threads)], pcfg.latency_rounds,
                                               pcfg.latency_runs)
            rec.update(latency_ms=cand_ms, base_latency_ms=base_ms, ratio=cand_ms / base_ms)
        else:
            rec["ratio"] = rec["params"] / base["params"]
        history.append(rec)
        current = cand
        if progress:
            lat = f" latency {rec['latency_ms']:.3f} ms" if "latency_ms" in rec else ""
            print(f"prune step {i}: keep {keep:.2f} params {rec['params']:,} MACs {rec['macs'] / 1e6:.1f}M"
                  f"{lat} ratio {rec['ratio']:.3f} (target {pcfg.target.kind}={pcfg.target.ratio})")
        if rec["ratio"] <= pcfg.target.ratio:
            reached = True
            break
    return PruneResult(current, reached, history)
