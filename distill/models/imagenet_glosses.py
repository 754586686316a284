"""WordNet glosses of the ImageNet-1k classes: what each class *is*, not only what it is called.

A class's lemmas alone can mislead a sentence embedding: "shopping cart" lands on fashion (shop),
"butcher shop, meat market" on fashion, "bakery, bakeshop, bakehouse" on home. The WordNet 3.0
definition says what the thing is ("a shop in which meat and poultry (and sometimes fish) are
sold"), so ``imagenet_themes`` can embed "lemmas: gloss" instead (``source="glosses"``).

``distill/models/imagenet/imagenet1k_glosses.tsv`` holds, per class index, its synset id and gloss,
read from the WordNet 3.0 database by synset offset (ImageNet's ids are WordNet 3.0 noun offsets).
Rebuild it from the Debian package ``wordnet-base`` (WordNet 3.0, Princeton WordNet licence):

    apt-get install wordnet-base
    python -m adfusion_edge.distill.models.imagenet_glosses --wordnet /usr/share/wordnet
"""

from __future__ import annotations

import argparse
from functools import lru_cache
from pathlib import Path

from adfusion_edge.distill.models.imagenet_classes import CLASSES_FILE, imagenet_synsets, read_class_table

GLOSSES_FILE = CLASSES_FILE.with_name("imagenet1k_glosses.tsv")
HEADER = ("# index\twordnet_synset\tgloss (WordNet 3.0 definition, without its quoted examples). "
          "Source and licence: README.md beside this file")


def definition(data_line: str) -> str:
    """The definition part of a WordNet ``data.noun`` line (after ``|``; quoted usage examples dropped)."""
    gloss = data_line.split("|", 1)[1].strip()
    parts = [p.strip() for p in gloss.split(";")]
    kept = [p for p in parts if p and not p.startswith('"')]
    return "; ".join(kept) if kept else gloss


def read_glosses(wordnet_dir: Path) -> list[tuple[str, str]]:
    """(synset id, definition) for the 1,000 classes, read from ``wordnet_dir/data.noun`` by offset.

    Raises:
        FileNotFoundError: No ``data.noun`` there.
        ValueError: A class's synset is not in the database (a WordNet other than 3.0).
    """
    data = Path(wordnet_dir) / "data.noun"
    if not data.is_file():
        raise FileNotFoundError(f"{data}: missing (apt-get install wordnet-base)")
    synsets = imagenet_synsets()
    wanted = {s[1:]: s for s in synsets}
    found: dict[str, str] = {}
    with data.open("rb") as f:
        for raw in f:
            if raw[:1] == b" ":  # the licence header
                continue
            offset = raw[:8].decode("ascii")
            if offset in wanted:
                found[wanted[offset]] = definition(raw.decode("utf-8", errors="replace"))
    missing = [s for s in wanted.values() if s not in found]
    if missing:
        raise ValueError(f"{data}: {len(missing)} ImageNet synsets not found (e.g. {missing[:3]}); WordNet 3.0 needed")
    return [(s, found[s]) for s in synsets]


@lru_cache(maxsize=1)
def imagenet_glosses() -> tuple[str, ...]:
    """Per class index, its WordNet definition."""
    return tuple(gloss for _, gloss in read_class_table(GLOSSES_FILE))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--wordnet", required=True, type=Path, help="WordNet 3.0 dict folder (holds data.noun)")
    a = p.parse_args(argv)
    rows = read_glosses(a.wordnet)
    GLOSSES_FILE.write_text(HEADER + "\n" + "".join(f"{i}\t{s}\t{g}\n" for i, (s, g) in enumerate(rows)),
                            encoding="utf-8")
    print(f"wrote {GLOSSES_FILE} ({len(rows)} classes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
