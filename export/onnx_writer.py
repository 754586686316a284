"""FP32 ONNX export of an AdModel (through ExportWrapper: probabilities, schema output names).

Graph contract:
    inputs   image           uint8  (B, S, S, 3)   S = preprocess.image_size (fixed)
             input_ids       int64  (B, L)
             attention_mask  int64  (B, L)
    outputs  schema.output_names(): (B, K) per head, monetary_span (B, L, 3), ctr_value (B,)

B is dynamic on every input and output. L is FIXED to preprocess.max_tokens by default: the
runtime's AdTokenizer always pads to it, and the student reshapes its token stream with a static
L (B*L, D) for speed. ``dynamic_seq=True`` makes L dynamic (1..max_tokens) for models that slice
their position table by the actual length (e.g. tests/export/tiny_model.py), so a caller could pad
a batch only to its longest text.

Sibling Linear layers (q / k / v, the task heads) are merged into one GEMM + Split
(export/graph_merge.py): exact, standard ops, fewer nodes. Otherwise the file written is the plain,
portable graph (onnx.checker-verified): ORT applies its graph optimisations at session creation
for the execution provider actually used, because an offline-optimised model can contain CPU-only
fused ops that the CUDA / TensorRT providers reject.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import onnx
import torch

from adfusion_edge import io_contract, schema
from adfusion_edge.errors import ConfigError
from adfusion_edge.export.graph_merge import merge_sibling_linears
from adfusion_edge.export.graph_tidy import drop_empty_optional_inputs
from adfusion_edge.export.wrapper import example_inputs, wrap_for_export
from adfusion_edge.formats import Written
from adfusion_edge.io_contract import INPUT_NAMES

MIN_OPSET = 17
DEFAULT_OPSET = 17


def dynamic_axes(dynamic_seq: bool = False) -> dict[str, dict[int, str]]:
    """Per-input/output dynamic axes: batch everywhere, sequence on token inputs and the span output."""
    seq = {1: "seq"} if dynamic_seq else {}
    axes: dict[str, dict[int, str]] = {
        n: {0: "batch", **(seq if n in io_contract.TOKEN_INPUTS else {})} for n in io_contract.INPUT_NAMES
    }
    for name in schema.output_names():
        axes[name] = {0: "batch"}
    axes[schema.SPAN_OUTPUT] = {0: "batch", **seq}
    return axes


def export_onnx(model: torch.nn.Module, path: str | Path, opset: int = DEFAULT_OPSET,
                dynamic_seq: bool = False) -> Path:
    """Export ``model`` (an AdModel) to an FP32 ONNX file and check it.

    Args:
        model: The AdModel; its ``preprocess`` gives the image size and max tokens.
        path: Output ``.onnx`` file.
        opset: ONNX opset (>= 17: LayerNormalization is a single op from 17 on).
        dynamic_seq: Make the token axis dynamic (see module docstring).

    Returns:
        The written path.

    Raises:
        ConfigError: opset below 17.
    """
    if opset < MIN_OPSET:
        raise ConfigError(f"opset must be >= {MIN_OPSET}, got {opset}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pre = model.preprocess
    wrapper = wrap_for_export(model)
    args = example_inputs(pre.image_size, pre.max_tokens)
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript-based exporter is deprecated in favour of dynamo; it is still the one that
        # handles data-dependent masking reliably for small graphs. Its warnings are not actionable.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, args, buf, input_names=list(INPUT_NAMES), output_names=list(schema.output_names()),
            dynamic_axes=dynamic_axes(dynamic_seq), opset_version=opset, do_constant_folding=True,
            dynamo=False,
        )
    proto = onnx.load_model_from_string(buf.getvalue())
    proto.producer_name = "adfusion-edge"
    merge_sibling_linears(proto)  # q/k/v and the task heads as one GEMM each (see graph_merge)
    drop_empty_optional_inputs(proto)  # lets ORT fold each Pad into its Conv (see graph_tidy)
    _declare_output_shapes(proto, pre.max_tokens, dynamic_seq)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save_model(proto, str(path))
    return path


def _declare_output_shapes(proto: onnx.ModelProto, max_tokens: int, dynamic_seq: bool) -> None:
    """Write the contract's output shapes into the graph.

    The tracer cannot name dims that come out of reshapes with -1 (the student's (B*L, D) token
    stream) and emits ``Softmaxmonetary_span_dim_1``-style symbols; the shapes are known from the
    schema, so declare them: consumers (TensorRT profiles, bundle.json) read real sizes.
    """
    seq: int | str = "seq" if dynamic_seq else max_tokens
    known: dict[str, list[int | str]] = {h.name: ["batch", h.num_labels] for h in schema.HEADS}
    known[schema.SPAN_OUTPUT] = ["batch", seq, len(schema.SPAN_TAGS)]
    known[schema.VALUE_OUTPUT] = ["batch"]
    for out in proto.graph.output:
        dims = known[out.name]
        shape = out.type.tensor_type.shape
        del shape.dim[:]
        for d in dims:
            if isinstance(d, str):
                shape.dim.add().dim_param = d
            else:
                shape.dim.add().dim_value = d


def write(job: Any) -> Written:
    """The format table's writer for ``onnx``: the FP32 graph, or the INT8 one with ``int8``; with
    ``pack_weights`` an FP32 graph's large weights move to weights.npz (adfusion_edge/packed_weights.py):
    float16, or int8 for the tensors a per-tensor search finds the per-head gate allows
    (export/weight_precision.py).

    Args:
        job: An export.job.ExportJob (its ``onnx()`` exports, gates parity and quantizes).
    """
    written = job.onnx()
    if not job.option("pack_weights"):
        return written
    if written.precision != "fp32":
        raise ConfigError(f"--pack-weights packs an fp32 graph's weights; the graph written is {written.precision}")
    from adfusion_edge.errors import ParityError
    from adfusion_edge.export.onnx_tools import ort_outputs
    from adfusion_edge.export.parity import check_int8
    from adfusion_edge.export.weight_packing import load_for_packing, pack_onnx, packable
    from adfusion_edge.export.weight_precision import choose_int8, run_with_initializers

    # Rounded weights are a precision change: the INT8 gate (per-head top-1 agreement with FP32 and
    # the overall-score drop, on the held-out ads) decides, not the float tolerance. Float16 for
    # every tensor is the floor; the search (export/weight_precision.py) then moves the tensors that
    # barely change any output to int8.
    feeds, fp32_out, targets = job.check_set.feeds, job.fp32_outputs, job.check_set.targets
    job.say("packing weights (float16)")
    graph16, weights16, stats16 = pack_onnx(written.model, job.tmpdir / "packed-fp16")
    try:
        gate16 = check_int8(fp32_out, ort_outputs(graph16, feeds), targets)
    except ParityError as e:
        job.notes.append(f"packed weights in float16 fail the gate:\n{e.table}")
        raise ParityError("float16 packed weights fail the parity gate (export without --pack-weights)",
                          e.table) from None
    floats, exact = packable(load_for_packing(written.model))
    choice = choose_int8(graph16, floats, exact, feeds, fp32_out, targets, run_with_initializers, job.say)
    model, weights, stats, gate = graph16, weights16, stats16, gate16
    if choice.int8:
        job.say(f"packing weights ({len(choice.int8)} tensors int8)")
        mixed = pack_onnx(written.model, job.tmpdir / "packed-mixed", choice.int8)
        try:  # every held-out ad, read back from the file as it ships
            gate = check_int8(fp32_out, ort_outputs(mixed[0], feeds), targets)
            model, weights, stats = mixed
        except ParityError as e:
            job.notes.append(f"the chosen int8 tensors fail the gate on all held-out ads; float16 ships:\n{e.table}")
    job.metrics["packed_weights"] = {**stats, "parity": gate.to_dict(), "search_trials": choice.trials,
                                     "int8": list(choice.int8) if model is not graph16 else [],
                                     "fp16_weights_file_bytes": stats16["weights_file_bytes"]}
    return Written(model, "fp32", written.io, (*written.extra, weights))


def graph_io(path: str | Path) -> dict[str, list[dict]]:
    """Names, element types and shapes (dims as int or symbol) of a saved graph's inputs and outputs."""
    proto = onnx.load_model(str(path), load_external_data=False)

    def desc(values) -> list[dict]:
        out = []
        for v in values:
            t = v.type.tensor_type
            dims = [d.dim_param if d.dim_param else d.dim_value for d in t.shape.dim]
            out.append({"name": v.name, "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name,
                        "shape": dims})
        return out

    return {"inputs": desc(proto.graph.input), "outputs": desc(proto.graph.output)}
