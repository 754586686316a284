"""Real ad text -> text-only training rows (AdRecords) for the text-driven heads, via JSONL manifests.

Sources (``datasets/realtext/``, copied from the shared real-data build with its licence note):

* ``pitt_slogans.jsonl``: annotator slogans of Pitt Image Ads with ``theme`` and ``sentiment``
  (already mapped onto our schema). ``split: train`` rows are training rows; ``split: test``
  rows never enter training: they are the real-text **test set** (``pitt_test.jsonl``).
* ``pitt_ocr_action_reason.jsonl``: OCR text of 300 Pitt ads (printed ad text, OCR errors kept),
  with the same theme / sentiment; train split only in training, test split in the test set.
* ``facebook_ads.jsonl``: about 3,500 real Facebook ads with impressions and clicks: ``ctr_value``
  (clicks / impressions, only for ads with at least MIN_IMPRESSIONS impressions: below that one
  click more or less moves the rate by whole points) and a ``ctr`` bucket.

Every row also gets the CTA / monetary **negatives** its text supports: ``cta = none`` when
:mod:`realtext_patterns` finds no call to action, ``monetary = none`` when it finds no price or
offer (the detectors lean towards finding one, so a negative is really one). Rows with a CTA or an
offer leave those heads masked (the detectors do not tell the exact label). Some real offers and
CTAs still pass as negatives ("2 for the price of 1!"); ``strict_negatives`` drops the doubtful ones
for the builds that read its rows.

The ``ctr`` bucket of a Facebook ad uses the tertiles of the Facebook ads' own CTRs: their CTRs
(median about 11%, page-like ads) live on another scale than AdSynth's (median 1.6%), so the
AdSynth thresholds would call nearly all of them ``high``.

A malformed source line (bad JSON, wrong types, an unknown label) is reported as ``FILE:LINE:
reason`` on stderr and counted in the stats; the build goes on.

CLI: ``adfusion-edge data realtext [--src datasets/realtext] --out DIR`` writes ``DIR/train.jsonl``,
``DIR/pitt_test.jsonl`` (text-only manifests, ``read_manifest(..., text_only=True)``) and
``DIR/stats.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from adfusion_edge.distill.data.manifest import write_manifest
from adfusion_edge.distill.data.realtext_patterns import facts
from adfusion_edge.distill.data.records import AdRecord
from adfusion_edge.errors import AdFusionError

DEFAULT_SRC = Path(__file__).resolve().parents[2] / "datasets" / "realtext"
SLOGANS, OCR, FACEBOOK = "pitt_slogans.jsonl", "pitt_ocr_action_reason.jsonl", "facebook_ads.jsonl"
MIN_IMPRESSIONS = 1000


@dataclass
class BuildStats:
    """Counts of one build: rows per output and source, labels per head, malformed lines."""

    rows: Counter = field(default_factory=Counter)  # "train/pitt_slogans" -> n
    labels: Counter = field(default_factory=Counter)  # "train/cta" -> n labelled
    skipped: Counter = field(default_factory=Counter)  # reason -> n
    bad_lines: list[str] = field(default_factory=list)  # "FILE:LINE: reason"

    def to_dict(self) -> dict[str, Any]:
        return {"rows": dict(self.rows), "labels": dict(self.labels), "skipped": dict(self.skipped),
                "bad_lines": len(self.bad_lines), "bad_line_examples": self.bad_lines[:20]}


def iter_jsonl(path: Path, stats: BuildStats) -> Iterator[tuple[int, dict]]:
    """(line number, object) of each well-formed line; a malformed one is reported, counted and skipped.

    Raises:
        FileNotFoundError: the file does not exist (a missing source is not a malformed line).
    """
    if not path.is_file():
        raise FileNotFoundError(f"real-text source not found: {path}")
    with path.open("rb") as f:
        for line_no, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
                if not isinstance(obj, dict):
                    raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
            except (UnicodeDecodeError, ValueError) as e:
                _bad(stats, path, line_no, f"malformed line: {e}")
                continue
            yield line_no, obj


def _bad(stats: BuildStats, path: Path, line_no: int, reason: str) -> None:
    msg = f"{path}:{line_no}: {reason}"
    stats.bad_lines.append(msg)
    print(msg, file=sys.stderr)


def negatives(text: str) -> dict[str, str]:
    """The CTA / monetary negatives a real text supports (``none`` where no CTA / offer is found)."""
    f = facts(text)
    out = {}
    if not f.cta:
        out["cta"] = "none"
    if not f.offer:
        out["monetary"] = "none"
    return out


def _text_of(obj: dict, key: str) -> str:
    t = obj.get(key)
    if t is None:
        return ""
    if not isinstance(t, str):
        raise ValueError(f"{key!r} must be a string or null, got {type(t).__name__}")
    return t.strip()


def _record(rid: str, text: str, labels: dict[str, Any], meta: dict, ctr: float | None = None) -> AdRecord:
    return AdRecord(id=rid, image=None, text=text, labels={k: v for k, v in labels.items() if v is not None},
                    ctr_value=ctr, meta=meta)


def pitt_records(path: Path, text_key: str, source: str, stats: BuildStats) -> dict[str, list[AdRecord]]:
    """Pitt slogans (``text_key='text'``) or OCR rows (``'ocr_text'``) -> {"train": [...], "test": [...]}."""
    out: dict[str, list[AdRecord]] = {"train": [], "test": []}
    for line_no, obj in iter_jsonl(path, stats):
        try:
            split = obj.get("split")
            if split not in out:
                raise ValueError(f"'split' must be 'train' or 'test', got {split!r}")
            text = _text_of(obj, text_key)
            if not text:
                stats.skipped[f"{source}: no text"] += 1
                continue
            labels = {"theme": obj.get("theme"), "sentiment": obj.get("sentiment"), **negatives(text)}
            meta = {"source": source, "ad_id": obj.get("ad_id"), "split": split,
                    "pitt_topic": (obj.get("pitt_topic") or {}).get("name")}
            rec = _record(f"{source}/{split}/{line_no}", text, labels, meta)
        except (ValueError, AdFusionError) as e:
            _bad(stats, path, line_no, str(e))
            continue
        out[split].append(rec)
    return out


def facebook_records(path: Path, stats: BuildStats) -> list[AdRecord]:
    """Facebook ads -> rows with CTR (ads with >= MIN_IMPRESSIONS impressions) and CTA / monetary negatives."""
    parsed: list[tuple[int, str, float | None]] = []
    for line_no, obj in iter_jsonl(path, stats):
        try:
            text = _text_of(obj, "text")
            ctr, imp = obj.get("ctr"), obj.get("impressions")
            if ctr is not None and (isinstance(ctr, bool) or not isinstance(ctr, (int, float)) or not 0 <= ctr <= 1):
                raise ValueError(f"'ctr' must be a number in [0, 1] or null, got {ctr!r}")
            if imp is not None and (isinstance(imp, bool) or not isinstance(imp, int)):
                raise ValueError(f"'impressions' must be an integer or null, got {imp!r}")
        except ValueError as e:
            _bad(stats, path, line_no, str(e))
            continue
        if not text:
            stats.skipped["facebook: no text"] += 1
            continue
        usable = ctr is not None and imp is not None and imp >= MIN_IMPRESSIONS
        if ctr is not None and not usable:
            stats.skipped[f"facebook: ctr with < {MIN_IMPRESSIONS} impressions (kept as text)"] += 1
        parsed.append((line_no, text, float(ctr) if usable else None))
    values = np.array([c for _, _, c in parsed if c is not None])
    t1, t2 = (np.quantile(values, [1 / 3, 2 / 3]) if values.size else (0.0, 0.0))
    out = []
    for line_no, text, ctr in parsed:
        bucket = None if ctr is None else "low" if ctr < t1 else "medium" if ctr < t2 else "high"
        meta = {"source": "facebook", "line": line_no, "ctr_tertiles": [float(t1), float(t2)]}
        out.append(_record(f"facebook/{line_no}", text, {"ctr": bucket, **negatives(text)}, meta, ctr))
    return out


def build(src: str | os.PathLike, out_dir: str | os.PathLike | None = None,
          stats: BuildStats | None = None) -> dict[str, list[AdRecord]]:
    """All real-text rows: ``{"train": [...], "pitt_test": [...]}``; written as manifests when ``out_dir`` is given."""
    src = Path(src)
    stats = stats if stats is not None else BuildStats()
    slog = pitt_records(src / SLOGANS, "text", "pitt_slogans", stats)
    ocr = pitt_records(src / OCR, "ocr_text", "pitt_ocr", stats)
    fb = facebook_records(src / FACEBOOK, stats)
    parts = {"train": {"pitt_slogans": slog["train"], "pitt_ocr": ocr["train"], "facebook": fb},
             "pitt_test": {"pitt_slogans": slog["test"], "pitt_ocr": ocr["test"]}}
    result: dict[str, list[AdRecord]] = {}
    for name, by_source in parts.items():
        rows = [r for recs in by_source.values() for r in recs]
        for source, recs in by_source.items():
            stats.rows[f"{name}/{source}"] = len(recs)
        for r in rows:
            for head in r.labels:
                stats.labels[f"{name}/{head}"] += 1
            if r.ctr_value is not None:
                stats.labels[f"{name}/ctr_value"] += 1
        result[name] = rows
    if out_dir is not None:
        out = Path(out_dir)
        for name, rows in result.items():
            write_manifest(out / f"{name}.jsonl", rows, text_only=True)
        (out / "stats.json").write_text(json.dumps(stats.to_dict(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``adfusion-edge data realtext``."""
    parser.add_argument("--src", default=str(DEFAULT_SRC), help="folder with the real-text JSONL files")
    parser.add_argument("--out", required=True, help="folder for train.jsonl, pitt_test.jsonl and stats.json")


def run(args: argparse.Namespace) -> int:
    """Build the manifests and print the counts as JSON; returns the exit code."""
    stats = BuildStats()
    build(args.src, args.out, stats)
    print(json.dumps({"out": str(args.out), **stats.to_dict()}, sort_keys=True))
    return 0
