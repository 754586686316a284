"""``adfusion-edge prune --model CKPT --target params=0.5|latency=0.7 --out DIR [--finetune-steps N]``.

Writes ``DIR/pruned/`` (checkpoint: config with the new widths + safetensors), ``DIR/prune_report.json``
(per-step params, MACs, measured latency) and, with ``--finetune-steps N``, a KD fine-tuning run in
``DIR/finetune/`` (its ``last/`` and ``best/`` checkpoints). Fine-tuning distils from ``--teacher``
or, by default, from the unpruned student itself, and reads its data (and optional ``distill:``
section) from ``--config``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from adfusion_edge.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="student checkpoint directory (or run dir)")
    parser.add_argument("--target", required=True, help="params=R or latency=R, 0 < R < 1 (x the original)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--finetune-steps", type=int, default=0, help="KD fine-tuning steps after pruning (0 = none)")
    parser.add_argument("--teacher", help="teacher checkpoint for fine-tuning (default: the unpruned student)")
    parser.add_argument("--config", help="training config (data section, optional distill: section) for fine-tuning")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a fine-tuning config value with a dotted key (repeatable)")
    parser.add_argument("--attention", choices=("heads", "head_dims"), default="heads",
                        help="prune whole attention heads (default) or per-head dims")
    parser.add_argument("--step", type=float, default=0.05, help="width removed per step (fraction of original)")
    parser.add_argument("--threads", type=int, default=2, help="ORT threads for latency targets")
    parser.add_argument("--round-to", dest="round_to", type=int, default=8,
                        help="channel counts become multiples of this (8; 16 suits AVX-512 int8 kernels)")
    parser.add_argument("--no-progress", action="store_true", help="quiet")


def run(args: argparse.Namespace) -> int:
    from adfusion_edge.distill.models.checkpoint import find_checkpoint, load_model, save_model
    from adfusion_edge.distill.prune.pruner import PruneConfig, PruneTarget, prune_student

    if args.finetune_steps < 0:
        raise ConfigError(f"--finetune-steps must be >= 0, got {args.finetune_steps}")
    if args.finetune_steps and not args.config:
        raise ConfigError("--finetune-steps needs --config (its data section says what to fine-tune on)")
    pcfg = PruneConfig(PruneTarget.parse(args.target), step=args.step, attention=args.attention, threads=args.threads,
                       round_to=args.round_to)
    src = find_checkpoint(args.model)
    model = load_model(src)
    result = prune_student(model, pcfg, progress=not args.no_progress)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tok = src / "tokenizer.json"
    report = {"source": str(src), "target": args.target, "reached": result.reached, "attention": args.attention,
              "history": result.history}
    save_model(result.model, out / "pruned", info={"pruning": {k: v for k, v in report.items() if k != "history"},
                                                    "params": result.history[-1]["params"]},
               tokenizer=tok if tok.is_file() else None)
    (out / "prune_report.json").write_text(json.dumps(report, indent=2))
    summary = {"pruned": str(out / "pruned"), "reached": result.reached, "params": result.history[-1]["params"],
               "params_before": result.history[0]["params"], "macs": result.history[-1]["macs"],
               "macs_before": result.history[0]["macs"]}
    if "latency_ms" in result.history[-1]:
        summary.update(latency_ms=result.history[-1]["latency_ms"],
                       latency_before_ms=result.history[-1]["base_latency_ms"])
    if args.finetune_steps:
        from adfusion_edge.distill.kd.distiller import distill, load_distill_config

        overrides = [*args.overrides, f"max_steps={args.finetune_steps}"]
        if tok.is_file():
            overrides.insert(0, f"data.tokenizer={json.dumps(str(tok))}")
        cfg, dcfg = load_distill_config(args.config, overrides, out_dir=str(out / "finetune"),
                                        preprocess=result.model.preprocess.to_dict())
        ft = distill(cfg, dcfg, args.teacher or str(src), model=result.model, progress=not args.no_progress)
        summary["finetuned"] = str(ft.best_dir or ft.last_dir)
    print(json.dumps(summary))
    return 0
