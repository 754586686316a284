"""Which packed float tensors may be stored int8: a per-tensor search under the per-head gate.

Storing every weight int8 fails the gate on the heads that read the fused image features (ctr,
attention, shares, audience), yet most tensors barely move any output. So each float tensor is
rounded to int8 alone (the rest float16) and its damage measured: the mean squared change of every
head's outputs (multi-label heads included: the face detector's weights move only ``objects``), in
units of that head's FP32 variance. Tensors are then taken in order
of damage per byte saved, and a binary search finds the longest prefix that passes the gate.

Selection and confirmation use different ads: the search reads the even-indexed held-out ads, and
the chosen set must then also pass the gate on the odd-indexed ones, which the search never saw
(otherwise a search that stops right at the gate's edge would pass by selection alone). Where the
confirmation fails, the prefix shrinks until it passes. Every trial restores its weights in memory
and builds an ORT session on the same graph; no file is written until the choice is made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from adfusion_edge import io_contract, packed_weights, schema
from adfusion_edge.errors import ParityError
from adfusion_edge.export.onnx_tools import ort_cpu_session, session_outputs
from adfusion_edge.export.parity import check_int8


@dataclass
class PrecisionChoice:
    """The search's outcome.

    Attributes:
        int8: Names of the float tensors to store int8, in the order they were taken.
        damage: Per tensor, the damage measured with it alone in int8 (see module docstring).
        trials: Gate evaluations the binary search and the confirmation ran.
    """

    int8: list[str]
    damage: dict[str, float] = field(default_factory=dict)
    trials: int = 0


def _subset(arrays: Mapping[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in arrays.items()}


def damage(fp32: Mapping[str, np.ndarray], got: Mapping[str, np.ndarray]) -> float:
    """Sum over the heads of the mean squared output change over the FP32 output variance."""
    total = 0.0
    for h in (h.name for h in schema.HEADS):
        ref = fp32[h].astype(np.float64)
        total += float(((got[h] - ref) ** 2).mean() / max(ref.var(), 1e-12))
    return total


def choose_int8(graph: str | Path, floats: Mapping[str, np.ndarray], exact: Mapping[str, np.ndarray],
                feeds: Mapping[str, np.ndarray], fp32: Mapping[str, np.ndarray],
                targets: Mapping[str, np.ndarray] | None,
                run: Callable[[str | Path, Mapping[str, np.ndarray], Mapping[str, np.ndarray]], dict[str, np.ndarray]],
                say: Callable[[str], None] = lambda _m: None) -> PrecisionChoice:
    """The float tensors to store int8 (module docstring).

    Args:
        graph: The packed graph (its packed tensors marked external), which ``run`` loads.
        floats / exact: The packed float and non-float tensors (weight_packing.packable).
        feeds, fp32, targets: The held-out ads, the FP32 graph's outputs on them, their labels.
        run: (graph, restored initializers, feeds) -> outputs (run_with_initializers).
        say: Progress messages.
    """
    n = len(feeds[io_contract.IMAGE])
    pick, confirm = np.arange(0, n, 2), np.arange(1, n, 2)
    f16 = {k: v.astype(np.float16).astype(np.float32) for k, v in floats.items()}
    q8 = {k: packed_weights.unpack(packed_weights.pack_mixed({k: v}, [k]))[k] for k, v in floats.items()}
    pick_feeds, pick_fp32 = _subset(feeds, pick), _subset(fp32, pick)

    def outputs(int8: Sequence[str], idx_feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        weights = {**f16, **{k: q8[k] for k in int8}, **exact}
        return run(graph, weights, idx_feeds)

    def passes(int8: Sequence[str], which: np.ndarray) -> bool:
        sub_targets = _subset(targets, which) if targets is not None else None
        try:
            check_int8(_subset(fp32, which), outputs(int8, _subset(feeds, which)), sub_targets)
        except ParityError:
            return False
        return True

    say(f"weight precision: int8 damage of {len(floats)} tensors alone")
    hurt = {k: damage(pick_fp32, outputs([k], pick_feeds)) for k in floats}
    order = sorted(floats, key=lambda k: hurt[k] / max(floats[k].size, 1))
    lo, hi, trials = 0, len(order), 0  # the longest passing prefix lies in [lo, hi]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        trials += 1
        if passes(order[:mid], pick):
            lo = mid
        else:
            hi = mid - 1
    k = lo
    while k > 0:
        trials += 1
        if passes(order[:k], confirm):
            break
        k -= 1
    say(f"weight precision: {k} of {len(order)} tensors int8 ({trials} gate trials)")
    return PrecisionChoice(int8=order[:k], damage=hurt, trials=trials)


def run_with_initializers(graph: str | Path, weights: Mapping[str, np.ndarray], feeds: Mapping[str, np.ndarray],
                          batch: int = 64) -> dict[str, np.ndarray]:
    """Outputs of ``graph`` on the CPU provider (all optimisations) with its external tensors given in memory."""
    return session_outputs(ort_cpu_session(graph, initializers=weights), feeds, batch)


__all__: list[str] = ["PrecisionChoice", "choose_int8", "damage", "run_with_initializers"]
