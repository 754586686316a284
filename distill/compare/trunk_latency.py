"""Latency of candidate student trunks: pretrained EfficientNet-Lite0, full or truncated, at low resolution.

Every candidate is exported as the student would run it (uint8 NHWC image -> in-graph
normalisation -> trunk -> global average pool), in FP32 and in the project's ORT INT8 recipe
(export/quantize.py defaults, calibrated on AdSynth val ads), and timed with ONNX Runtime on the CPU
at batch 1 and 2 threads. All candidates, and the shipped default bundle's whole model as the
reference, run in the same paired rounds (export.timing.paired_rounds), so the ratios to the
reference hold on a shared machine even when the absolute times drift.

    python -m adfusion_edge.distill.compare.trunk_latency --calib runs/synth_vis \\
        --out reports/real_ads/trunk_latency.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from adfusion_edge.distill.models.base import ImageNormalize
from adfusion_edge.distill.models.efficientnet_lite import (
    LITE_MEAN,
    LITE_STD,
    EfficientNetLite,
    block_specs,
    load_lite_weights,
)
from adfusion_edge.export.onnx_tools import ort_cpu_session
from adfusion_edge.export.timing import paired_rounds, paired_speedup
from adfusion_edge.preprocess import prepare_image

DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "adfusion_edge" / "models" / "default"


class PooledTrunk(nn.Module):
    """uint8 NHWC -> (x - 127.5) / 127.5 -> Lite trunk -> GAP: the student's image features."""

    def __init__(self, trunk: EfficientNetLite):
        super().__init__()
        self.trunk = trunk
        self.normalize = ImageNormalize(LITE_MEAN, LITE_STD)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.trunk(self.normalize(image))[-1].mean((2, 3))


def candidate_name(blocks: int | None, size: int) -> str:
    return f"lite0_{'full' if blocks is None else f'b{blocks}'}_{size}"


def export_candidate(blocks: int | None, size: int, path: Path) -> int:
    """Export one candidate to ``path`` (batch 1); returns its parameter count."""
    trunk = EfficientNetLite("efficientnet_lite0", blocks)
    load_lite_weights(trunk)
    model = PooledTrunk(trunk).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, size, size, 3, dtype=torch.uint8),), str(path),
                          input_names=["image"], output_names=["features"], opset_version=17, dynamo=False)
    return sum(p.numel() for p in model.parameters())


def bundle_feed(bundle: Path) -> dict[str, np.ndarray]:
    """A batch-1 feed for the bundle's model: a zero image and a full-length token row."""
    info = json.loads((bundle / "bundle.json").read_text())
    feed = {}
    for spec in info["inputs"]:
        shape = [1 if s == "batch" else int(s) for s in spec["shape"]]
        feed[spec["name"]] = np.ones(shape, dtype=np.dtype(spec["dtype"]))
    return feed


def main(argv: Sequence[str] | None = None) -> int:
    from adfusion_edge.distill.evaluate.real_dev_vision import load_adsynth
    from adfusion_edge.export.quantize import quantize_onnx

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calib", required=True, help="AdSynth corpus: val ads calibrate the INT8 recipe")
    ap.add_argument("--blocks", default="5,8,11,15,full", help="MBConv blocks kept (full = all + head)")
    ap.add_argument("--sizes", default="96,128,160")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--per-round", type=int, default=25)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bundle", default=str(DEFAULT_BUNDLE), help="reference bundle (its whole model is timed)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    blocks = [None if b == "full" else int(b) for b in a.blocks.split(",")]
    sizes = [int(s) for s in a.sizes.split(",")]
    calib = load_adsynth(a.calib, "val", limit=32)[0]
    n_blocks = len(block_specs("efficientnet_lite0"))
    meta: dict[str, dict] = {}
    sessions, feeds = {}, {}
    with tempfile.TemporaryDirectory(prefix="trunk-latency-") as tmp:
        for b in tqdm(blocks, desc="export + INT8"):
            for size in sizes:
                name = candidate_name(b, size)
                fp32 = Path(tmp) / f"{name}.onnx"
                params = export_candidate(b, size, fp32)
                int8 = Path(tmp) / f"{name}_int8.onnx"
                batches = [{"image": prepare_image(im, size)[None]} for im in calib]
                quantize_onnx(fp32, int8, batches)
                feed = {"image": batches[0]["image"]}
                for prec, path in (("fp32", fp32), ("int8", int8)):
                    label = f"{name}/{prec}"
                    sessions[label] = ort_cpu_session(path, a.threads, spin=False)
                    feeds[label] = feed
                meta[name] = {"blocks": n_blocks if b is None else b, "head": b is None, "size": size,
                              "params": params, "fp32_bytes": fp32.stat().st_size, "int8_bytes": int8.stat().st_size}
        ref = "default_bundle/whole_model"
        sessions[ref] = ort_cpu_session(Path(a.bundle) / "model.onnx", a.threads, spin=False)
        feeds[ref] = bundle_feed(Path(a.bundle))
        calls = {k: (lambda s=s, f=feeds[k]: s.run(None, f)) for k, s in sessions.items()}
        times = paired_rounds(calls, a.rounds, a.per_round, shuffle_seed=0)
    rows = {}
    for label, blocks_ in times.items():
        flat = np.concatenate([np.asarray(b) for b in blocks_])
        rows[label] = {"p50_ms": float(np.median(flat)), "p99_ms": float(np.percentile(flat, 99)),
                       "vs_default_bundle": paired_speedup(times, ref, label)["speedup"]}
    for name in meta:
        rows[f"{name}/int8"]["int8_vs_fp32"] = paired_speedup(times, f"{name}/int8", f"{name}/fp32")
    out = {"threads": a.threads, "rounds": a.rounds, "per_round": a.per_round, "candidates": meta, "timings": rows}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    for label, r in rows.items():
        print(f"{label:32s} p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  x default {r['vs_default_bundle']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
