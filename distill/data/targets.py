"""Turn AdRecords into model inputs and training targets (numpy), batch by batch.

This is the contract between data and models/losses. For a batch of N records:

    image           uint8   (N, S, S, 3)      preprocess.prepare_image at the config's size
    input_ids       int64   (N, L)
    attention_mask  int64   (N, L)
    y/<head>        single/ordinal: int64 (N,) label index (0 where unknown)
                    multi:          float32 (N, K) multi-hot (zeros where unknown)
    m/<head>        bool (N,): True where the head's label is known; losses mask on it
    y/monetary_span int64 (N, L): BIO tag ids, IGNORE_INDEX (-100) on special tokens and on every
                    token of ads whose monetary label is unknown
    y/ctr_value     float32 (N,) (0 where unknown), m/ctr_value bool (N,)

Images are decoded with the runtime's own functions; a record whose image cannot be decoded
raises InvalidImageError here and the Dataset decides what to do (report + skip).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from adfusion_edge import io_contract, schema
from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.preprocess import PreprocessConfig, prepare_image
from adfusion_edge.tokenizer import IGNORE_INDEX, AdTokenizer, span_to_tags


def encode_targets(records: Sequence[AdRecord], tokens_offsets: np.ndarray, tokens_special: np.ndarray) -> dict:
    """Label dicts -> target arrays (see module docstring). Offsets/special come from AdTokenizer."""
    n = len(records)
    out: dict[str, np.ndarray] = {}
    for h in schema.HEADS:
        mask = np.zeros(n, bool)
        y = np.zeros((n, h.num_labels), np.float32) if h.kind == "multi" else np.zeros(n, np.int64)
        for i, r in enumerate(records):
            value = r.labels.get(h.name)
            if value is None:
                continue
            mask[i] = True
            if h.kind == "multi":
                y[i, schema.encode_label(h.name, value)] = 1.0
            else:
                y[i] = schema.encode_label(h.name, value)
        out[f"y/{h.name}"], out[f"m/{h.name}"] = y, mask
    L = tokens_offsets.shape[1]
    span = np.full((n, L), IGNORE_INDEX, np.int64)
    for i, r in enumerate(records):
        if r.labels.get("monetary") is not None:
            span[i] = span_to_tags(tokens_offsets[i], tokens_special[i], r.monetary_span)
    out[f"y/{schema.SPAN_OUTPUT}"] = span
    out[f"y/{schema.VALUE_OUTPUT}"] = np.array([r.ctr_value or 0.0 for r in records], np.float32)
    out[f"m/{schema.VALUE_OUTPUT}"] = np.array([r.ctr_value is not None for r in records], bool)
    return out


def encode_batch(records: Sequence[AdRecord], images: Sequence[np.ndarray] | None, tokenizer: AdTokenizer,
                 cfg: PreprocessConfig) -> dict:
    """Full numpy batch: model inputs + targets. ``images`` may be pre-decoded uint8 arrays."""
    if images is None:
        images = [prepare_image(r.image if r.image is not None else r.image_path, cfg.image_size) for r in records]
    tb = tokenizer.encode([r.text for r in records])
    batch = {
        io_contract.IMAGE: np.stack(images) if len(images) else np.zeros((0, cfg.image_size, cfg.image_size, 3), np.uint8),
        io_contract.INPUT_IDS: tb.input_ids,
        io_contract.ATTENTION_MASK: tb.attention_mask,
    }
    batch.update(encode_targets(records, tb.offsets, tb.special))
    return batch
