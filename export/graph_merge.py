"""Merge sibling matrix multiplies: Linear layers that read the same tensor become one GEMM + Split.

The student's graph has groups of small Linear layers over one input: the q / k / v projections
of each text layer, the k / v projections of the fusion layer over the image regions, and the 13
task heads (+ the CTR value) over the fused vector. ONNX Runtime runs each as its own node, and at
batch 1 a ~1 ms model pays a fixed cost per node (kernel dispatch, output allocation and, with
intra-op threads, a worker wake-up) that is comparable to the arithmetic. One GEMM with the
weights concatenated along N does the same arithmetic in one call, and an INT8 model quantizes the
shared input once instead of once per projection (DynamicQuantizeMatMul recomputes the input's
range and re-quantizes it in every sibling).

The rewrite is exact (the same dot products, summed in the same order per output column), uses
only standard ONNX ops (Gemm / MatMul, Split), and is applied to the FP32 file every export and
benchmark writes, so FP32 and INT8 are compared on the same graph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

from adfusion_edge.export import graph_rules


@dataclass(frozen=True)
class _Member:
    index: int  # position in graph.node
    node: onnx.NodeProto
    weight: np.ndarray  # (K, N): what the node multiplies its input by
    bias: np.ndarray | None  # (N,) for a Gemm with C, else None


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _gemm_member(index: int, node: onnx.NodeProto, inits: dict[str, onnx.TensorProto]) -> _Member | None:
    """A plain Gemm (alpha = beta = 1, no transA, constant B and 1-D C): mergeable."""
    a = _attrs(node)
    if a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0 or a.get("transA", 0):
        return None
    if node.input[1] not in inits:
        return None
    w = numpy_helper.to_array(inits[node.input[1]])
    if w.ndim != 2:
        return None
    w = w.T if a.get("transB", 0) else w
    bias = None
    if len(node.input) > 2 and node.input[2]:
        if node.input[2] not in inits:
            return None
        bias = numpy_helper.to_array(inits[node.input[2]])
        if bias.shape != (w.shape[1],):  # a broadcast (1,) or (B, N) C is not a per-column bias
            return None
    return _Member(index, node, w, bias)


def _matmul_member(index: int, node: onnx.NodeProto, inits: dict[str, onnx.TensorProto]) -> _Member | None:
    """A MatMul by a constant 2-D weight (a Linear over a 3-D token stream): mergeable."""
    if node.input[1] not in inits:
        return None
    w = numpy_helper.to_array(inits[node.input[1]])
    return _Member(index, node, w, None) if w.ndim == 2 else None


def merge_sibling_linears(model: onnx.ModelProto, min_group: int = 2) -> int:
    """Rewrite, in place, every group of >= ``min_group`` sibling Gemms (or MatMuls) as one + Split.

    Siblings read the same input tensor, have constant weights of the same K and the same dtype.
    Gemm groups become one ``Gemm(transB=1)`` with the biases concatenated (zeros for members
    without one); MatMul groups one MatMul. A ``Split`` along the last axis then writes the
    original output names, so every consumer is untouched. The merged node takes the position of
    the group's first member (its input exists there; the constant weights exist everywhere).

    Args:
        model: An ONNX model (opset >= 13: Split takes its sizes as an input).
        min_group: Smallest group worth merging.

    Returns:
        Number of nodes removed (members merged minus the nodes added).
    """
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    groups: dict[tuple, list[_Member]] = {}
    for index, node in enumerate(g.node):
        if node.op_type == "Gemm":
            member = _gemm_member(index, node, inits)
        elif node.op_type == "MatMul":
            member = _matmul_member(index, node, inits)
        else:
            continue
        if member is not None:
            key = (node.op_type, node.input[0], member.weight.shape[0], member.weight.dtype.str)
            groups.setdefault(key, []).append(member)
    replace: dict[int, list[onnx.NodeProto]] = {}
    removed = 0
    for (op, source, _k, _dt), members in groups.items():
        if len(members) < min_group:
            continue
        first = members[0].node
        base = f"{first.name or first.output[0]}_siblings{len(members)}"
        weight = np.concatenate([m.weight for m in members], axis=1)
        sizes = np.array([m.weight.shape[1] for m in members], dtype=np.int64)
        g.initializer.append(numpy_helper.from_array(sizes, base + "/split_sizes"))
        if op == "Gemm":
            bias = np.concatenate([m.bias if m.bias is not None else np.zeros(m.weight.shape[1], m.weight.dtype)
                                   for m in members])
            g.initializer.append(numpy_helper.from_array(np.ascontiguousarray(weight.T), base + "/weight"))
            g.initializer.append(numpy_helper.from_array(bias.astype(weight.dtype), base + "/bias"))
            merged = helper.make_node("Gemm", [source, base + "/weight", base + "/bias"], [base + "/out"],
                                      name=base, transB=1)
            axis = 1
        else:
            g.initializer.append(numpy_helper.from_array(np.ascontiguousarray(weight), base + "/weight"))
            merged = helper.make_node("MatMul", [source, base + "/weight"], [base + "/out"], name=base)
            axis = -1
        split = helper.make_node("Split", [base + "/out", base + "/split_sizes"], [m.node.output[0] for m in members],
                                 name=base + "/split", axis=axis)
        replace[members[0].index] = [merged, split]
        for m in members[1:]:
            replace[m.index] = []
        removed += len(members) - 2
    if not replace:
        return 0
    # The members' own weights and biases are read by nothing now: set_nodes drops them.
    graph_rules.set_nodes(g, [new for i, n in enumerate(g.node) for new in replace.get(i, [n])])
    return removed
