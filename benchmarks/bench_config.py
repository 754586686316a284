"""Run settings shared by conftest and the suites: threads, batch sizes, quick mode, epoch size."""

from __future__ import annotations

import pytest

THREADS = 2
FULL_BATCHES = (1, 8, 64)
QUICK_BATCHES = (1, 8)
# AdFusion-1M, the paper's corpus: the Table 4 "training time per epoch" column is for this size.
DEFAULT_EPOCH_SIZE = 1_000_000


def is_quick(config: pytest.Config) -> bool:
    """True for ``--bench-quick`` runs."""
    return bool(config.getoption("--bench-quick", default=False))


def batch_sizes(config: pytest.Config) -> tuple[int, ...]:
    """Batch sizes the model suites sweep."""
    return QUICK_BATCHES if is_quick(config) else FULL_BATCHES
