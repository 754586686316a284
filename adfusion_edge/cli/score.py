"""``adfusion-edge score --input DIR|MANIFEST.jsonl|FILE.parquet --output results.parquet``.

Batch scoring on Ray Data (extra ``[ray]``): a local Ray instance by default, a cluster with
``--address``. Per-item errors are rows of the output; a rerun skips what is already there.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True,
                        help="image folder, JSONL manifest (image, text, id) or Parquet file (image/path, text, id)")
    parser.add_argument("--output", required=True, help="output Parquet dataset (a folder of part files)")
    parser.add_argument("--model", default=None, help="bundle directory or a packaged size: small (the default) or nano (fastest, AdSynth-only)")
    parser.add_argument("--address", default=None, help="Ray cluster address (default: start a local instance)")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray instance")
    parser.add_argument("--concurrency", type=int, default=1, help="scoring actors (one Analyzer each)")
    parser.add_argument("--ocr-concurrency", type=int, default=1, help="OCR actors (items without text)")
    parser.add_argument("--batch-size", type=int, default=64, help="ads per model call")
    parser.add_argument("--threads", type=int, default=1, help="inference threads per actor")
    parser.add_argument("--actor-cpus", type=float, default=0.5,
                        help="logical CPUs Ray reserves per actor (below 1 leaves room for the write tasks)")
    parser.add_argument("--no-ocr", action="store_true", help="score items without text as text-less")
    parser.add_argument("--no-resume", action="store_true", help="refuse an output that already holds results instead of skipping them")


def run(args: argparse.Namespace) -> int:
    from adfusion_edge.score.job import ScoreJob, score

    job = ScoreJob(input=args.input, output=args.output, model=args.model, concurrency=args.concurrency,
                   ocr_concurrency=args.ocr_concurrency, batch_size=args.batch_size, threads=args.threads,
                   ocr=not args.no_ocr, resume=not args.no_resume, actor_cpus=args.actor_cpus)
    summary = score(job, address=args.address, num_cpus=args.num_cpus)
    print(f"scored {summary.scored}, errors {summary.errors}, skipped (already in the output) {summary.skipped}; "
          f"{summary.items_per_s:.1f} items/s -> {args.output}")
    return 0
