"""A capped view of a dataset, for quick runs and sample-capped evaluations.

Lives with the datasets (not in train/) because training and evaluation both cap their data and
evaluate must not import train.
"""

from __future__ import annotations

from typing import Any

from torch.utils.data import Dataset


class FirstN(Dataset):
    """The first ``n`` samples of a dataset (quick runs), keeping blocks() and set_epoch()."""

    def __init__(self, dataset: Dataset, n: int):
        self.dataset, self.n = dataset, min(n, len(dataset))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self.dataset[i]

    def blocks(self) -> list[range]:
        inner = getattr(self.dataset, "blocks", lambda: [range(len(self.dataset))])()
        return [range(b.start, min(b.stop, self.n)) for b in inner if b.start < self.n]

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
