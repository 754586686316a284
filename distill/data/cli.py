"""``adfusion-edge data <sub-verb>``: each sub-verb lives in its own module (add_arguments / run)."""

from __future__ import annotations

import argparse
import importlib

SUBVERBS: dict[str, tuple[str, str]] = {
    "synth": ("adfusion_edge.distill.data.adsynth.cli", "generate an AdSynth corpus into Parquet shards"),
    "preview": ("adfusion_edge.distill.data.preview", "write a contact-sheet PNG of a corpus with labels"),
    "tokenizer": ("adfusion_edge.distill.data.cli_tokenizer", "train a WordPiece tokenizer on a corpus's text"),
    "pitt": ("adfusion_edge.distill.data.pitt", "convert Pitt Image Ads annotations to a JSONL manifest"),
    "ocr-cer": ("adfusion_edge.distill.data.ocr_eval", "run RapidOCR over a corpus split and report the CER"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="subverb", metavar="SUBVERB", required=True)
    for name, (module, help_text) in SUBVERBS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise  # a missing dependency inside the module is a real error
            continue  # sub-verb not built into this version
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        mod.add_arguments(p)


def run(args: argparse.Namespace) -> int:
    return int(importlib.import_module(args._module).run(args) or 0)
