"""Build the English ad word list that readability is measured with (``adfusion_edge/readability.py``).

The words are the word-start WordPiece tokens of the project tokenizer (bert-base-uncased) seen at
least ``MIN_COUNT`` times in real English ad text: the realtext train rows (Pitt slogans and OCR
train rows, Facebook ads; ``adfusion-edge data realtext``). The list ships in the package
(``adfusion_edge/assets/english_ad_words.txt``); this rebuilds it:

    python -m adfusion_edge.distill.data.english_words --rows runs/realtext_v1/train.jsonl
"""

from __future__ import annotations

import argparse
from pathlib import Path

from adfusion_edge.distill.data.manifest import read_manifest
from adfusion_edge.readability import MIN_COUNT, WORDS_FILE, english_words


def main(argv: list[str] | None = None) -> int:
    """Write the English ad word list from real text rows (the realtext train rows)."""
    from tokenizers import Tokenizer

    from adfusion_edge.tokenizer import resolve_tokenizer

    p = argparse.ArgumentParser(prog="python -m adfusion_edge.distill.data.english_words", description=main.__doc__)
    p.add_argument("--rows", type=Path, default=Path("runs/realtext_v1/train.jsonl"),
                   help="real ad text rows, a text manifest (adfusion-edge data realtext)")
    p.add_argument("--out", type=Path, default=WORDS_FILE)
    p.add_argument("--min-count", type=int, default=MIN_COUNT)
    a = p.parse_args(argv)
    tok = Tokenizer.from_file(resolve_tokenizer("bert-base-uncased"))
    words = english_words((r.text for r in read_manifest(a.rows, text_only=True) if r.text), tok, a.min_count)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} English ad words -> {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
