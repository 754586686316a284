"""Small rewrites of the exported graph that let ONNX Runtime apply its own fusions.

``drop_empty_optional_inputs``: the TorchScript exporter writes ``F.pad`` as ``Pad(x, pads, "")``,
an explicit empty name for the optional constant value. ONNX Runtime's Pad + Conv fusion (which
moves zero padding into the convolution's own ``pads``) skips a Pad with three inputs, so every
TF-"same" convolution of the EfficientNet-Lite trunk ran a separate Pad node and broke ORT's
NCHWc chain around it (17 Pads, with layout reorders before and after each). A trailing empty
input means "not given" in ONNX, so dropping it changes nothing but that.
"""

from __future__ import annotations

import numpy as np
import onnx


def drop_empty_optional_inputs(model: onnx.ModelProto) -> int:
    """Remove trailing empty-name inputs of every node, in place; returns how many were removed."""
    removed = 0
    for node in model.graph.node:
        while len(node.input) and node.input[-1] == "":
            del node.input[-1]
            removed += 1
    return removed


def constants_to_initializers(model: onnx.ModelProto, min_elements: int) -> int:
    """Turn every Constant node holding a tensor of ``min_elements``+ elements into an initializer of
    the same name, in place; returns how many moved.

    The TorchScript exporter writes module buffers and tensors built in ``forward`` as Constant
    nodes (the ImageNet prior tables, the colour lookup table, the face detector's weights), which
    the weight packer, reading initializers, never saw. As initializers they pack like any weight.
    ONNX Runtime treats both the same.
    """
    moved = 0
    keep = []
    for node in model.graph.node:
        value = next((a.t for a in node.attribute if a.name == "value"), None) if node.op_type == "Constant" else None
        if value is not None and len(node.output) == 1 and int(np.prod(value.dims)) >= min_elements:
            tensor = onnx.TensorProto()
            tensor.CopyFrom(value)
            tensor.name = node.output[0]
            model.graph.initializer.append(tensor)
            moved += 1
        else:
            keep.append(node)
    if moved:
        del model.graph.node[:]
        model.graph.node.extend(keep)
    return moved
