"""Sentiment as the ad's tone: relabel the Pitt rows' sentiment from what the annotators felt.

The schema's ``sentiment`` is the ad's *overall tone* (``schema.py``: "Overall tone"): upbeat, plain
or menacing. The realtext rows took their sentiment from the shared real-data build, whose polarity
table reads Pitt's viewer feelings as a valence: every feeling that is not bad counts as positive.
Most of those feelings describe the product or the persuasion, not a tone: "eager" (hungry,
thirsty: 564 of the 1,933 Pitt ads with a majority feeling), "creative" (380), "fashionable",
"feminine", "manly", "active", "thrifty", "persuaded". So the rows say a plain jeans or burger ad is
positive, 96% of the labelled ads are, and a model taught by them answers positive on nearly every
real ad, a price list included.

This pass keeps Pitt's annotations and reads them as a tone (:data:`TONE`):

* ``positive``: a feeling an upbeat or warm ad gives: amused, amazed, cheerful, loving, inspired,
  grateful, proud, confident, calm;
* ``negative``: afraid, alarmed, angry, disturbed, jealous, pessimistic, sad (as before);
* ``neutral``: feelings that describe the product, the viewer or the persuasion rather than a tone:
  active, creative, eager, fashionable, feminine, manly, youthful, thrifty, persuaded, alert,
  conscious, educated;
* no tone: emotional, empathetic (either valence).

An ad's tone: positive or negative if one of its majority feelings is, neutral if all of them are
neutral, no label if positive and negative are mixed or if no feeling has a majority (Pitt's
``pitt_sentiments`` is null for 48% of ads: no evidence either way, so no label). Rows of other
sources keep what they have (Facebook rows carry no sentiment).

A pass of its own over ``realtext``'s rows, like ``strict_negatives``: the build's earlier steps were
trained on the rows as they are and must still rebuild byte for byte.

    python -m adfusion_edge.distill.data.ad_tone --rows runs/realtext_v1/train_strict.jsonl \\
        --out runs/realtext_v1/train_tone.jsonl
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from adfusion_edge.distill.data.manifest import rewrite_text_manifest
from adfusion_edge.distill.data.realtext import DEFAULT_SRC, OCR, SLOGANS
from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.errors import ConfigError, ManifestError

POSITIVE = ("amused", "amazed", "cheerful", "loving", "inspired", "grateful", "proud", "confident", "calm")
NEGATIVE = ("afraid", "alarmed", "angry", "disturbed", "jealous", "pessimistic", "sad")
NEUTRAL = ("active", "creative", "eager", "fashionable", "feminine", "manly", "youthful", "thrifty", "persuaded",
           "alert", "conscious", "educated")
NO_TONE = ("emotional", "empathetic")
TONE: dict[str, str | None] = {**{s: "positive" for s in POSITIVE}, **{s: "negative" for s in NEGATIVE},
                               **{s: "neutral" for s in NEUTRAL}, **{s: None for s in NO_TONE}}

# realtext row source -> (the copied source file, the key its rows' meta.ad_id was taken from)
SOURCES = {"pitt_slogans": (SLOGANS, "ad_id"), "pitt_ocr": (OCR, "ad_id")}


def tone_of(feelings: list[str] | None) -> str | None:
    """The tone of an ad whose annotators' majority feelings are ``feelings`` (None: no label).

    Raises:
        ValueError: A feeling that :data:`TONE` does not know (a new source vocabulary must be mapped
            on purpose, not guessed).
    """
    if not feelings:
        return None
    unknown = sorted(set(feelings) - set(TONE))
    if unknown:
        raise ValueError(f"Pitt feelings {unknown} have no tone in ad_tone.TONE")
    tones = {TONE[f] for f in feelings} - {None}
    if {"positive", "negative"} <= tones:
        return None
    for t in ("positive", "negative", "neutral"):
        if t in tones:
            return t
    return None


def feelings_by_ad(src: Path) -> dict[str, dict[str, list[str] | None]]:
    """{row source: {ad_id: the ad's majority Pitt feelings or None}} from the copied source files.

    Raises:
        ConfigError: A source file is missing.
        ManifestError: A line is not JSON (file and line named).
    """
    out: dict[str, dict[str, list[str] | None]] = {}
    for source, (name, key) in SOURCES.items():
        path = src / name
        if not path.is_file():
            raise ConfigError(f"{path}: missing; ad_tone reads the Pitt feelings from it")
        ads: dict[str, list[str] | None] = {}
        with path.open(encoding="utf-8") as f:
            for line_no, line in enumerate(f, 1):
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ManifestError(str(path), line_no, f"not JSON ({e})") from e
                ads[str(obj[key])] = obj.get("pitt_sentiments")
        out[source] = ads
    return out


def relabel(rows: Path, out: Path, src: Path = DEFAULT_SRC) -> Counter:
    """Write the manifest ``rows`` to ``out`` with each Pitt row's sentiment set to its ad's tone.

    Returns:
        Counts: ``rows``, ``before_<label>`` and ``after_<label>`` per sentiment label (``unlabelled``
        for none), and ``changed``.

    Raises:
        ConfigError: ``out`` is ``rows``, or a source file is missing.
        ManifestError: A malformed line, or a Pitt row whose ad is not in its source file (line named).
    """
    feelings = feelings_by_ad(Path(src))
    counts: Counter = Counter()

    def retone(line_no: int, rec: AdRecord) -> None:
        counts["rows"] += 1
        before = rec.labels.get("sentiment")
        source = (rec.meta or {}).get("source")
        if source in feelings:
            ad_id = str(rec.meta.get("ad_id"))
            if ad_id not in feelings[source]:
                raise ManifestError(str(rows), line_no, f"row {rec.id}: ad {ad_id!r} is not in {SOURCES[source][0]}")
            try:
                tone = tone_of(feelings[source][ad_id])
            except ValueError as e:
                raise ManifestError(str(rows), line_no, f"row {rec.id}: {e}") from e
            rec.labels.pop("sentiment", None)
            if tone is not None:
                rec.labels["sentiment"] = tone
        after = rec.labels.get("sentiment")
        counts[f"before_{before or 'unlabelled'}"] += 1
        counts[f"after_{after or 'unlabelled'}"] += 1
        counts["changed"] += before != after

    rewrite_text_manifest(rows, out, retone, "tone")
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", required=True, type=Path, help="text-only manifest (realtext train or test rows)")
    p.add_argument("--out", required=True, type=Path, help="where to write the relabelled manifest")
    p.add_argument("--src", default=DEFAULT_SRC, type=Path, help="folder with the copied real-text JSONL files")
    a = p.parse_args(argv)
    print(json.dumps(relabel(a.rows, a.out, a.src), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
