"""``adfusion-edge analyze IMG... [--text ...] [--json] [--device ...] [--model BUNDLE]``.

Every image is analysed even when some fail; failures are reported per file on stderr and the
exit code is 1 if any image failed (2 for a setup error: bad bundle, unknown device, bad
argument). A device fallback (``--device cuda`` without a GPU) is a warning on stderr and in each
report's ``fallback``; with ``--strict`` it is a setup error (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from adfusion_edge.errors import AdFusionError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", help="ad image files")
    parser.add_argument("--text", action="append", default=None,
                        help="the ad's text (skips OCR); give once for all images or once per image")
    parser.add_argument("--json", action="store_true", help="one JSON report per line")
    parser.add_argument("--model", default=None, help="bundle directory or a packaged size: small (the default) or nano (fastest, AdSynth-only)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or jetson")
    parser.add_argument("--backend", default=None, help="force onnxruntime, tensorrt or torchscript")
    parser.add_argument("--threads", type=int, default=None, help="inference threads")
    parser.add_argument("--strict", action="store_true", help="fail instead of falling back to another device")
    parser.add_argument("--no-ocr", action="store_true", help="without --text, read ads as text-less")
    parser.add_argument("--no-warmup", action="store_true",
                        help="skip the OCR + model warm-up at start (the first image then pays for it)")


def run(args: argparse.Namespace) -> int:
    from adfusion_edge.analyzer import Analyzer
    from adfusion_edge.runtimes.auto import DeviceFallbackWarning

    texts = args.text
    if texts is not None and len(texts) not in (1, len(args.images)):
        print(f"adfusion-edge analyze: error: {len(texts)} --text values for {len(args.images)} images "
              f"(give one, or one per image)", file=sys.stderr)
        return 2
    with warnings.catch_warnings():
        # Said once below, as a CLI line; logging still carries it for log collectors.
        warnings.simplefilter("ignore", DeviceFallbackWarning)
        analyzer = Analyzer(model=args.model, device=args.device, backend=args.backend, ocr=not args.no_ocr,
                            threads=args.threads, strict=args.strict,
                            warmup=not args.no_warmup and not args.no_ocr and texts is None)
    if analyzer.fallback:
        print(f"adfusion-edge analyze: warning: {analyzer.fallback} (--strict makes this an error)", file=sys.stderr)
    if analyzer.warmup_ms:
        print(f"warm-up (OCR engine + model): {analyzer.warmup_ms:.0f} ms", file=sys.stderr)
    failed = 0
    for i, path in enumerate(args.images):
        text = None if texts is None else texts[0 if len(texts) == 1 else i]
        try:
            report = analyzer.run(path, text=text)
        except AdFusionError as e:  # every per-file failure is typed (image_io's reading rule)
            failed += 1
            print(f"{path}: error: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps({"file": path, **report.to_dict()}, ensure_ascii=False))
        else:
            print(f"== {path}  ({report.provider}, {report.precision}, {report.timings.total_ms:.1f} ms)")
            print(report)
    return 1 if failed else 0
