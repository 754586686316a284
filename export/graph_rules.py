"""Graph inspection and rewrites for INT8: which nodes to leave in float, Gemm -> MatMul.

The rules (measured on the student and the tiny model with ORT profiling on an AVX-512 VNNI CPU,
see export/quantize.py for the numbers) exclude from quantization:

* the in-graph normalisation (Cast / Transpose / Mul / Sub between the uint8 image and the first
  Conv): a QuantizeLinear after it stops ORT from moving the transpose and running the
  elementwise ops in NCHWc; the Mul/Sub then cost ~0.7 ms each instead of ~25 us;
* the stem Conv (<= 4 input channels): int8 GEMM kernels gain nothing at K = 27 and the conv
  reading raw pixels is the most precision-sensitive layer; its QLinearConv took 3x the float time;
* the final head layers (the last Gemm/MatMul before every graph output): tiny, and each one's
  error goes straight into a probability;
* MatMuls of two activations (attention scores, attention x values): Q/DQ overhead dominates at
  ad-text lengths, and the softmax behind them is sensitive.

Softmax, LayerNormalization, Sigmoid, GELU are never quantized: only Conv / Gemm / MatMul are
in the op types handed to the quantizer.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

# Ops that only move or reshape data, or apply the output activation: walking back from a graph
# output through these reaches the head layer that produced it.
_PASS_THROUGH = {"Softmax", "Sigmoid", "Squeeze", "Unsqueeze", "Reshape", "Identity", "Flatten", "Transpose",
                 "Cast", "Add", "Split"}  # Split: the merged heads' GEMM (export/graph_merge.py)
_COMPUTE = {"Gemm", "MatMul"}


def _producers(graph: onnx.GraphProto) -> dict[str, onnx.NodeProto]:
    return {out: n for n in graph.node for out in n.output}


def _consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    cons: dict[str, list[onnx.NodeProto]] = {}
    for n in graph.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)
    return cons


def _initializers(graph: onnx.GraphProto) -> dict[str, onnx.TensorProto]:
    return {t.name: t for t in graph.initializer}


def _is_constant(name: str, inits: dict, producers: dict) -> bool:
    if name in inits:
        return True
    p = producers.get(name)
    return p is not None and p.op_type == "Constant"


def normalisation_nodes(model: onnx.ModelProto, image_input: str = "image") -> tuple[list[str], list[str]]:
    """Nodes between the image input and the first Conv(s), and the stem Conv(s) themselves.

    Returns:
        (normalisation node names, stem conv names whose weight has <= 4 input channels).
    """
    g = model.graph
    cons, inits = _consumers(g), _initializers(g)
    norm, stems, seen = [], [], set()
    frontier = [image_input]
    while frontier:
        tensor = frontier.pop()
        for n in cons.get(tensor, []):
            if n.name in seen:
                continue
            seen.add(n.name)
            if n.op_type == "Conv":
                w = inits.get(n.input[1])
                if w is not None and len(w.dims) == 4 and w.dims[1] <= 4:
                    stems.append(n.name)
                continue
            norm.append(n.name)
            frontier.extend(n.output)
    return norm, stems


def leading_convs(model: onnx.ModelProto, count: int) -> list[str]:
    """The first ``count`` Conv nodes after the stem, in graph order (the start of the CNN chain).

    Kept in float, they move the float -> INT8 boundary deeper into the CNN: on the student the
    first block (16 channels at 64 x 64) ran 2.5x slower as QLinearConv than as ORT's NCHWc float
    kernel, while the later, wider blocks gain (see export/quantize.py).
    """
    _, stems = normalisation_nodes(model)
    convs = [n.name for n in model.graph.node if n.op_type == "Conv" and n.name not in stems]
    return convs[:max(0, count)]


def head_nodes(model: onnx.ModelProto) -> list[str]:
    """The last Gemm/MatMul before each graph output (the head layers)."""
    g = model.graph
    prod = _producers(g)
    found: list[str] = []
    for out in g.output:
        stack, seen = [out.name], set()
        while stack:
            n = prod.get(stack.pop())
            if n is None or n.name in seen:
                continue
            seen.add(n.name)
            if n.op_type in _COMPUTE:
                if n.name not in found:
                    found.append(n.name)
            elif n.op_type in _PASS_THROUGH:
                stack.extend(n.input)
    return found


def activation_matmuls(model: onnx.ModelProto) -> list[str]:
    """MatMuls whose both inputs are activations (attention scores and attention x values)."""
    g = model.graph
    inits, prod = _initializers(g), _producers(g)
    return [n.name for n in g.node if n.op_type == "MatMul"
            and not any(_is_constant(i, inits, prod) for i in n.input[:2])]


def gemm_to_matmul(model: onnx.ModelProto, keep: set[str]) -> int:
    """Rewrite plain Gemms (alpha = beta = 1, no transA, constant B and C) as MatMul + Add in place.

    ORT's dynamic quantization handles MatMul but not Gemm; models whose token streams are 2-D
    (the student) export every Linear as Gemm. Nodes in ``keep`` (the head layers) stay Gemm.

    Returns:
        Number of Gemms rewritten.
    """
    g = model.graph
    inits = _initializers(g)
    new_nodes: list[onnx.NodeProto] = []
    count = 0
    for n in g.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        ok = (n.op_type == "Gemm" and n.name not in keep and attrs.get("alpha", 1.0) == 1.0
              and attrs.get("beta", 1.0) == 1.0 and not attrs.get("transA", 0) and n.input[1] in inits
              and (len(n.input) < 3 or n.input[2] in inits))
        if not ok:
            new_nodes.append(n)
            continue
        w = numpy_helper.to_array(inits[n.input[1]])
        if attrs.get("transB", 0):
            w = np.ascontiguousarray(w.T)
        w_name = n.input[1] + "_matmul"
        g.initializer.append(numpy_helper.from_array(w, w_name))
        has_bias = len(n.input) > 2 and n.input[2]
        mm_out = n.output[0] + "_matmul" if has_bias else n.output[0]
        new_nodes.append(onnx.helper.make_node("MatMul", [n.input[0], w_name], [mm_out], name=n.name + "_matmul"))
        if has_bias:
            new_nodes.append(onnx.helper.make_node("Add", [mm_out, n.input[2]], [n.output[0]], name=n.name + "_bias"))
        count += 1
    set_nodes(g, new_nodes)  # drops the transposed-away Gemm weights
    return count


def set_nodes(graph: onnx.GraphProto, nodes: list[onnx.NodeProto]) -> None:
    """Replace the graph's nodes and drop the initializers no node (or output) reads any more."""
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
