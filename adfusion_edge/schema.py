"""The label schema: every prediction head adfusion-edge knows, in one place.

Data generation, manifests, models, losses, export metadata, postprocessing and reports all
read this module. No other module lists labels: if a label is missing here it does not exist.

Kinds:
    single:  exactly one label (softmax).
    multi:   any subset of the labels (independent sigmoids).
    ordinal: one of ordered buckets (softmax; order = list order, low -> high).

Two heads carry an extra output besides their labels:
    monetary: a token-tagging output ``monetary_span`` (BIO tags over the input tokens) from
        which the mention's text ("50% OFF") is cut out of the ad text.
    ctr: a continuous click-through-rate estimate ``ctr_value`` in [0, 1].
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from adfusion_edge.errors import UnknownHeadError, UnknownLabelError

SCHEMA_VERSION = 1

HeadKind = Literal["single", "multi", "ordinal"]


@dataclass(frozen=True)
class Head:
    """One prediction head.

    Attributes:
        name: Output name; also the ONNX output tensor name.
        kind: ``single``, ``multi`` or ``ordinal``.
        labels: Label names; for ordinal heads in increasing order.
        span: True if the head also predicts a text span (token tags).
        value: True if the head also predicts a continuous value in [0, 1].
        description: One line for reports and docs.
    """

    name: str
    kind: HeadKind
    labels: tuple[str, ...]
    span: bool = False
    value: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("single", "multi", "ordinal"):
            raise ValueError(f"head {self.name!r}: unknown kind {self.kind!r}")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"head {self.name!r}: duplicate labels")
        if len(self.labels) < 2:
            raise ValueError(f"head {self.name!r}: needs at least two labels")

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    def index(self, label: str) -> int:
        """Index of ``label`` in this head.

        Raises:
            UnknownLabelError: naming the head and its allowed labels.
        """
        try:
            return self._lookup[label]
        except KeyError:
            raise UnknownLabelError(self.name, label, self.labels) from None

    @property
    def _lookup(self) -> dict[str, int]:
        # Built lazily and cached on the frozen instance; dataclass(frozen) forbids plain setattr.
        cache = self.__dict__.get("_lookup_cache")
        if cache is None:
            cache = {label: i for i, label in enumerate(self.labels)}
            object.__setattr__(self, "_lookup_cache", cache)
        return cache


THEMES = (
    "food", "technology", "fashion", "beauty", "automotive", "travel",
    "finance", "health", "entertainment", "politics", "education", "home",
)

KEYWORDS = (
    # food
    "pizza", "burger", "coffee", "dessert", "delivery", "fresh", "delicious", "menu", "restaurant", "combo",
    # technology
    "smartphone", "laptop", "launch", "wireless", "gadget", "upgrade", "headphones", "camera", "smartwatch",
    "gaming",
    # fashion
    "style", "collection", "dress", "sneakers", "trend", "outfit", "handbag", "sunglasses",
    # beauty
    "lipstick", "skincare", "glow", "makeup", "fragrance", "beauty",
    # automotive
    "car", "drive", "electric", "test_drive", "bike", "vehicle",
    # travel
    "travel", "vacation", "flight", "hotel", "beach", "adventure", "getaway",
    # finance
    "bank", "loan", "savings", "credit_card", "invest", "insurance", "cashback",
    # health
    "health", "fitness", "wellness", "vitamins", "doctor", "pharmacy",
    # entertainment
    "movie", "concert", "tickets", "streaming", "music", "premiere",
    # politics
    "election", "campaign", "vote", "candidate", "rally", "community",
    # education
    "course", "learn", "degree", "online_class", "scholarship", "books",
    # home
    "furniture", "sofa", "home", "decor", "kitchen", "mortgage", "real_estate",
    # cross-theme offer and call words
    "offer", "sale", "discount", "deal", "free", "new", "limited", "exclusive", "premium", "gift",
    "bonus", "shipping", "today", "save", "best_price", "subscription", "app", "donate", "support",
    "warning", "urgent", "guaranteed",
)

OBJECTS = (
    "pizza", "burger", "coffee", "cake", "apple", "phone", "laptop", "headphones", "camera", "watch",
    "game_controller", "car", "bicycle", "plane", "suitcase", "shoe", "dress", "handbag", "sunglasses",
    "lipstick", "lotion", "person", "house", "sofa", "money_bag", "credit_card", "book",
    "graduation_cap", "pill", "stethoscope", "ballot_box", "megaphone", "ticket", "clapperboard",
    "gift", "music_note",
)

HEADS: tuple[Head, ...] = (
    Head("theme", "single", THEMES, description="Product or topic area of the ad"),
    Head("sentiment", "single", ("negative", "neutral", "positive"), description="Overall tone"),
    Head(
        "emotion", "single",
        ("joy", "excitement", "trust", "surprise", "fear", "anger", "sadness", "calm"),
        description="Dominant emotion the ad appeals to",
    ),
    Head("keywords", "multi", KEYWORDS, description="Ad keywords from a closed vocabulary"),
    Head(
        "monetary", "single",
        ("none", "percent_off", "price", "discount", "free", "bogo", "cashback"),
        span=True, description="Monetary mention type and its text span",
    ),
    Head(
        "cta", "single",
        ("none", "buy_now", "order_now", "shop_now", "sign_up", "learn_more", "download", "book_now",
         "call_now", "subscribe", "donate", "support_us", "get_started", "try_free"),
        description="Call to action",
    ),
    Head("objects", "multi", OBJECTS, description="Objects shown in the creative"),
    Head(
        "dominant_colour", "single",
        ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray"),
        description="Dominant colour of the creative",
    ),
    Head("attention", "ordinal", ("low", "medium", "high"), description="Predicted attention"),
    Head("trust_safety", "single", ("safe", "sensitive", "unsafe"), description="Brand-safety class"),
    Head(
        "audience", "single",
        ("general", "kids", "teens", "young_adults", "parents", "professionals", "seniors", "food_lovers",
         "tech_enthusiasts", "fashion_followers", "travelers", "gamers", "citizens"),
        description="Target audience",
    ),
    Head("ctr", "ordinal", ("low", "medium", "high"), value=True, description="Click-through rate"),
    Head("shares", "ordinal", ("low", "medium", "high"), description="Likelihood of shares"),
)

HEAD_NAMES: tuple[str, ...] = tuple(h.name for h in HEADS)
_HEAD_BY_NAME: dict[str, Head] = {h.name: h for h in HEADS}

# BIO tags of the monetary-span token-tagging output.
SPAN_TAGS: tuple[str, ...] = ("O", "B", "I")
SPAN_OUTPUT = "monetary_span"
VALUE_OUTPUT = "ctr_value"

# The heads of the paper's Table 1 "Overall" score: sentiment F1, emotion F1, theme accuracy and
# engagement accuracy (engagement = the mean accuracy of attention, ctr and shares buckets).
TABLE1_COLUMNS: tuple[tuple[str, str], ...] = (
    ("sentiment", "macro_f1"),
    ("emotion", "macro_f1"),
    ("theme", "accuracy"),
    ("engagement", "accuracy"),
)
ENGAGEMENT_HEADS: tuple[str, ...] = ("attention", "ctr", "shares")


def head(name: str) -> Head:
    """The head called ``name``.

    Raises:
        UnknownHeadError: listing the heads that exist.
    """
    try:
        return _HEAD_BY_NAME[name]
    except KeyError:
        raise UnknownHeadError(name, HEAD_NAMES) from None


def output_names() -> tuple[str, ...]:
    """Every model output tensor name, in a fixed order: the heads, then span and value outputs."""
    return HEAD_NAMES + (SPAN_OUTPUT, VALUE_OUTPUT)


def encode_label(head_name: str, value: str | Iterable[str]) -> int | list[int]:
    """Label string(s) to index/indices; multi-label heads take an iterable of labels."""
    h = head(head_name)
    if h.kind == "multi":
        if isinstance(value, str):
            raise UnknownLabelError(h.name, value, h.labels, hint="multi-label heads take a list of labels")
        return sorted({h.index(v) for v in value})
    if not isinstance(value, str):
        raise UnknownLabelError(h.name, repr(value), h.labels, hint="expected one label string")
    return h.index(value)


def validate_labels(labels: Mapping[str, object]) -> None:
    """Check a partial label dict (heads may be missing or None); raises on the first bad entry."""
    for name, value in labels.items():
        if value is None:
            continue
        encode_label(name, value)  # type: ignore[arg-type]


def to_dict() -> dict:
    """The schema as plain JSON data (written into bundles and reports)."""
    return {
        "version": SCHEMA_VERSION,
        "heads": [
            {"name": h.name, "kind": h.kind, "labels": list(h.labels), "span": h.span, "value": h.value}
            for h in HEADS
        ],
        "span_tags": list(SPAN_TAGS),
        "span_output": SPAN_OUTPUT,
        "value_output": VALUE_OUTPUT,
    }


def fingerprint() -> str:
    """sha256 of the schema's JSON form: a bundle trained on another schema is refused by it."""
    return hashlib.sha256(json.dumps(to_dict(), sort_keys=True).encode()).hexdigest()
