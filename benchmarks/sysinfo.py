"""What the benchmarks ran on: CPU, cores, threads, RAM, GPU, library versions, date, git commit.

Collected once per run (benchmarks/conftest.py stores it in pytest-benchmark's ``machine_info``
under ``"adfusion"``) so REPORT.md describes the machine that produced its numbers, not the one
that rendered the report.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("python", "torch", "onnxruntime", "numpy", "adfusion-edge", "transformers", "onnx", "rapidocr",
            "pytest-benchmark")


# One implementation of the CPU name lookup, torch-free so a base install can run the runtime suites.
from adfusion_edge.runtimes.device import cpu_model  # noqa: E402, F401 - re-exported


def ram_gb() -> float | None:
    """Total RAM in GiB from /proc/meminfo."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask, which containers restrict), not the host's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def gpus() -> list[str]:
    """GPU names from nvidia-smi; empty when there is no NVIDIA driver."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def torch_cuda() -> bool | None:
    """torch.cuda.is_available(); None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return bool(torch.cuda.is_available())


def versions() -> dict[str, str]:
    """Installed versions of the packages that shape the numbers ("-" when absent)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES[1:]:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def git_commit(repo: Path = REPO) -> str:
    """Short HEAD commit, with "+dirty" when the tree has changes; "-" outside a git checkout."""
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "-"
    return head + ("+dirty" if dirty else "")


def collect(threads: dict[str, int | str] | None = None) -> dict[str, Any]:
    """Everything above as one JSON-able dict.

    Args:
        threads: Thread settings the benchmarks used, e.g. ``{"torch": 2, "ort_intra_op": 2}``.
    """
    return {
        "cpu": cpu_model(),
        "cores": usable_cores(),
        "logical_cpus_host": os.cpu_count(),
        "threads": dict(threads or {}),
        "ram_gb": ram_gb(),
        "gpus": gpus(),
        "torch_cuda": torch_cuda(),
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git_commit": git_commit(),
    }
