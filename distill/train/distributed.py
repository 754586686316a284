"""Where training runs: device, AMP mode, DDP process group (torchrun), seeding, LR schedule."""

from __future__ import annotations

import datetime
import math
import os
import random
from dataclasses import dataclass

import numpy as np
import torch

from adfusion_edge.distill.train.config import TrainConfig
from adfusion_edge.errors import BackendUnavailableError

DDP_TIMEOUT_MIN = 120


@dataclass(frozen=True)
class Runtime:
    """Resolved execution context of this process.

    Attributes:
        device: torch device of this rank.
        amp_dtype: autocast dtype, or None when AMP is off.
        rank / local_rank / world_size: DDP coordinates (0 / 0 / 1 without torchrun).
    """

    device: torch.device
    amp_dtype: torch.dtype | None
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that logs and writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Launched by torchrun with more than one process."""
        return self.world_size > 1

    def autocast(self) -> torch.autocast:
        """Mixed-precision context for forward + loss (a no-op when AMP is off)."""
        return torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                              enabled=self.amp_dtype is not None)

    def barrier(self) -> None:
        """Wait for every rank (no-op in a single process)."""
        if self.distributed:
            # NCCL wants to know the device; gloo (CPU) takes no device_ids.
            ids = [self.local_rank] if self.device.type == "cuda" else None
            torch.distributed.barrier(device_ids=ids)


def setup_runtime(cfg: TrainConfig) -> Runtime:
    """Pick the device and AMP mode; join the DDP group when launched by torchrun.

    torchrun sets WORLD_SIZE / RANK / LOCAL_RANK; with WORLD_SIZE > 1 we init the default process
    group (NCCL on CUDA, gloo on CPU) and pin this process to cuda:LOCAL_RANK.

    Raises:
        BackendUnavailableError: device "cuda" requested but no CUDA device is visible.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    want_cuda = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
    if want_cuda and not torch.cuda.is_available():
        raise BackendUnavailableError("device 'cuda' requested but torch sees no CUDA device")
    if want_cuda:
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    if world > 1 and not torch.distributed.is_initialized():
        # Rank 0 validates and writes checkpoints alone while the others wait in a barrier: allow
        # that to take longer than the default collective timeout (10 min for NCCL).
        torch.distributed.init_process_group(backend="nccl" if want_cuda else "gloo",
                                             timeout=datetime.timedelta(minutes=DDP_TIMEOUT_MIN))
    return Runtime(device, resolve_amp(cfg.amp, device), rank, local_rank, world)


def resolve_amp(mode: str, device: torch.device) -> torch.dtype | None:
    """AMP dtype for ``mode`` on ``device``: "auto" = bf16 where supported, else fp16; CPU: off."""
    if mode == "off" or device.type != "cuda":
        # CPU autocast exists but is slower than fp32 for these models on most CPUs.
        return None
    if mode == "fp16":
        return torch.float16
    if mode == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def teardown_runtime(rt: Runtime) -> None:
    """Leave the DDP process group this process joined (no-op in a single process)."""
    if rt.distributed and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed python, numpy and torch; optionally force deterministic kernels (exact CUDA resumes)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        # cuBLAS needs this workspace setting to be deterministic; must be set before first use.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = not deterministic
        torch.backends.cudnn.deterministic = deterministic


def lr_factor(step: int, warmup: int, total: int, schedule: str, min_ratio: float) -> float:
    """LR multiplier at optimizer step ``step`` (0-based): linear warm-up, then cosine/constant.

    Warm-up goes from 1/(warmup+1) to 1 so the very first step already moves the weights.
    """
    if step < warmup:
        return (step + 1) / (warmup + 1)
    if schedule == "constant" or total <= warmup:
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

