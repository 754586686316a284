"""One training step (forward + the paper's loss + backward + AdamW) for the time-per-epoch estimate.

The loss is the project's own (adfusion_edge.distill.train.losses.compute_losses with default weights:
task + ITC + MI terms wherever a model has the outputs for them) on a real batch built by the data
contract (distill/data/targets.encode_batch). Distillation's extra teacher forward is not in it, so
a student's epoch under KD costs more than the number reported here; the report says so.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from adfusion_edge import io_contract


def make_train_step(model, batch: dict[str, np.ndarray]) -> Callable[[], float]:
    """A closure running one optimizer step of a private copy of ``model`` on ``batch``.

    Args:
        model: An AdModel (left untouched: the step trains a deep copy).
        batch: Inputs and targets of one batch (distill/data/targets.py contract).

    Returns:
        ``step()`` -> total loss value.
    """
    import torch

    from adfusion_edge.distill.train.losses import LossWeights, compute_losses

    m = copy.deepcopy(model).train()
    # Export wrappers freeze parameters of the shared eval model; the private copy trains them all.
    m.requires_grad_(True)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
    tensors = {k: torch.from_numpy(v) for k, v in batch.items()}
    x = io_contract.positional(tensors)
    weights = LossWeights()

    def step() -> float:
        loss = compute_losses(m(*x), tensors, weights)["total"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step
