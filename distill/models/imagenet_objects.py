"""ImageNet-1k classes -> the schema's object labels, and ImageNet classes that imply a person.

The mapping was written by reading the 1,000 class names (``distill/models/imagenet/``) against the
36 object labels, by meaning only: a class maps to a label when a photo of that class *is* a
picture of that object (a jeep is a car, a cheeseburger a burger, an espresso a coffee). Nothing
was chosen by a score. Rules that decided the borderline cases:

- Shops, rooms and buildings do not map to their goods (a bookshop is not a book, a cinema is not
  a clapperboard): a classifier says "bookshop" for shelves, not for a book on an ad.
  Exceptions: "library" and "bookcase" are pictures of many books; both map to book.
- Parts and accessories map when they are only ever seen on the object: car wheel, grille -> car.
- "cup" maps to coffee: Lite0 calls the AdSynth coffee emoji (a steaming cup) "cup" first.
- music_note stands for music: musical instruments map to it.
- Classes that name the medium an ad is printed or shown on (MEDIUM_CLASSES: "web site", "book
  jacket", "menu", ...) are evidence of nothing in it: Lite0 calls 86 of 96 AdSynth val ads
  "web site". They map to no label and ``content_probs`` drops them and renormalises.
- Labels with no ImageNet class stay empty and are listed in NO_IMAGENET_CLASS. Person has its own
  signal: the mass of PERSON_CLASSES, classes whose photos almost always show someone wearing or
  doing the thing (jersey, suit, gown, ballplayer, ...). There is no face or person detector.

``object_matrix()`` is the constant {0, 1} matrix M [1000, 36]: with ImageNet probabilities p,
``p @ M`` is each label's probability mass, usable in a graph as a prior, an auxiliary output or
a distillation target. Each ImageNet class maps to at most one label, so the rows of ``p @ M``
stay probabilities (they sum to <= 1).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from adfusion_edge import schema
from adfusion_edge.distill.models.imagenet_classes import imagenet_names

# Label -> ImageNet classes, by first lemma (or index where a first lemma is not unique).
OBJECT_CLASSES: dict[str, tuple[str | int, ...]] = {
    "pizza": ("pizza",),
    "burger": ("cheeseburger",),
    "coffee": ("espresso", "coffee mug", "cup", "espresso maker", "coffeepot"),
    "cake": ("trifle",),
    "apple": ("Granny Smith",),
    "phone": ("cellular telephone", "dial telephone", "pay-phone"),
    "laptop": ("laptop", "notebook"),
    "headphones": (),
    "camera": ("reflex camera", "Polaroid camera"),
    "watch": ("digital watch", "stopwatch"),
    "game_controller": ("joystick",),
    "car": ("jeep", "sports car", "cab", "pickup", "beach wagon", "convertible", "limousine", "minivan",
            "Model T", "racer", "car wheel", "grille"),
    "bicycle": ("mountain bike", "bicycle-built-for-two"),
    "plane": ("airliner", "warplane", "wing"),
    "suitcase": (),
    "shoe": ("running shoe", "Loafer", "clog", "cowboy boot", "sandal"),
    "dress": ("gown", "overskirt", "hoopskirt", "kimono", "abaya"),
    "handbag": ("purse",),
    "sunglasses": ("sunglasses", "sunglass"),
    "lipstick": ("lipstick",),
    "lotion": ("lotion", "sunscreen", "hair spray", "perfume"),
    "person": (),
    "house": ("mobile home", "boathouse", "patio", "picket fence", "tile roof", "thatch"),
    "sofa": ("studio couch",),
    "money_bag": (),
    "credit_card": (),
    "book": ("library", "bookcase"),
    "graduation_cap": ("mortarboard", "academic gown"),
    "pill": ("pill bottle",),
    "stethoscope": ("stethoscope",),
    "ballot_box": (),
    "megaphone": (),
    "ticket": (),
    "clapperboard": (),
    "gift": (),
    "music_note": ("acoustic guitar", "electric guitar", "grand piano", "upright", "violin", "drum", "sax",
                   "accordion", "marimba", "steel drum"),
}

# Classes whose photos almost always show a person (worn clothing, people-only classes). Items
# that are as often shown alone on a product shot (sunglasses, shoes, lipstick) are left out.
PERSON_CLASSES: tuple[str | int, ...] = (
    "ballplayer", "groom", "scuba diver", "jersey", "suit", "miniskirt", "wig", "bikini", 638, 639,
    "swimming trunks", "sweatshirt", "cardigan", "lab coat", "academic gown", "kimono", "abaya",
    "fur coat", "gown", "cowboy hat", "sombrero", "bow tie", "Windsor tie", "bolo tie", "brassiere",
    "hoopskirt", "overskirt", "poncho", "stole", "apron", "bonnet", "military uniform", "pajama",
    "trench coat", "jean", "vestment", "sarong", "bathing cap", "shower cap", "ski mask", "cloak",
    "bulletproof vest", "knee pad", "neck brace", "football helmet", "crash helmet", "mortarboard",
    "stethoscope", "lipstick", "hair slide",
)


# What a flat creative looks like to an ImageNet classifier (the AdSynth val top-1 classes that
# name a medium, plus their kin: a printed page, a screen page, a sign).
MEDIUM_CLASSES: tuple[str | int, ...] = (
    "web site", "book jacket", "comic book", "menu", "envelope", "packet", "crossword puzzle", "scoreboard",
    "street sign",
)


def _resolve(entries: tuple[str | int, ...], what: str) -> list[int]:
    names = imagenet_names()
    index: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        index.setdefault(n, []).append(i)
    out = []
    for e in entries:
        if isinstance(e, int):
            out.append(e)
            continue
        hits = index.get(e, [])
        if len(hits) != 1:
            raise ValueError(f"{what}: ImageNet class {e!r} " + ("not found" if not hits else f"ambiguous: {hits}"))
        out.append(hits[0])
    return out


NO_IMAGENET_CLASS: tuple[str, ...] = tuple(k for k, v in OBJECT_CLASSES.items() if not v)


@lru_cache(maxsize=1)
def object_matrix() -> np.ndarray:
    """{0, 1} float32 [1000, n_objects] in schema order: ImageNet class -> object label.

    Raises:
        ValueError: a class mapped to two labels, or the mapping and the schema disagree.
    """
    labels = schema.head("objects").labels
    if set(OBJECT_CLASSES) != set(labels):
        raise ValueError(f"OBJECT_CLASSES labels differ from the schema: {sorted(set(OBJECT_CLASSES) ^ set(labels))}")
    m = np.zeros((len(imagenet_names()), len(labels)), np.float32)
    for j, label in enumerate(labels):
        for i in _resolve(OBJECT_CLASSES[label], label):
            if m[i].any():
                raise ValueError(f"ImageNet class {i} mapped to two object labels")
            m[i, j] = 1.0
    return m


@lru_cache(maxsize=1)
def person_vector() -> np.ndarray:
    """{0, 1} float32 [1000]: 1 for the classes of PERSON_CLASSES."""
    v = np.zeros(len(imagenet_names()), np.float32)
    v[_resolve(PERSON_CLASSES, "person")] = 1.0
    return v


@lru_cache(maxsize=1)
def content_mask() -> np.ndarray:
    """float32 [1000]: 0 for MEDIUM_CLASSES, 1 for every other class."""
    v = np.ones(len(imagenet_names()), np.float32)
    v[_resolve(MEDIUM_CLASSES, "medium")] = 0.0
    return v


def content_probs(probs: np.ndarray) -> np.ndarray:
    """ImageNet probabilities (N, 1000) with the medium classes dropped and the rest renormalised."""
    p = probs * content_mask()
    return p / np.maximum(p.sum(1, keepdims=True), 1e-6)


def object_mass(probs: np.ndarray, with_person: bool = True) -> np.ndarray:
    """ImageNet probabilities (N, 1000) -> each object label's probability mass (N, n_objects).

    With ``with_person`` the person column is the mass of PERSON_CLASSES (overlaps with other
    labels are allowed there: a gown is a dress and implies a person).
    """
    mass = probs @ object_matrix()
    if with_person:
        mass[:, schema.head("objects").index("person")] = probs @ person_vector()
    return mass
