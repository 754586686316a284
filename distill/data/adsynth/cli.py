"""``adfusion-edge data synth``: generate an AdSynth corpus into Parquet shards + manifest.

    adfusion-edge data synth --n 1000000 --out data/adsynth1m --workers 16

Split sizes: train/val/test = --split-fractions of --n (default 80/10/10); the ``shift`` split
(held-out fonts and layouts) adds --shift-fraction x n ads. Re-running the same command resumes.
"""

from __future__ import annotations

import argparse
import json
import os

from adfusion_edge.distill.data.adsynth.config import SynthConfig
from adfusion_edge.errors import ConfigError


def _floats(field: str, text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ConfigError(f"SynthConfig.{field}: expected comma-separated numbers, got {text!r}") from None


def _names(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(x.strip() for x in text.split(",") if x.strip())


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n", type=int, required=True, help="in-distribution ads (train+val+test); shift is extra")
    p.add_argument("--out", required=True, help="output corpus directory")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=320, help="square image side in px (default 320)")
    p.add_argument("--shard-size", type=int, default=1000, help="ads per Parquet shard (default 1000)")
    p.add_argument("--jpeg-quality", type=int, default=90)
    p.add_argument("--split-fractions", default="0.8,0.1,0.1", help="train,val,test fractions of --n")
    p.add_argument("--shift-fraction", type=float, default=0.1, help="shift split size as a fraction of --n")
    p.add_argument("--generic-copy-share", type=float, default=0.2, help="share of picture-only ads")
    p.add_argument("--generic-picture-share", type=float, default=0.2, help="share of text-only ads")
    p.add_argument("--max-clutter", type=int, default=12)
    p.add_argument("--layouts", default=None, help="comma-separated in-distribution layouts (default: all)")
    p.add_argument("--shift-layouts", default=None, help="comma-separated held-out layouts")
    p.add_argument("--fonts", default=None, help="comma-separated in-distribution font families")
    p.add_argument("--shift-fonts", default=None, help="comma-separated held-out font families")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace) -> SynthConfig:
    kw = dict(
        seed=args.seed, size=args.size, shard_size=args.shard_size, jpeg_quality=args.jpeg_quality,
        split_fractions=_floats("split_fractions", args.split_fractions), shift_fraction=args.shift_fraction,
        generic_copy_share=args.generic_copy_share, generic_picture_share=args.generic_picture_share,
        max_clutter=args.max_clutter,
    )
    for name in ("layouts", "shift_layouts", "fonts", "shift_fonts"):
        v = _names(getattr(args, name))
        if v is not None:
            kw[name] = v
    return SynthConfig(**kw)


def run(args: argparse.Namespace) -> int:
    from adfusion_edge.distill.data.adsynth.corpus import generate_corpus

    cfg = config_from_args(args)
    summary = generate_corpus(cfg, args.n, args.out, workers=args.workers, progress=not args.no_progress)
    print(json.dumps(summary))
    return 0
