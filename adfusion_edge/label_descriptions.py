"""One plain-English description per label of the text-driven heads (theme, keywords, emotion, audience).

Written from the label names and general knowledge of what such ads say; never chosen or edited
by a score on the real-ad dev set. They are embedded (MiniLM for the teacher, the static
embeddings for the runtime) into constant matrices: the similarity of an ad's text to each
description is a zero-shot prior for the head (``adfusion_edge.open_vocab`` does the same for
labels a caller passes at run time). ``check()`` (run at import) keeps them in step with the schema.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from adfusion_edge import schema
from adfusion_edge.errors import ConfigError

# Built by ``python -m adfusion_edge.distill.models.label_priors``.
PRIORS_FILE = Path(__file__).parent / "assets" / "static_text" / "label_priors.npz"

THEME: dict[str, str] = {
    "food": "food and drink: restaurants, fast food, pizza, burgers, snacks, coffee, beer, groceries",
    "technology": "technology: smartphones, computers, laptops, electronics, software, apps, internet and phone service",
    "fashion": "fashion: clothing, shoes, jeans, handbags, watches, jewellery and accessories",
    "beauty": "beauty and cosmetics: makeup, lipstick, skincare, perfume, shampoo and hair care",
    "automotive": "cars and vehicles: car dealers, new car models, motorbikes, tyres, motor oil and driving",
    "travel": "travel and holidays: airlines, flights, hotels, cruises, resorts and vacation trips",
    "finance": "finance: banks, credit cards, loans, insurance, savings and investment",
    "health": "health and medicine: doctors, hospitals, pharmacy, medication, vitamins and fitness",
    "entertainment": "entertainment: movies, films, television shows, music, concerts, games and tickets",
    "politics": "politics: elections, voting, political candidates, campaigns and government",
    "education": "education: schools, universities, courses, degrees, learning and books",
    "home": "home: furniture, home decor, kitchen, appliances, cleaning products and real estate",
}

EMOTION: dict[str, str] = {
    "joy": "joy: happy, cheerful, fun and delightful",
    "excitement": "excitement: thrilling, energetic, bold and adventurous",
    "trust": "trust: reliable, safe, proven, honest and dependable",
    "surprise": "surprise: unexpected, amazing, astonishing and new",
    "fear": "fear: danger, risk, threat, worry and warning",
    "anger": "anger: outrage, injustice, unfair and furious",
    "sadness": "sadness: loss, grief, loneliness and suffering",
    "calm": "calm: relaxing, peaceful, soothing, quiet and comfortable",
}

AUDIENCE: dict[str, str] = {
    "general": "for everyone: all people of every age",
    "kids": "for kids: children, toys, cartoons and fun for little ones",
    "teens": "for teenagers: high school students and young people",
    "young_adults": "for young adults: students and people in their twenties",
    "parents": "for parents: mothers, fathers, families and babies",
    "professionals": "for professionals: business people, office workers and careers",
    "seniors": "for seniors: older people, retirees and grandparents",
    "food_lovers": "for food lovers: people who enjoy eating, cooking and tasty meals",
    "tech_enthusiasts": "for tech enthusiasts: people who love gadgets, computers and the latest technology",
    "fashion_followers": "for fashion followers: people who follow style, trends and designer clothes",
    "travelers": "for travelers: people who love trips, flights and exploring the world",
    "gamers": "for gamers: people who play video games and consoles",
    "citizens": "for citizens: voters and members of the community",
}

# Keywords: a few words each, the label's meaning and its usual neighbours in ad copy.
KEYWORDS: dict[str, str] = {
    "pizza": "pizza, pizzeria", "burger": "burger, hamburger, cheeseburger", "coffee": "coffee, espresso, cafe",
    "dessert": "dessert, cake, ice cream, chocolate, sweets", "delivery": "food delivery to your door",
    "fresh": "fresh, freshly made", "delicious": "delicious, tasty", "menu": "menu, dishes",
    "restaurant": "restaurant, dining", "combo": "combo meal, meal deal",
    "smartphone": "smartphone, mobile phone, cell phone", "laptop": "laptop, notebook computer",
    "launch": "launch, new release, introducing", "wireless": "wireless, bluetooth, wifi",
    "gadget": "gadget, device", "upgrade": "upgrade, better model", "headphones": "headphones, earbuds",
    "camera": "camera, photos", "smartwatch": "smartwatch, wearable", "gaming": "gaming, video games",
    "style": "style, stylish", "collection": "new collection, range", "dress": "dress, gown",
    "sneakers": "sneakers, trainers, running shoes", "trend": "trend, trendy", "outfit": "outfit, look, clothes",
    "handbag": "handbag, purse, bag", "sunglasses": "sunglasses, shades",
    "lipstick": "lipstick, lip colour", "skincare": "skincare, skin cream, moisturiser", "glow": "glow, radiant skin",
    "makeup": "makeup, cosmetics", "fragrance": "fragrance, perfume, scent", "beauty": "beauty, beautiful",
    "car": "car, automobile", "drive": "drive, driving", "electric": "electric, battery powered",
    "test_drive": "test drive at the dealer", "bike": "bike, bicycle, motorcycle", "vehicle": "vehicle, SUV, truck",
    "travel": "travel, trip", "vacation": "vacation, holiday", "flight": "flight, airline, plane",
    "hotel": "hotel, resort, stay", "beach": "beach, sea, sun", "adventure": "adventure, explore",
    "getaway": "getaway, weekend escape",
    "bank": "bank, banking", "loan": "loan, borrow, credit", "savings": "savings, save money",
    "credit_card": "credit card", "invest": "invest, investment, stocks", "insurance": "insurance, cover, policy",
    "cashback": "cash back, rewards",
    "health": "health, healthy", "fitness": "fitness, workout, gym", "wellness": "wellness, wellbeing",
    "vitamins": "vitamins, supplements", "doctor": "doctor, physician, clinic", "pharmacy": "pharmacy, medicine, drugs",
    "movie": "movie, film, cinema", "concert": "concert, live music, tour", "tickets": "tickets, admission",
    "streaming": "streaming, watch online", "music": "music, songs, album", "premiere": "premiere, opening night",
    "election": "election, ballot", "campaign": "campaign", "vote": "vote, voting", "candidate": "candidate, politician",
    "rally": "rally, march", "community": "community, neighbours",
    "course": "course, class", "learn": "learn, learning", "degree": "degree, diploma, university",
    "online_class": "online class, e-learning", "scholarship": "scholarship, grant", "books": "books, reading",
    "furniture": "furniture, tables, chairs", "sofa": "sofa, couch", "home": "home, house", "decor": "decor, interior design",
    "kitchen": "kitchen, cooking", "mortgage": "mortgage, home loan", "real_estate": "real estate, property, apartments",
    "offer": "offer, special offer", "sale": "sale, on sale", "discount": "discount, reduced price",
    "deal": "deal, bargain", "free": "free, at no cost", "new": "new, brand new", "limited": "limited, limited edition",
    "exclusive": "exclusive, members only", "premium": "premium, luxury", "gift": "gift, present",
    "bonus": "bonus, extra", "shipping": "shipping, delivery", "today": "today, now", "save": "save, savings",
    "best_price": "best price, lowest price", "subscription": "subscription, monthly plan", "app": "app, download the app",
    "donate": "donate, donation, charity", "support": "support, help", "warning": "warning, caution",
    "urgent": "urgent, hurry", "guaranteed": "guaranteed, guarantee",
}

DESCRIPTIONS: dict[str, dict[str, str]] = {"theme": THEME, "keywords": KEYWORDS, "emotion": EMOTION, "audience": AUDIENCE}


def check() -> None:
    """Every head's descriptions cover exactly its schema labels (raises RuntimeError otherwise)."""
    for name, table in DESCRIPTIONS.items():
        labels = set(schema.head(name).labels)
        if set(table) != labels:
            raise RuntimeError(f"label_descriptions.{name.upper()}: missing {sorted(labels - set(table))}, "
                               f"extra {sorted(set(table) - labels)}")


def descriptions(head: str) -> list[str]:
    """The descriptions of ``head``'s labels, in schema order."""
    return [DESCRIPTIONS[head][label] for label in schema.head(head).labels]


def descriptions_hash() -> str:
    """sha256 of every description table (detects a prior file built from other descriptions)."""
    return hashlib.sha256(json.dumps(DESCRIPTIONS, sort_keys=True).encode("utf-8")).hexdigest()


def prior_matrix(head: str, space: str = "static", path: str | Path = PRIORS_FILE) -> np.ndarray:
    """The (num_labels, D) description embeddings of ``head`` in ``space`` (``static`` or ``minilm``).

    Raises:
        FileNotFoundError: no prior file. ConfigError: unknown head / space, or the file was built
            from other descriptions (rebuild it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"label prior file not found: {path}")
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta["descriptions_sha256"] != descriptions_hash():
            raise ConfigError(f"{path} was built from other label descriptions; rebuild it with "
                              "python -m adfusion_edge.distill.models.label_priors")
        key = f"{space}/{head}"
        if key not in z.files:
            raise ConfigError(f"{path}: no prior {key!r}; have {sorted(k for k in z.files if k != 'meta')}")
        return z[key]


check()
