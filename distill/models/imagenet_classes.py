"""ImageNet-1k class names in index order, read from the project's data file (no hub, no timm)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CLASSES_FILE = Path(__file__).parent / "imagenet" / "imagenet1k_classes.tsv"
NUM_CLASSES = 1000


@lru_cache(maxsize=1)
def imagenet_lemmas() -> tuple[tuple[str, ...], ...]:
    """Per class index, its WordNet lemmas (``("cellular telephone", "cellular phone", ...)``)."""
    rows = []
    for line in CLASSES_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        index, _synset, lemmas = line.split("\t")
        if int(index) != len(rows):
            raise ValueError(f"{CLASSES_FILE}: class {index} out of order")
        rows.append(tuple(x.strip() for x in lemmas.split(",")))
    if len(rows) != NUM_CLASSES:
        raise ValueError(f"{CLASSES_FILE}: {len(rows)} classes, expected {NUM_CLASSES}")
    return tuple(rows)


def imagenet_names() -> list[str]:
    """The first lemma of each class (``"cellular telephone"``), index order."""
    return [lemmas[0] for lemmas in imagenet_lemmas()]
