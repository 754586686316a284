"""Build the INT8 detector / recogniser shipped in adfusion_edge/ocr/models/ (see adfusion_edge/ocr/int8.py).

    python benchmarks/ocr_build_int8.py [--part det|rec] [--pages 16] [--synth 8] [--out adfusion_edge/ocr/models]

Calibration images: text-dense pages rendered by benchmarks/ocr_pages.py, numbered from 500 (the
race uses pages from 0, so calibration and race images differ), and AdSynth ``train`` ads at
1,000 px. No real-ad dev image is used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ocr_compare import adsynth_ads  # noqa: E402
from ocr_pages import dense_pages  # noqa: E402

from adfusion_edge.ocr.int8 import MODEL_DIR, build_int8  # noqa: E402

PAGE_START = 500


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=16)
    ap.add_argument("--synth", type=int, default=8)
    ap.add_argument("--out", default=str(MODEL_DIR))
    ap.add_argument("--part", default="det", choices=("det", "rec"))
    ap.add_argument("--crops", type=int, default=64, help="recogniser calibration crops")
    a = ap.parse_args(argv)
    imgs = [img for _, img, _, _ in dense_pages(a.pages, start=PAGE_START)]
    imgs += [img for _, img, _ in adsynth_ads("train", a.synth, size=1000)]
    note = (f"{a.pages} text-dense pages (benchmarks/ocr_pages.py, from {PAGE_START}) + {a.synth} AdSynth "
            "train ads at 1000 px; no real-ad dev image")
    print(build_int8(a.part, imgs, a.out, sides=(640, 736), max_crops=a.crops, note=note))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
