"""Check a loaded model against its bundle: the real signature, then a smoke inference.

bundle.json can say anything; what counts is the graph the runtime loaded. After a backend has
loaded the model, :func:`check_loaded_model` compares the runtime's inputs and outputs (names,
dtypes, shapes) with the ones bundle.json declares (which load_bundle already matched against
the label schema and the preprocessing sizes), then runs one inference on exactly what Analyzer
feeds: a ``(2, S, S, 3)`` uint8 image batch and the tokenizer's output at ``max_tokens`` tokens,
one row holding the tokenizer's largest id (a tokenizer bigger than the model's embedding fails
here, not at the first ad). Every output must come back with the schema's class count, finite,
as probabilities, and depending on the input (the two ads may not get identical answers). Any
difference is a BundleError naming the model file.

What no check inside a bundle can catch: someone who may rewrite bundle.json can swap in another
working model of the same signature and record its hashes; that needs a signature from outside
the bundle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from adfusion_edge import schema
from adfusion_edge.bundle import Bundle, TensorSpec, expected_outputs
from adfusion_edge.errors import BundleError

# Probability rows of single-label heads sum to 1; fp16 engines round each term.
_SUM_TOL = 1e-2


def _same_shape(declared: Sequence[int | str], real: Sequence[int | str]) -> bool:
    if not real:  # TorchScript files carry no shapes
        return True
    return len(declared) == len(real) and all(
        a == b or isinstance(a, str) and isinstance(b, str) for a, b in zip(declared, real, strict=True))


def compare_signature(bundle: Bundle, real_inputs: Sequence[TensorSpec], real_outputs: Sequence[TensorSpec]) -> None:
    """Declared (bundle.json) vs real (runtime) inputs and outputs.

    Raises:
        BundleError: a declared tensor the model lacks, one the model needs that is not declared,
            or another dtype / shape.
    """
    f = bundle.model_file
    real_in = {t.name: t for t in real_inputs}
    real_out = {t.name: t for t in real_outputs}
    undeclared = sorted(set(real_in) - {t.name for t in bundle.inputs})
    if undeclared:
        raise BundleError(f"{f}: the model needs inputs bundle.json does not declare: {undeclared}")
    for kind, declared, real in (("input", bundle.inputs, real_in), ("output", bundle.outputs, real_out)):
        for d in declared:
            r = real.get(d.name)
            if r is None:
                raise BundleError(f"{f}: bundle.json declares {kind} {d.name!r}, the model has "
                                  f"{sorted(real)}")
            if r.dtype != d.dtype or not _same_shape(d.shape, r.shape):
                raise BundleError(f"{f}: {kind} {d.name!r} is {r.dtype} {list(r.shape)} in the model, "
                                  f"{d.dtype} {list(d.shape)} in bundle.json")


def smoke_feeds(bundle: Bundle, tokenizer) -> dict[str, np.ndarray]:
    """Two ads as Analyzer would feed them: black + white image, empty text + the largest token id."""
    s = bundle.preprocess.image_size
    image = np.zeros((2, s, s, 3), np.uint8)
    image[1] = 255
    tb = tokenizer.encode(["", ""])
    ids, mask = tb.input_ids.copy(), tb.attention_mask.copy()
    ids[1, 1:-1] = tokenizer.vocab_size - 1
    mask[1] = 1
    return {"image": image, "input_ids": ids, "attention_mask": mask}


def check_outputs(bundle: Bundle, outputs: Mapping[str, np.ndarray], batch: int) -> None:
    """Every output present, of the schema's shape, finite, and a probability."""
    f = bundle.model_file
    shapes = expected_outputs(bundle.preprocess.max_tokens)
    for name, rest in shapes.items():
        if name not in outputs:
            raise BundleError(f"{f}: smoke inference returned no output {name!r} (got {sorted(outputs)})")
        out = np.asarray(outputs[name])
        if out.shape != (batch, *rest):
            raise BundleError(f"{f}: output {name!r} has shape {list(out.shape)} on Analyzer's inputs; the label "
                              f"schema needs {[batch, *rest]}")
        if not np.isfinite(out).all() or out.min(initial=0) < 0 or out.max(initial=0) > 1:
            raise BundleError(f"{f}: output {name!r} is not a probability (range "
                              f"{float(np.min(out)):g}..{float(np.max(out)):g})")
    # The two smoke ads differ in every pixel and token: a model that answers both alike on every
    # output ignores its inputs (a constant-answer graph swapped in with the same signature).
    if all(np.array_equal(np.asarray(outputs[n])[0], np.asarray(outputs[n])[1]) for n in shapes):
        raise BundleError(f"{f}: the model gives the same outputs for a black image without text and a white "
                          f"image full of tokens: its answers do not depend on its inputs")
    for h in schema.HEADS:
        if h.kind != "multi":
            sums = np.asarray(outputs[h.name], np.float64).sum(-1)
            if np.abs(sums - 1).max() > _SUM_TOL:
                raise BundleError(f"{f}: head {h.name!r} rows sum to {sums.tolist()}, not 1 (not a softmax over "
                                  f"{h.num_labels} classes)")


def check_loaded_model(bundle: Bundle, backend, tokenizer) -> None:
    """:func:`compare_signature` then a smoke inference on Analyzer's inputs (module docstring).

    Raises:
        BundleError: naming the model file and what differs.
    """
    compare_signature(bundle, backend.inputs, backend.outputs)
    feeds = smoke_feeds(bundle, tokenizer)
    try:
        outputs = backend.infer(feeds)
    except Exception as e:  # ORT InvalidArgument / Fail, torch RuntimeError, KeyError from a renamed tensor
        raise BundleError(f"{bundle.model_file}: smoke inference on Analyzer's inputs failed: "
                          f"{type(e).__name__}: {e}") from None
    check_outputs(bundle, outputs, batch=2)
