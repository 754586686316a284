"""all-MiniLM-L6-v2 as a sentence encoder (mean pooling, L2-normalised): the space the zero-shot label
priors, the static token embeddings and the open-vocabulary scorer are measured against."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from adfusion_edge.pretrained import minilm_dir

Encoder = Callable[[Sequence[str]], np.ndarray]


def minilm_encoder(threads: int = 2) -> Encoder:
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling, L2-normalised), as the teacher reads text."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    torch.set_num_threads(threads)
    d = minilm_dir()
    model = AutoModel.from_pretrained(str(d), local_files_only=True).eval()
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    tok.enable_truncation(128)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")

    def encode(texts: Sequence[str]) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for s in range(0, len(texts), 64):
                encs = tok.encode_batch(list(texts[s:s + 64]))
                ids = torch.tensor([e.ids for e in encs])
                mask = torch.tensor([e.attention_mask for e in encs])
                h = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
                m = mask.unsqueeze(-1).float()
                v = (h * m).sum(1) / m.sum(1).clamp(min=1)
                out.append(torch.nn.functional.normalize(v, dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, 384), np.float32)

    return encode
