#!/usr/bin/env python3
"""Train every baseline + the teacher + ablations + an alpha/beta/gamma sweep, evaluate, report.

    python scripts/train_all.py --corpus /tmp/adsynth2k --preset cpu --image-size 96 --steps 300
    python scripts/train_all.py --corpus DATA --preset paper --epochs 10 --device cuda

Resumable: re-running the same command continues unfinished runs. See distill/train/suite.py.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from adfusion_edge.distill.train.suite import TABLE1_MODELS, run_suite, suite_from_args


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, help="shard corpus directory (with tokenizer.json)")
    p.add_argument("--runs-dir", dest="runs_dir", help="where run directories go (default runs/suite)")
    p.add_argument("--report-dir", dest="report_dir", help="report + tables + figures (default reports/teacher)")
    p.add_argument("--preset", choices=("cpu", "paper"), help="model scale (default cpu)")
    p.add_argument("--image-size", dest="image_size", type=int)
    p.add_argument("--max-tokens", dest="max_tokens", type=int)
    p.add_argument("--steps", dest="max_steps", type=int, help="optimizer steps per run (overrides --epochs)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", dest="batch_size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"))
    p.add_argument("--seed", type=int)
    p.add_argument("--models", nargs="+", choices=TABLE1_MODELS, help="Table 1 models (default: all)")
    p.add_argument("--no-ablations", dest="ablations", action="store_false", default=None)
    p.add_argument("--no-sweep", dest="sweep", action="store_false", default=None)
    p.add_argument("--no-pretrained-text", dest="pretrained_text", action="store_false", default=None,
                   help="skip the teacher initialised from pretrained all-MiniLM-L6-v2")
    p.add_argument("--splits", nargs="+")
    p.add_argument("--max-train-samples", dest="max_train_samples", type=int)
    p.add_argument("--max-eval-samples", dest="max_eval_samples", type=int)
    p.add_argument("--num-workers", dest="num_workers", type=int)
    p.add_argument("--no-progress", action="store_true")
    args = vars(p.parse_args(argv))
    progress = not args.pop("no_progress")
    command = "python scripts/train_all.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    report = run_suite(suite_from_args(args), command=command, progress=progress)
    print(f"report: {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
