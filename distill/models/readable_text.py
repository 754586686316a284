"""The theme's readability gate in the graph: the torch side of ``adfusion_edge/readability.py``.

The model's text side reads English only (``adfusion_edge/readability.py`` says how readability is
measured and what it measures on real text). Given German brochure copy, Vietnamese web copy or OCR
garbage, the theme zero-shot cosine still lands on some theme, with the confidence of a real
reading, and outvotes the ImageNet picture evidence in the theme's product of experts.
``text_weight`` scales the text's theme evidence down where readability is low
(``LiteStudentConfig.theme_readable_at``), so the picture decides there. The token classes are a
buffer of the graph: the exported model computes readability from its own ``input_ids``.

``python -m adfusion_edge.distill.data.english_words`` rebuilds the English ad word list from the
realtext train rows (``adfusion-edge data realtext``).
"""

from __future__ import annotations

import numpy as np
import torch

from adfusion_edge.readability import (
    ENGLISH,
    OTHER,
    load_words,
    token_classes,
)


def bert_vocab() -> dict[str, int]:
    """The project tokenizer's (bert-base-uncased WordPiece) token -> id table."""
    from tokenizers import Tokenizer

    from adfusion_edge.tokenizer import resolve_tokenizer

    return Tokenizer.from_file(resolve_tokenizer("bert-base-uncased")).get_vocab()


def bert_token_classes() -> np.ndarray:
    """``adfusion_edge.readability.token_classes`` of the project tokenizer with the packaged word list."""
    return token_classes(bert_vocab(), load_words())


def readability(classes: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """(B,) share of readable words among the alphabetic tokens, and (B,) whether there are any
    (``adfusion_edge.readability.readability``, in torch for the graph).

    Written with float sums (no bool reductions) so the exported graph stays plain ONNX.
    """
    c = classes[input_ids].to(torch.float32) * attention_mask.to(torch.float32)
    english = (c == ENGLISH).to(torch.float32).sum(-1)
    alpha = (c != OTHER).to(torch.float32).sum(-1)
    return english / alpha.clamp_min(1.0), alpha > 0


def text_weight(classes: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                readable_at: float) -> torch.Tensor:
    """(B, 1) weight of the text's theme evidence: min(1, readability / readable_at); 1 for a text with
    no alphabetic tokens (no text, or digits only: nothing is misread, and the model trained on
    blank-text rows as they are)."""
    r, has = readability(classes, input_ids, attention_mask)
    w = (r / readable_at).clamp(max=1.0)
    return torch.where(has, w, torch.ones_like(w))[:, None]
