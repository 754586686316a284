"""Peak memory of hostile-but-accepted inputs: 7000x7000 16-bit and RGBA PNGs, a 4 M-character text.

    python benchmarks/input_memory.py [--model BUNDLE]

Each case runs in a fresh process: load the Analyzer, analyse one small ad (the working set),
read the peak RSS, analyse the case, read the peak RSS again. The goal (bad-input hardening):
the extra peak stays within 4x the input's decoded RGB size (plus the model's working set,
already in the first reading). Building the test PNG raises the first reading (peak RSS only
grows), so the RGBA figure is a lower bound. Prints one line per case.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time

CASES = ("png16_7000", "rgba_7000", "text_4m")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _case(name: str, model: str | None) -> dict:
    import numpy as np
    from PIL import Image

    from adfusion_edge import Analyzer

    small = io.BytesIO()
    Image.new("RGB", (128, 128), (200, 30, 30)).save(small, "PNG")
    if name == "png16_7000":
        buf = io.BytesIO()
        Image.fromarray(np.full((7000, 7000), 40000, np.uint16)).save(buf, "PNG")
        image, text, decoded_rgb = buf.getvalue(), "x", 7000 * 7000 * 3
    elif name == "rgba_7000":
        arr = np.zeros((7000, 7000, 4), np.uint8)
        arr[..., 0] = (np.arange(7000) % 256)[:, None]
        arr[..., 3] = (np.arange(7000) % 256)[None, :]
        buf = io.BytesIO()
        Image.fromarray(arr, "RGBA").save(buf, "PNG", compress_level=1)
        del arr
        image, text, decoded_rgb = buf.getvalue(), "x", 7000 * 7000 * 3
    else:
        image, text, decoded_rgb = small.getvalue(), "pizza " * 700_000, 128 * 128 * 3
    a = Analyzer(model, device="cpu", threads=1, ocr=False)
    a.run(small.getvalue(), text="warm up")
    base = _peak_mb()
    t0 = time.perf_counter()
    r = a.run(image, text=text)
    return {"case": name, "input_bytes": len(image) + len(text), "decoded_rgb_mb": decoded_rgb / 2**20,
            "working_set_mb": base, "extra_peak_mb": _peak_mb() - base, "seconds": time.perf_counter() - t0,
            "text_truncated": r.text_truncated}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # the child process
    args = ap.parse_args()
    if args.case:
        print(json.dumps(_case(args.case, args.model)))
        return
    for name in CASES:
        cmd = [sys.executable, __file__, "--case", name] + (["--model", args.model] if args.model else [])
        row = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        ratio = (f"{row['extra_peak_mb'] / row['decoded_rgb_mb']:.2f}x decoded RGB" if row["case"] != "text_4m"
                 else "text: the image is 128 px")
        print(f"{row['case']:12s} input {row['input_bytes'] / 1e3:9.1f} kB  decoded RGB {row['decoded_rgb_mb']:7.1f} MB  "
              f"working set {row['working_set_mb']:6.0f} MB  extra peak {row['extra_peak_mb']:7.1f} MB "
              f"({ratio})  {row['seconds']:.2f} s  truncated={row['text_truncated']}")


if __name__ == "__main__":
    main()
