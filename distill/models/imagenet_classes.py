"""ImageNet-1k class names in index order, read from the project's data file (no hub, no timm)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CLASSES_FILE = Path(__file__).parent / "imagenet" / "imagenet1k_classes.tsv"
NUM_CLASSES = 1000


def read_class_table(path: Path) -> list[tuple[str, str]]:
    """(synset id, value) per class of a ``index<TAB>synset<TAB>value`` file, in index order.

    Raises:
        ValueError: A class out of order, or not exactly :data:`NUM_CLASSES` of them.
    """
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        index, synset, value = line.split("\t")
        if int(index) != len(rows):
            raise ValueError(f"{path}: class {index} out of order")
        rows.append((synset, value))
    if len(rows) != NUM_CLASSES:
        raise ValueError(f"{path}: {len(rows)} classes, expected {NUM_CLASSES}")
    return rows


@lru_cache(maxsize=1)
def imagenet_lemmas() -> tuple[tuple[str, ...], ...]:
    """Per class index, its WordNet lemmas (``("cellular telephone", "cellular phone", ...)``)."""
    return tuple(tuple(x.strip() for x in lemmas.split(",")) for _, lemmas in read_class_table(CLASSES_FILE))


def imagenet_synsets() -> list[str]:
    """Per class index, its WordNet synset id (``"n02992529"``)."""
    return [synset for synset, _ in read_class_table(CLASSES_FILE)]


def imagenet_names() -> list[str]:
    """The first lemma of each class (``"cellular telephone"``), index order."""
    return [lemmas[0] for lemmas in imagenet_lemmas()]
