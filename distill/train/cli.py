"""``adfusion-edge train --config FILE [--set k=v ...] [--resume | --no-resume] [--out DIR]``.

Multi-GPU: ``torchrun --nproc_per_node=N -m adfusion_edge train --config FILE`` (DDP; see loop.py).
By default a run resumes from ``OUT/last`` when it exists; ``--resume`` requires it and
``--no-resume`` refuses to touch an existing run.
"""

from __future__ import annotations

import argparse
import json
import os

from adfusion_edge.distill.train.config import load_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``adfusion-edge train``."""
    parser.add_argument("--config", help="YAML or JSON TrainConfig file (default: built-in defaults)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value with a dotted key, e.g. --set optim.lr=1e-3 (repeatable)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", dest="resume", action="store_const", const=True, default="auto",
                       help="resume from OUT/last (error if there is none)")
    group.add_argument("--no-resume", dest="resume", action="store_const", const=False,
                       help="fail if OUT already holds a run instead of resuming it")
    parser.add_argument("--out", help="output directory (overrides out_dir)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")


def run(args: argparse.Namespace) -> int:
    """Run ``adfusion-edge train``; returns the exit code."""
    cfg = load_config(args.config, args.overrides, out_dir=args.out)
    if args.print_config:
        print(json.dumps(cfg.to_dict(), indent=2))
        return 0
    from adfusion_edge.distill.train.loop import train  # torch import only when training

    result = train(cfg, resume=args.resume, progress=not args.no_progress)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun only rank 0 reports
        print(json.dumps({"out_dir": str(result.out_dir), "steps": result.steps, "best_score": result.best_score,
                          "samples_per_s": round(result.samples_per_s, 2), "wall_s": round(result.wall_s, 1)}))
    return 0
