"""``adfusion-edge`` command line: one entry point, one module per verb.

Verbs are looked up in VERBS and imported only when used, so ``adfusion-edge analyze`` never pulls
in torch and a base install (no training extras) still runs the runtime verbs. Each verb module
defines ``add_arguments(parser)`` and ``run(args) -> int``; verbs with sub-verbs (``data synth``)
add their own subparsers inside ``add_arguments``.

The training verbs live in adfusion_edge.distill / adfusion_edge.export (they own that code); this
dispatcher names them only as strings, which keeps the import rules of ARCHITECTURE.md intact.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from adfusion_edge.errors import AdFusionError

# verb -> (module, one-line help)
VERBS: dict[str, tuple[str, str]] = {
    "data": ("adfusion_edge.distill.data.cli", "generate, preview and convert ad corpora"),
    "train": ("adfusion_edge.distill.train.cli", "train the teacher or a baseline from a config"),
    "evaluate": ("adfusion_edge.distill.evaluate.cli", "evaluate checkpoints; write Table 1/2 reports"),
    "distill": ("adfusion_edge.distill.kd.cli", "distil a teacher into the compact student"),
    "prune": ("adfusion_edge.distill.prune.cli", "structured pruning + KD fine-tuning"),
    "export": ("adfusion_edge.export.cli", "export a checkpoint to ONNX / TorchScript / TensorRT + INT8"),
    "analyze": ("adfusion_edge.cli.analyze", "analyse ad images with a model bundle"),
    "benchmark": ("adfusion_edge.cli.benchmark", "run the benchmark suites and write benchmarks/REPORT.md"),
}


def build_parser(verb_modules: dict[str, object] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adfusion-edge", description="Understand ad creatives on the edge.")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for verb, (_module, help_text) in VERBS.items():
        p = sub.add_parser(verb, help=help_text, description=help_text)
        if verb_modules and verb in verb_modules:
            verb_modules[verb].add_arguments(p)  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verb = argv[0] if argv and not argv[0].startswith("-") else None
    modules: dict[str, object] = {}
    if verb in VERBS:
        try:
            modules[verb] = importlib.import_module(VERBS[verb][0])
        except ModuleNotFoundError as e:
            # A missing optional dependency (torch for `train`) is a user-facing setup error.
            print(f"adfusion-edge {verb}: needs a package that is not installed: {e.name} "
                  f"(install the extras: pip install 'adfusion-edge[train,export]')", file=sys.stderr)
            return 2
    parser = build_parser(modules)
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 0
    try:
        return int(modules[args.verb].run(args) or 0)  # type: ignore[attr-defined]
    except AdFusionError as e:
        print(f"adfusion-edge {args.verb}: error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"adfusion-edge {args.verb}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
