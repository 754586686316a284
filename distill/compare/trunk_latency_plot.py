"""Plot of the trunk latency race (trunk_latency.py's JSON): time relative to the default bundle."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def plot(figures: str | Path, png: str | Path) -> None:
    """Bars per candidate trunk (FP32 and INT8), as a multiple of the default bundle's whole model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = json.loads(Path(figures).read_text())
    names = list(d["candidates"])
    t = d["timings"]
    fig, ax = plt.subplots(figsize=(10, 4))
    x = range(len(names))
    for off, prec in ((-0.2, "fp32"), (0.2, "int8")):
        ax.bar([i + off for i in x], [t[f"{n}/{prec}"]["vs_default_bundle"] for n in names], 0.4, label=prec.upper())
    ax.axhline(1.0, color="k", lw=0.8, ls="--", label="default bundle, whole model")
    ax.set_xticks(list(x), [n.removeprefix("lite0_") for n in names], rotation=60, ha="right")
    ax.set_ylabel("batch-1 time / default bundle's (paired)")
    ax.set_title(f"EfficientNet-Lite0 trunks, ORT CPU, {d['threads']} threads (blocks kept _ resolution)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=110)


if __name__ == "__main__":
    plot(sys.argv[1], sys.argv[2])
