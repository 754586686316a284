"""Convert Pitt Image Ads annotations (Hussain et al., CVPR 2017) into a JSONL manifest.

Input: the dataset's ``Topics.json`` and ``Sentiments.json``: dicts keyed by the image's path
relative to the images root (``"10/170741.jpg"``) -> list of annotator entries. A topic entry is
an id string ("1".."38") or free text (the annotator's "other" answer). A sentiment entry is the
same, or a list of them (the released file stores each annotator's picks as a list); every pick
counts as one vote.

Per image and per file the converter takes a **majority vote**: free-text entries and ids outside
the official list all count as one class, "other"; ties go to the **smallest id**, and "other"
ranks after every id (so a tie between an id and "other" keeps the id). If "other" wins, the
mapped heads are masked. The winning Pitt class is then mapped onto our schema by
:data:`TOPIC_TO_THEME` (-> ``theme``) and :data:`SENTIMENT_TO_OURS` (-> ``sentiment``, ``emotion``);
a class without a faithful counterpart maps to None, i.e. the head is masked for that ad, never
guessed. Ads with every head masked are left out (they would contribute no loss) and counted.

Pitt ads carry no transcribed text: records get ``text=""`` (use OCR, ``text_source="ocr"``) and
keep the Pitt votes in ``meta`` for provenance.

CLI: ``adfusion-edge data pitt --topics T.json --sentiments S.json --images-root DIR --out M.jsonl``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from adfusion_edge.distill.data.ad_tone import TONE
from adfusion_edge.distill.data.manifest import write_manifest
from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.errors import ManifestError

# The official lists (Topics_List.txt / Sentiments_List.txt of the Pitt release), numbered from 1.
# Source: public copies of the lists quoted in open-source code that parses the release (names and
# numbering agree across independent copies); abbreviations are Pitt's own.
PITT_TOPICS: dict[int, tuple[str, str]] = {
    1: ("restaurant", "Restaurants, cafe, fast food"),
    2: ("chocolate", "Chocolate, cookies, candy, ice cream"),
    3: ("chips", "Chips, snacks, nuts, fruit, gum, cereal, yogurt, soups"),
    4: ("seasoning", "Seasoning, condiments, ketchup"),
    5: ("petfood", "Pet food"),
    6: ("alcohol", "Alcohol"),
    7: ("coffee", "Coffee, tea"),
    8: ("soda", "Soda, juice, milk, energy drinks, water"),
    9: ("cars", "Cars, automobiles (car sales, auto parts, car insurance, car repair, gas, motor oil, etc.)"),
    10: ("electronics", "Electronics (computers, laptops, tablets, cellphones, TVs, etc.)"),
    11: ("phone_tv_internet_providers", "Phone, TV and internet service providers"),
    12: ("financial", "Financial services (banks, credit cards, investment firms, etc.)"),
    13: ("education", "Education (universities, colleges, kindergarten, online degrees, etc.)"),
    14: ("security", "Security and safety services (anti-theft, safety courses, etc.)"),
    15: ("software", "Software (internet radio, streaming, job search website, grammar correction, travel planning, etc.)"),
    16: ("other_service", "Other services (dating, tax, legal, loan, religious, printing, catering, etc.)"),
    17: ("beauty", "Beauty products and cosmetics (deodorants, toothpaste, makeup, hair products, laser hair removal, etc.)"),
    18: ("healthcare", "Healthcare and medications (hospitals, health insurance, allergy, cold remedy, home tests, vitamins)"),
    19: ("clothing", "Clothing and accessories (jeans, shoes, eye glasses, handbags, watches, jewelry)"),
    20: ("baby", "Baby products (baby food, sippy cups, diapers, etc.)"),
    21: ("game", "Games and toys (including video and mobile games)"),
    22: ("cleaning", "Cleaning products (detergents, fabric softeners, soap, tissues, paper towels, etc.)"),
    23: ("home_improvement", "Home improvements and repairs (furniture, decoration, lawn care, plumbing, etc.)"),
    24: ("home_appliance", "Home appliances (coffee makers, dishwashers, cookware, vacuum cleaners, heaters, music players, etc.)"),
    25: ("travel", "Vacation and travel (airlines, cruises, theme parks, hotels, travel agents, etc.)"),
    26: ("media", "Media and arts (TV shows, movies, musicals, books, audio books, etc.)"),
    27: ("sports", "Sports equipment and activities"),
    28: ("shopping", "Shopping (department stores, drug stores, groceries, etc.)"),
    29: ("gambling", "Gambling (lotteries, casinos, etc.)"),
    30: ("environment", "Environment, nature, pollution, wildlife"),
    31: ("animal_right", "Animal rights, animal abuse"),
    32: ("human_right", "Human rights"),
    33: ("safety", "Safety, safe driving, fire safety"),
    34: ("smoking_alcohol_abuse", "Smoking, alcohol abuse"),
    35: ("domestic_violence", "Domestic violence"),
    36: ("self_esteem", "Self esteem, bullying, cyber bullying"),
    37: ("political", "Political candidates (support or opposition)"),
    38: ("charities", "Charities"),
}

PITT_SENTIMENTS: dict[int, tuple[str, str]] = {
    1: ("active", "Active (energetic, adventurous, vibrant, enthusiastic, playful)"),
    2: ("afraid", "Afraid (horrified, scared, fearful)"),
    3: ("alarmed", "Alarmed (concerned, worried, anxious, overwhelmed)"),
    4: ("alert", "Alert (attentive, curious)"),
    5: ("amazed", "Amazed (surprised, astonished, awed, fascinated, intrigued)"),
    6: ("amused", "Amused (humored, laughing)"),
    7: ("angry", "Angry (annoyed, irritated)"),
    8: ("calm", "Calm (soothed, peaceful, comforted, fulfilled, cozy)"),
    9: ("cheerful", "Cheerful (delighted, happy, joyful, carefree, optimistic)"),
    10: ("confident", "Confident (assured, strong, healthy)"),
    11: ("conscious", "Conscious (aware, thoughtful, prepared)"),
    12: ("creative", "Creative (inventive, productive)"),
    13: ("disturbed", "Disturbed (disgusted, shocked)"),
    14: ("eager", "Eager (hungry, thirsty, passionate)"),
    15: ("educated", "Educated (informed, enlightened, smart, savvy, intelligent)"),
    16: ("emotional", "Emotional (vulnerable, moved, nostalgic, reminiscent)"),
    17: ("empathetic", "Empathetic (sympathetic, supportive, understanding, receptive)"),
    18: ("fashionable", "Fashionable (trendy, elegant, beautiful, attractive, sexy)"),
    19: ("feminine", "Feminine (womanly, girlish)"),
    20: ("grateful", "Grateful (thankful)"),
    21: ("inspired", "Inspired (motivated, ambitious, empowered, hopeful, determined)"),
    22: ("jealous", "Jealous"),
    23: ("loving", "Loving (loved, romantic)"),
    24: ("manly", "Manly"),
    25: ("persuaded", "Persuaded (impressed, enchanted, immersed)"),
    26: ("pessimistic", "Pessimistic (skeptical)"),
    27: ("proud", "Proud (patriotic)"),
    28: ("sad", "Sad (depressed, upset, betrayed, distant)"),
    29: ("thrifty", "Thrifty (frugal)"),
    30: ("youthful", "Youthful (childlike)"),
}

# Pitt topic id -> our theme. None: no theme fits without distorting it (pet food is not what
# our "food" means; cause ads like environment/safety/charities have no product theme).
TOPIC_TO_THEME: dict[int, str | None] = {
    1: "food", 2: "food", 3: "food", 4: "food", 5: None, 6: "food", 7: "food", 8: "food",
    9: "automotive", 10: "technology", 11: "technology", 12: "finance", 13: "education",
    14: None, 15: "technology", 16: None, 17: "beauty", 18: "health", 19: "fashion", 20: None,
    21: "entertainment", 22: "home", 23: "home", 24: "home", 25: "travel", 26: "entertainment",
    27: None, 28: None, 29: None, 30: None, 31: None, 32: None, 33: None, 34: None, 35: None,
    36: None, 37: "politics", 38: None,
}

# Pitt sentiment id -> our emotion (None: masked). The feelings with a plain emotion.
_EMOTION: dict[int, str] = {1: "excitement", 2: "fear", 3: "fear", 5: "surprise", 6: "joy", 7: "anger", 8: "calm",
                            9: "joy", 10: "trust", 14: "excitement", 23: "joy", 25: "trust", 28: "sadness"}
# Pitt sentiment id -> (our sentiment, our emotion); either may be None (masked) independently. The
# sentiment is the ad's tone (ad_tone.TONE): feelings that describe the product or the persuasion
# ("eager", "fashionable", "creative") are neutral, not positive.
SENTIMENT_TO_OURS: dict[int, tuple[str | None, str | None]] = {
    i: (TONE[name], _EMOTION.get(i)) for i, (name, _) in PITT_SENTIMENTS.items()}

OTHER = "other"


def _flatten(entries: object) -> list[str]:
    if not isinstance(entries, list):
        raise ValueError(f"expected a list of annotator entries, got {type(entries).__name__}")
    out: list[str] = []
    for e in entries:
        if isinstance(e, list):
            out.extend(str(x) for x in e)
        elif isinstance(e, (str, int)) and not isinstance(e, bool):
            out.append(str(e))
        else:
            raise ValueError(f"annotator entry must be an id string, free text or a list, got {e!r}")
    return out


def majority_vote(entries: object, valid_ids: Iterable[int]) -> int | str | None:
    """Majority class of one image's annotator entries.

    Args:
        entries: List of id strings / free text (or lists of them: each pick is a vote).
        valid_ids: The official ids; anything else counts as ``"other"``.

    Returns:
        The winning id, ``"other"``, or None when there are no entries. Ties -> smallest id;
        ``"other"`` loses ties against any id.
    """
    valid = set(valid_ids)
    votes: Counter = Counter()
    for e in _flatten(entries):
        s = e.strip()
        votes[int(s) if s.isdigit() and int(s) in valid else OTHER] += 1
    if not votes:
        return None
    return min(votes, key=lambda k: (-votes[k], k == OTHER, k if k != OTHER else 0))


@dataclass
class ConvertStats:
    """What the conversion kept and masked (printed by the CLI)."""

    images: int = 0
    written: int = 0
    unlabelled: int = 0
    missing_images: list[str] = field(default_factory=list)
    mapped: Counter = field(default_factory=Counter)  # head -> ads with a label
    masked: Counter = field(default_factory=Counter)  # head -> ads masked (unmappable / other / no votes)

    def to_dict(self) -> dict:
        return {"images": self.images, "written": self.written, "unlabelled_dropped": self.unlabelled,
                "missing_images": len(self.missing_images), "mapped": dict(self.mapped), "masked": dict(self.masked)}


def _load(path: str | os.PathLike) -> dict:
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"Pitt annotation file not found: {p}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(str(p), getattr(e, "lineno", 0), f"not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ManifestError(str(p), 1, "expected a JSON object keyed by image path")
    return data


def convert(topics: Mapping[str, object], sentiments: Mapping[str, object], images_root: str | os.PathLike,
            check_images: bool = False, stats: ConvertStats | None = None) -> list[AdRecord]:
    """Pitt annotation dicts -> AdRecords (``image_path`` = images_root / key, ``image`` None).

    Args:
        topics: Parsed Topics.json (may be empty).
        sentiments: Parsed Sentiments.json (may be empty).
        images_root: Folder the annotation keys are relative to.
        check_images: Verify each image file exists; missing ones are listed in ``stats`` and left out.
        stats: Filled with counts when given.

    Returns:
        Records sorted by key, each with at least one known label.

    Raises:
        ValueError: an entry that is neither an id, free text nor a list of them (names the key).
    """
    stats = stats if stats is not None else ConvertStats()
    root = Path(images_root).resolve()
    records: list[AdRecord] = []
    for key in sorted(set(topics) | set(sentiments)):
        stats.images += 1
        try:
            topic = majority_vote(topics[key], PITT_TOPICS) if key in topics else None
            senti = majority_vote(sentiments[key], PITT_SENTIMENTS) if key in sentiments else None
        except ValueError as e:
            raise ValueError(f"Pitt annotations for {key!r}: {e}") from None
        theme = TOPIC_TO_THEME[topic] if isinstance(topic, int) else None
        sentiment, emotion = SENTIMENT_TO_OURS[senti] if isinstance(senti, int) else (None, None)
        path = root / key
        if check_images and not path.is_file():
            stats.missing_images.append(str(path))
            continue
        labels = {"theme": theme, "sentiment": sentiment, "emotion": emotion}
        for head, value in labels.items():
            (stats.mapped if value is not None else stats.masked)[head] += 1
        if all(v is None for v in labels.values()):
            stats.unlabelled += 1
            continue
        meta = {"source": "pitt", "pitt_topic": topic, "pitt_sentiment": senti}
        records.append(AdRecord(id=f"pitt/{key}", image=None, image_path=str(path), text="",
                                labels={k: v for k, v in labels.items() if v is not None}, meta=meta))
    stats.written = len(records)
    return records


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``adfusion-edge data pitt``."""
    parser.add_argument("--topics", required=True, help="Pitt Topics.json")
    parser.add_argument("--sentiments", default=None, help="Pitt Sentiments.json (optional)")
    parser.add_argument("--images-root", required=True, help="folder the annotation keys are relative to")
    parser.add_argument("--out", required=True, help="JSONL manifest to write")
    parser.add_argument("--check-images", action="store_true",
                        help="report images that do not exist and leave them out of the manifest")


def run(args: argparse.Namespace) -> int:
    """Convert, write the manifest, print the counts as JSON; returns the exit code."""
    topics = _load(args.topics)
    sentiments = _load(args.sentiments) if args.sentiments else {}
    stats = ConvertStats()
    records = convert(topics, sentiments, args.images_root, check_images=args.check_images, stats=stats)
    write_manifest(args.out, records)
    for p in stats.missing_images[:20]:
        print(f"missing image: {p}", file=sys.stderr)
    if len(stats.missing_images) > 20:
        print(f"... and {len(stats.missing_images) - 20} more missing images", file=sys.stderr)
    print(json.dumps({"out": str(args.out), **stats.to_dict()}, sort_keys=True))
    return 0
