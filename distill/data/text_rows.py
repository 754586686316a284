"""Text-only real rows (``adfusion-edge data realtext`` manifests) mixed into AdSynth training.

Real ad text comes without its picture. Policy for a row without an image:

* the model gets a **blank image** (uniform mid-grey, ``BLANK_VALUE``): the forward pass is the
  ordinary one, so every model and the export contract stay as they are;
* only the **text-driven heads** the row labels are trained (theme, sentiment, emotion, keywords,
  audience, trust_safety, monetary, cta, ctr); the image-driven heads (``IMAGE_HEADS``: objects,
  dominant_colour, attention) are dropped from the row's labels, so the losses mask them exactly as
  they mask any head a manifest leaves out;
* ``ctr_value`` is dropped: the Facebook CTRs live on another scale (median about 11%) than
  AdSynth's, so only the row's ``ctr`` bucket (the Facebook ads' own tertiles) is kept.

:class:`MixedDataset` puts AdSynth ads and text rows in one index space with a fixed share of text
rows (``text_share`` of all training samples). The text rows used in epoch ``e`` are a window of a
seeded permutation of all rows that moves on every epoch, so a long run sees all of them while an
epoch keeps its length; the order is a pure function of (seed, epoch), so resumes stay exact. Its
``blocks()`` give each AdSynth row group a proportional slice of text rows, so the block shuffle of
the training sampler mixes them into every batch instead of running them back to back.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from torch.utils.data import Dataset

from adfusion_edge.distill.data.dataset import AdDataset, Sample
from adfusion_edge.distill.data.manifest import read_manifest
from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.errors import ConfigError
from adfusion_edge.preprocess import PreprocessConfig

IMAGE_HEADS = ("objects", "dominant_colour", "attention")
BLANK_VALUE = 127


def text_view(rec: AdRecord) -> AdRecord:
    """The record as training sees it: image-driven heads and ``ctr_value`` dropped (see module docstring)."""
    labels = {k: v for k, v in rec.labels.items() if k not in IMAGE_HEADS}
    return replace(rec, labels=labels, ctr_value=None, monetary_span=rec.monetary_span)


class TextRowDataset(AdDataset):
    """Text-only manifest rows as :class:`Sample` s with a blank image (OCR-noise augmentation as AdDataset).

    The row's text is the ad's own (printed or OCR) text, so ``text_source`` is always ``"gt"``.
    """

    def __init__(self, records: list[AdRecord], cfg: PreprocessConfig | None = None, ocr_noise_p: float = 0.0,
                 seed: int = 0):
        from adfusion_edge.distill.data.dataset import _ListSource

        super().__init__(_ListSource([text_view(r) for r in records]), cfg=cfg, text_source="gt",
                         ocr_noise_p=ocr_noise_p, seed=seed)
        s = self.cfg.image_size
        self._blank = np.full((s, s, 3), BLANK_VALUE, np.uint8)

    @classmethod
    def from_text_manifests(cls, paths: str | os.PathLike | Sequence[str | os.PathLike], **kwargs) -> TextRowDataset:
        """Rows of one or more text-only manifests (``read_manifest(..., text_only=True)``)."""
        paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        records = [r for p in paths for r in read_manifest(p, text_only=True)]
        if not records:
            raise ConfigError(f"data.text_rows: no rows in {', '.join(map(str, paths))}")
        return cls(records, **kwargs)

    def __getitem__(self, idx: int) -> Sample:
        idx = self._check(idx)
        rec, _ = self.source.get(idx)
        return Sample(self._text_view(rec, idx), self._blank)


class MixedDataset(Dataset):
    """AdSynth ads followed by ``n_text`` text rows per epoch (``text_share`` of the total).

    Args:
        synth: The AdSynth (or any image) dataset; indices ``[0, len(synth))``.
        text: The text rows; ``n_text`` of them fill indices ``[len(synth), len(self))``.
        text_share: Share of text rows among all samples of an epoch, in (0, 1).
        seed: Seed of the text-row permutation.
    """

    def __init__(self, synth: Dataset, text: TextRowDataset, text_share: float, seed: int = 0):
        if not 0.0 < text_share < 1.0:
            raise ConfigError(f"data.text_share must be in (0, 1) when text rows are mixed in, got {text_share}")
        self.synth, self.text, self.text_share = synth, text, float(text_share)
        n = len(synth)
        self.n_text = max(1, round(n * text_share / (1.0 - text_share)))
        self._perm = np.random.default_rng((seed, 0x7E27)).permutation(len(text))
        self.epoch = 0
        self.cfg = getattr(synth, "cfg", text.cfg)

    def __len__(self) -> int:
        return len(self.synth) + self.n_text

    @property
    def skipped(self) -> Counter:
        return getattr(self.synth, "skipped", Counter())

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        for ds in (self.synth, self.text):
            if hasattr(ds, "set_epoch"):
                ds.set_epoch(epoch)

    def text_index(self, k: int) -> int:
        """Row of ``self.text`` behind the ``k``-th text slot in the current epoch."""
        return int(self._perm[(k + self.epoch * self.n_text) % len(self._perm)])

    def is_text(self, idx: int) -> bool:
        return idx >= len(self.synth)

    def __getitem__(self, idx: int) -> Sample | None:
        idx = int(idx)
        n = len(self.synth)
        if idx < 0 or idx >= len(self):
            raise IndexError(f"index {idx} out of range for dataset of {len(self)}")
        return self.synth[idx] if idx < n else self.text[self.text_index(idx - n)]

    def blocks(self) -> list[list[int]]:
        """Each AdSynth block with its proportional slice of text slots (see module docstring)."""
        base = self.synth.blocks() if hasattr(self.synth, "blocks") else [range(len(self.synth))]
        n = len(self.synth)
        cuts = np.linspace(0, self.n_text, len(base) + 1).round().astype(int)
        return [list(b) + list(range(n + cuts[i], n + cuts[i + 1])) for i, b in enumerate(base)]
