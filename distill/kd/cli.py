"""``adfusion-edge distill --teacher CKPT --config FILE [--set k=v ...] [--out DIR]``.

The config is a training config (see distill/train/config.py) with an optional ``distill:``
section (see distill/kd/distiller.py); the model defaults to the registered ``student``. Teacher
outputs are cached beside the corpus on first use (``--no-cache``: live teacher every batch).
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--teacher", required=True, help="teacher checkpoint directory (or a run dir: best/ or last/)")
    parser.add_argument("--config", help="YAML/JSON training config with an optional distill: section")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a value with a dotted key, e.g. --set distill.temperature=4 (repeatable)")
    parser.add_argument("--out", help="output directory (overrides out_dir)")
    parser.add_argument("--no-cache", action="store_true", help="run the teacher live instead of caching its outputs")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", dest="resume", action="store_const", const=True, default="auto",
                       help="resume from OUT/last (error if there is none)")
    group.add_argument("--no-resume", dest="resume", action="store_const", const=False,
                       help="fail if OUT already holds a run")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--print-config", action="store_true", help="print the resolved configs and exit")


def run(args: argparse.Namespace) -> int:
    from adfusion_edge.distill.kd.distiller import distill, load_distill_config

    overrides = list(args.overrides) + (["distill.cache=false"] if args.no_cache else [])
    cfg, dcfg = load_distill_config(args.config, overrides, out_dir=args.out)
    if args.print_config:
        print(json.dumps({**cfg.to_dict(), "distill": dcfg.to_dict()}, indent=2))
        return 0
    result = distill(cfg, dcfg, args.teacher, resume=args.resume, progress=not args.no_progress)
    print(json.dumps({"out_dir": str(result.out_dir), "steps": result.steps, "best_score": result.best_score,
                      "samples_per_s": round(result.samples_per_s, 2), "wall_s": round(result.wall_s, 1)}))
    return 0
