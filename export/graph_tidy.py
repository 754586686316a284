"""Small rewrites of the exported graph that let ONNX Runtime apply its own fusions.

``drop_empty_optional_inputs``: the TorchScript exporter writes ``F.pad`` as ``Pad(x, pads, "")``,
an explicit empty name for the optional constant value. ONNX Runtime's Pad + Conv fusion (which
moves zero padding into the convolution's own ``pads``) skips a Pad with three inputs, so every
TF-"same" convolution of the EfficientNet-Lite trunk ran a separate Pad node and broke ORT's
NCHWc chain around it (17 Pads, with layout reorders before and after each). A trailing empty
input means "not given" in ONNX, so dropping it changes nothing but that.
"""

from __future__ import annotations

import onnx


def drop_empty_optional_inputs(model: onnx.ModelProto) -> int:
    """Remove trailing empty-name inputs of every node, in place; returns how many were removed."""
    removed = 0
    for node in model.graph.node:
        while len(node.input) and node.input[-1] == "":
            del node.input[-1]
            removed += 1
    return removed
