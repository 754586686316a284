"""The model's input contract: names, dtypes, shapes and layout of what every graph is fed.

The label schema (schema.py) fixes the OUTPUTS (``schema.output_names()``); this module fixes the
INPUTS. Export (the traced signature, dynamic axes), the runtimes (feeds, dummy inputs), training
and evaluation (the model's positional arguments), latency measurement, the benchmarks and the
bundle checks all read it, so an input is renamed or added in one place.

    image           uint8  (B, S, S, 3)  NHWC RGB, S = preprocess.image_size; the graph normalises
    input_ids       int64  (B, L)        WordPiece ids, L = preprocess.max_tokens, 0-padded
    attention_mask  int64  (B, L)        1 on real tokens, 0 on padding

Torch-free (numpy only): the runtime path imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class InputSpec:
    """One model input.

    Attributes:
        name: Graph input name (the model's positional argument of the same name).
        dtype: numpy dtype name.
        axes: Axis names; ``batch`` is always dynamic, ``image_size`` / ``max_tokens`` come from
            the model's preprocessing, integers are fixed.
        layout: Human-readable layout (documentation and error messages).
    """

    name: str
    dtype: str
    axes: tuple[str | int, ...]
    layout: str

    def shape(self, image_size: int, max_tokens: int, batch: int = 1) -> tuple[int, ...]:
        """Concrete shape for this preprocessing and batch."""
        sizes = {"batch": batch, "image_size": image_size, "max_tokens": max_tokens}
        return tuple(a if isinstance(a, int) else sizes[a] for a in self.axes)


INPUTS: tuple[InputSpec, ...] = (
    InputSpec("image", "uint8", ("batch", "image_size", "image_size", 3), "NHWC RGB"),
    InputSpec("input_ids", "int64", ("batch", "max_tokens"), "token ids, 0 = padding"),
    InputSpec("attention_mask", "int64", ("batch", "max_tokens"), "1 = token, 0 = padding"),
)
# Positional order of the model's forward(image, input_ids, attention_mask) and of graph inputs.
INPUT_NAMES: tuple[str, ...] = tuple(s.name for s in INPUTS)
IMAGE, INPUT_IDS, ATTENTION_MASK = INPUT_NAMES
TOKEN_INPUTS: tuple[str, ...] = tuple(s.name for s in INPUTS if "max_tokens" in s.axes)
SPEC_BY_NAME: dict[str, InputSpec] = {s.name: s for s in INPUTS}


def feeds_of(batch: Mapping[str, object]) -> dict[str, object]:
    """The model inputs of a batch dict (which may carry targets too), in INPUT_NAMES order."""
    return {n: batch[n] for n in INPUT_NAMES}


def positional(batch: Mapping[str, object]) -> tuple[object, ...]:
    """The model inputs of a batch dict as the positional arguments of forward()."""
    return tuple(batch[n] for n in INPUT_NAMES)


def example_feeds(image_size: int, max_tokens: int, batch: int = 1, seed: int = 0,
                  pad_from: float = 0.75) -> dict[str, np.ndarray]:
    """Deterministic random inputs of the contract's shapes and dtypes, with padding present.

    Args:
        pad_from: Fraction of the token axis after which the mask is 0 (padding is exercised).
    """
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, INPUTS[0].shape(image_size, max_tokens, batch), dtype=np.uint8)
    mask = np.ones((batch, max_tokens), dtype=np.int64)
    mask[:, int(max_tokens * pad_from):] = 0
    ids = rng.integers(5, 100, (batch, max_tokens), dtype=np.int64) * mask
    return {IMAGE: image, INPUT_IDS: ids, ATTENTION_MASK: mask}
