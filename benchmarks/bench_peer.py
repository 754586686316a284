"""The peer baseline: a text-only DistilBERT classifier deployed the usual way.

"The usual way" = Hugging Face DistilBertModel + classification heads -> ``torch.onnx.export`` ->
ONNX Runtime's transformer optimizer (``optimize_model(model_type='bert')``: attention / LayerNorm /
GELU fusions) -> ``quantize_dynamic`` (INT8 weights, per-call activation scales). Hugging Face
Optimum would wrap these same three steps, but it cannot be installed alongside this project's
transformers version, so they are called directly.

It answers: how does our student INT8 pipeline compare with what a practitioner gets from a
standard text model and standard tooling, measured in the same run on the same machine?
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

# Full = DistilBERT-base dims (the paper's text branch); quick = a 2-layer config that exports fast.
FULL_DIMS = {"dim": 768, "n_layers": 6, "n_heads": 12, "hidden_dim": 3072}
QUICK_DIMS = {"dim": 256, "n_layers": 2, "n_heads": 4, "hidden_dim": 1024}
TEXT_INPUTS = ("input_ids", "attention_mask")


@dataclass
class PeerFiles:
    """The peer's exported files and facts about them.

    Attributes:
        fp32: Plain export.
        optimized: After the ORT transformer optimizer.
        int8: Optimized + dynamic INT8.
        params: Parameter count.
        dims: DistilBERT dims used.
        fused_ops: Fused operator counts the optimizer reports (empty if it fused nothing).
    """

    fp32: Path
    optimized: Path
    int8: Path
    params: int
    dims: dict
    fused_ops: dict


def _peer_module(vocab_size: int, max_tokens: int, dims: dict):
    import torch
    from torch import nn
    from transformers import DistilBertConfig, DistilBertModel

    from adfusion_edge import schema
    from adfusion_edge.distill.models.base import HeadSet
    from adfusion_edge.export.wrapper import wrap_for_export

    class PeerDistilBert(nn.Module):
        """DistilBERT + a head per schema output on the [CLS] state (the image input is ignored)."""

        def __init__(self) -> None:
            super().__init__()
            # Eager attention exports the MatMul/Softmax pattern ORT's optimizer fuses into one
            # Attention op; the SDPA export is left unfused (measured: no Attention fusion).
            cfg = DistilBertConfig(vocab_size=vocab_size, max_position_embeddings=max(512, max_tokens),
                                   attn_implementation="eager", **dims)
            self.bert = DistilBertModel(cfg)
            self.heads = HeadSet(dims["dim"])
            self.span = nn.Linear(dims["dim"], len(schema.SPAN_TAGS))

        def forward(self, image, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict:
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            out = self.heads(h[:, 0])
            out[schema.SPAN_OUTPUT] = self.span(h)
            return out

    class TextOnly(nn.Module):
        # The project's export wrapper gives the same probability outputs our models export.
        def __init__(self, model: nn.Module) -> None:
            super().__init__()
            self.wrapped = wrap_for_export(model)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
            return self.wrapped(None, input_ids, attention_mask)

    return TextOnly(PeerDistilBert())


def build_peer(workdir: Path, vocab_size: int, max_tokens: int, quick: bool) -> PeerFiles:
    """Export, optimize and quantize the peer DistilBERT into ``workdir``."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    from adfusion_edge import schema

    dims = QUICK_DIMS if quick else FULL_DIMS
    model = _peer_module(vocab_size, max_tokens, dims).eval()
    workdir.mkdir(parents=True, exist_ok=True)
    fp32, opt, int8 = workdir / "peer.onnx", workdir / "peer.opt.onnx", workdir / "peer.opt.int8.onnx"
    ids = torch.randint(5, vocab_size, (2, max_tokens))
    mask = torch.ones_like(ids)
    axes = {n: {0: "batch"} for n in TEXT_INPUTS + schema.output_names()}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exporter deprecation / tracer warnings
        torch.onnx.export(model, (ids, mask), str(fp32), input_names=list(TEXT_INPUTS),
                          output_names=list(schema.output_names()), dynamic_axes=axes, opset_version=17,
                          dynamo=False)
    optimized = optimize_model(str(fp32), model_type="bert", num_heads=dims["n_heads"], hidden_size=dims["dim"])
    fused = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
    optimized.save_model_to_file(str(opt))
    # Fused com.microsoft ops (SkipLayerNormalization, BiasGelu) defeat ONNX type inference; the
    # quantizer then needs to be told their outputs are float.
    quantize_dynamic(str(opt), str(int8), weight_type=QuantType.QInt8,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    params = sum(p.numel() for p in model.parameters())
    return PeerFiles(fp32, opt, int8, params, dims, fused)
