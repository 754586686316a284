"""Export wrapper: an AdModel's logits -> the probabilities every exported graph outputs.

Exported graphs (ONNX, TorchScript, TensorRT) output PROBABILITIES named exactly
``schema.output_names()``, so every runtime backend and the postprocessor see one format and no
runtime re-implements activations:

    single / ordinal head      softmax over labels             (B, K)
    multi head                 independent sigmoids            (B, K)
    monetary_span              softmax over the BIO tags       (B, L, 3)
    ctr_value                  sigmoid                         (B,)

Training-only ``aux/...`` outputs are dropped here and never reach a graph.
"""

from __future__ import annotations

import torch
from torch import nn

from adfusion_edge import io_contract, schema

INPUT_NAMES = io_contract.INPUT_NAMES  # the model contract (adfusion_edge/io_contract.py)


class ExportWrapper(nn.Module):
    """Wraps an AdModel so ``forward`` returns a tuple of probabilities in output_names() order.

    A tuple (not a dict) because torch.jit.trace and the ONNX exporter name outputs by position;
    the order is fixed by ``schema.output_names()``.

    Args:
        model: Any AdModel (its forward obeys distill/models/base.py).
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.names = schema.output_names()
        # Resolved once: the activation per output, looked up by kind from the schema.
        self._multi = {h.name for h in schema.HEADS if h.kind == "multi"}

    def forward(
        self, image: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        raw = self.model(image, input_ids, attention_mask)
        outs = []
        for h in schema.HEADS:
            logits = raw[h.name]
            outs.append(torch.sigmoid(logits) if h.name in self._multi else torch.softmax(logits, dim=-1))
        outs.append(torch.softmax(raw[schema.SPAN_OUTPUT], dim=-1))
        outs.append(torch.sigmoid(raw[schema.VALUE_OUTPUT]))
        return tuple(outs)


def wrap_for_export(model: nn.Module) -> ExportWrapper:
    """The eval-mode wrapper with gradients off (dropout off, BN frozen) ready for tracing."""
    model.eval()
    wrapper = ExportWrapper(model).eval()
    for p in wrapper.parameters():
        p.requires_grad_(False)
    return wrapper


def example_inputs(image_size: int, max_tokens: int, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Deterministic example inputs for tracing: random pixels, random ids with some padding."""
    g = torch.Generator().manual_seed(seed)
    image = torch.randint(0, 256, (batch, image_size, image_size, 3), dtype=torch.uint8, generator=g)
    input_ids = torch.randint(5, 50, (batch, max_tokens), dtype=torch.int64, generator=g)
    mask = torch.ones(batch, max_tokens, dtype=torch.int64)
    mask[:, max_tokens // 2:] = 0  # padding present, so masking paths are traced with real data
    input_ids = input_ids * mask
    return image, input_ids, mask
