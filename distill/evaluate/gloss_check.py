"""Does the Analyzer's dictionary gloss (adfusion_edge/gloss.py) pay on foreign ad text, at no cost in English?

The adoption check of ``Analyzer(gloss=True)``. It reads data the rule may read, never the real-ad
dev images:

* **English rows**: the Pitt test rows (``runs/realtext_v1/pitt_test.jsonl``: real English ad text,
  labelled theme / sentiment where the annotators gave one, cta / monetary ``none`` where
  ``realtext_patterns`` finds no CTA or offer; a missing label is a head left out of the row's
  ``labels``), read with the blank picture of text-only rows (distill/data/text_rows.py). Each row
  goes through ``Analyzer(model=BUNDLE, ocr=False, gloss=False)`` and ``gloss=True``
  (``run_batch``): per head, accuracy over the rows that carry that head's label, and how many
  English rows were glossed at all (``report.text_gloss`` set).
* **Foreign rows**: each English row put word by word into German, French, Spanish, Italian, Dutch
  and Portuguese with FreeDict's English->X dictionary (``freedict-eng-<lang>``; its first sense per
  word, read by ``adfusion_edge.gloss.parse_dictd(..., max_senses=1)``; unknown words, digits and
  punctuation kept: :func:`translate`). Its labels are the English row's. Scored with the gloss off
  ("raw") and on ("glossed"): per language and head, accuracy and the share of rows glossed; and
  pooled over the languages. The round trip English -> X (one dictionary) -> English (another
  dictionary, with senses, inflections and compounds) is harder than real foreign copy in one way
  (two lossy dictionaries) and easier in another (the words were ad words to begin with); it is the
  test text there is without labelled foreign ads.

Rule (fixed 2026-12-03 18:34 UTC, before any figure was read): ADOPT iff

(a) on the English rows, every labelled head's accuracy with ``gloss=True`` is within
    ``ENGLISH_TOLERANCE`` (0.5 points) of ``gloss=False``, either way;
(b) on the foreign rows pooled over the languages checked, theme accuracy with ``gloss=True``
    exceeds ``gloss=False`` by at least ``THEME_GAIN`` (5 points);
(c) pooled cta and monetary accuracy with ``gloss=True`` are not lower than with ``gloss=False``
    by more than ``MENTION_TOLERANCE`` (1 point).

A figure the rule needs that has no labelled row fails its part.

    python -m adfusion_edge.distill.evaluate.gloss_check --bundle small \\
        --test-rows runs/realtext_v1/pitt_test.jsonl --out-json reports/real_ads/gloss_check.json \\
        --out-md reports/real_ads/gloss_check.md [--limit N] [--languages deu,fra,...]

Exit status 0 = adopt, 3 = reject, 2 = bad input (rows file missing or empty, a dictionary not
installed: the message names its Debian / Ubuntu package, ``dict-freedict-eng-<lang>`` for this
check's translation, ``dict-freedict-<lang>-eng`` for the Analyzer's gloss).
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from adfusion_edge import gloss as glossary
from adfusion_edge.distill.data.text_rows import TextRowDataset
from adfusion_edge.distill.evaluate.json_report import emit
from adfusion_edge.errors import AdFusionError

HEADS = ("theme", "sentiment", "cta", "monetary")  # the heads the Pitt text rows label
ENGLISH_TOLERANCE = 0.005
THEME_GAIN = 0.05
MENTION_TOLERANCE = 0.01
MENTION_HEADS = ("cta", "monetary")
EPS = 1e-9  # figures are ratios of counts: a difference of exactly the tolerance must pass
BATCH = 64
EXAMPLES = 3  # translated rows kept in the JSON per language, for a reader to judge the text

Table = Mapping[str, Sequence[str]]


class BadInput(Exception):
    """An input the check cannot run on (exit status 2); the message says what to do."""


# ----------------------------------------------------------------------------- English -> X

def reverse_dictionary(lang: str) -> tuple[Path, Path]:
    """The English->``lang`` FreeDict files, found where the Analyzer looks for its dictionaries.

    Args:
        lang: FreeDict language code (``deu``, ``fra``, ...).

    Returns:
        (index, data) of ``freedict-eng-<lang>``.

    Raises:
        BadInput: not installed in any of ``adfusion_edge.gloss.dict_dirs()`` (names the apt package).
    """
    dirs = glossary.dict_dirs()
    for d in dirs:
        index = d / f"freedict-eng-{lang}.index"
        for data in (d / f"freedict-eng-{lang}.dict.dz", d / f"freedict-eng-{lang}.dict"):
            if index.is_file() and data.is_file():
                return index, data
    raise BadInput(f"no English->{glossary.LANGUAGES[lang]} dictionary (freedict-eng-{lang}.index and "
                   f".dict.dz) in {', '.join(map(str, dirs))}: install it with `apt install dict-freedict-eng-{lang}` "
                   f"(or put the files in ADFUSION_DICT_DIR), or leave {lang} out with --languages")


def english_table(index: Path, data: Path, words: Iterable[str] | None = None) -> dict[str, tuple[str, ...]]:
    """English word (folded) -> its first sense in the other language, read by ``parse_dictd(max_senses=1)``.

    Args:
        index: The dictd index of an English->X dictionary.
        data: Its data file (``.dict.dz`` or ``.dict``).
        words: Read only the entries of these words (folded or not); None reads them all.

    Returns:
        The word table (``parse_dictd``'s).
    """
    if words is None:
        return glossary.parse_dictd(index, data, max_senses=1)
    # The English->German index has 80k headwords and takes seconds to parse; a check reads a few
    # thousand words. parse_dictd builds a word's senses from the index lines whose word folds to it,
    # in file order (the order breaks ties), so an index cut to those lines gives the same senses.
    wanted = {glossary.fold(w) for w in words}
    lines = index.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [ln for ln in lines if _folded(ln.split("\t", 1)[0]) in wanted]
    with tempfile.TemporaryDirectory() as tmp:
        cut = Path(tmp) / index.name
        cut.write_text("".join(kept), encoding="utf-8")
        return glossary.parse_dictd(cut, data, max_senses=1)


def _folded(word: str) -> str:
    """``glossary.fold(word)``, faster for plain ASCII (where folding is lower-casing): 80k index lines."""
    return word.lower() if word.isascii() else glossary.fold(word)


def translate(text: str, table: Table) -> str:
    """``text`` put word by word into the table's language: each word the table knows becomes its first
    sense; unknown words, digits, currency signs, punctuation and spacing stay as they are.

    Args:
        text: English text.
        table: Folded English word -> senses (the first one is used), e.g. :func:`english_table`'s.

    Returns:
        The translated text (deterministic: one sense per word, no context).
    """

    def one(m: re.Match) -> str:
        senses = table.get(glossary.fold(m.group(0)))
        return senses[0] if senses else m.group(0)

    return glossary.WORD.sub(one, text)


def translated_words(texts: Iterable[str], table: Table) -> tuple[int, int]:
    """(words the table translates, words) over ``texts``: how much of the foreign text is foreign."""
    known = total = 0
    for text in texts:
        for w in glossary.WORD.findall(text):
            total += 1
            known += bool(table.get(glossary.fold(w)))
    return known, total


def words_of(texts: Iterable[str]) -> set[str]:
    """The folded words of ``texts`` (what :func:`english_table` needs to read)."""
    return {glossary.fold(w) for t in texts for w in glossary.WORD.findall(t)}


# ----------------------------------------------------------------------------- scoring

@dataclass(frozen=True)
class Rows:
    """The labelled text rows: texts, their labels (head -> label; missing = unlabelled) and the blank picture."""

    texts: list[str]
    labels: list[dict[str, str]]
    image: np.ndarray


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise BadInput(f"{path}: no such file (the Pitt test rows: `adfusion-edge data realtext --out DIR` "
                       "writes DIR/pitt_test.jsonl)")


def read_rows(path: Path, preprocess: Any, limit: int | None = None) -> Rows:
    """The first ``limit`` rows of a text-only manifest, as ``text_rows_eval`` reads them (TextRowDataset:
    same reader, same blank picture, image-driven heads dropped).

    Raises:
        BadInput: the file is missing or has no rows.
    """
    _require_file(path)
    try:
        ds = TextRowDataset.from_text_manifests(path, cfg=preprocess)
    except AdFusionError as e:
        raise BadInput(str(e)) from None
    n = len(ds) if limit is None else min(limit, len(ds))
    samples = [ds[i] for i in range(n)]
    labels = [{h: v for h, v in s.record.labels.items() if h in HEADS and isinstance(v, str)} for s in samples]
    return Rows([s.record.text for s in samples], labels, samples[0].image if samples else np.zeros(0))


def _label(report: Any, head: str) -> str:
    value = getattr(report, head)
    return value.type.label if head == "monetary" else value.label


def predict(analyzer: Any, texts: Sequence[str], image: np.ndarray, desc: str) -> list[dict[str, Any]]:
    """Per text: the predicted label of each of HEADS, ``glossed`` (the model read a gloss) and ``language``.

    Args:
        analyzer: An ``adfusion_edge.Analyzer``.
        texts: Ad texts, each read with ``image``.
        image: The blank picture of the text-only rows.
        desc: Progress bar label.
    """
    out: list[dict[str, Any]] = []
    for start in tqdm(range(0, len(texts), BATCH), desc=desc, unit="batch", leave=False):
        chunk = list(texts[start:start + BATCH])
        for r in analyzer.run_batch([image] * len(chunk), chunk, batch_size=BATCH):
            out.append({**{h: _label(r, h) for h in HEADS}, "glossed": r.text_gloss is not None,
                        "language": r.text_language})
    return out


def score(preds: Sequence[Mapping[str, Any]], labels: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """Per head: ``n`` labelled rows, ``accuracy``, ``glossed`` (share of them the model read through a
    gloss), ``majority`` (share of the most common label) and ``majority_label``; plus ``rows`` and
    ``glossed_rows`` over all rows, and ``languages``: the gloss language of the glossed rows."""
    out: dict[str, Any] = {"rows": len(preds), "glossed_rows": sum(p["glossed"] for p in preds),
                           "languages": dict(Counter(p["language"] for p in preds if p["glossed"]).most_common())}
    for head in HEADS:
        pairs = [(p, lab[head]) for p, lab in zip(preds, labels, strict=True) if head in lab]
        if not pairs:
            out[head] = {"n": 0, "accuracy": None, "glossed": None, "majority": None, "majority_label": None}
            continue
        label, count = Counter(y for _, y in pairs).most_common(1)[0]
        out[head] = {"n": len(pairs), "accuracy": sum(p[head] == y for p, y in pairs) / len(pairs),
                     "glossed": sum(p["glossed"] for p, _ in pairs) / len(pairs),
                     "majority": count / len(pairs), "majority_label": label}
    return out


def accuracies(figures: Mapping[str, Any]) -> dict[str, float | None]:
    """{head: accuracy} of a :func:`score` result."""
    return {h: figures[h]["accuracy"] for h in HEADS}


# ----------------------------------------------------------------------------- the rule

def decide(english_off: Mapping[str, float | None], english_on: Mapping[str, float | None],
           foreign_off: Mapping[str, float | None], foreign_on: Mapping[str, float | None]) -> dict[str, bool]:
    """The rule of the module docstring, part by part (adopt iff every part holds).

    Args:
        english_off, english_on: Per head, accuracy on the English rows with the gloss off / on (None:
            no labelled row; such a head has nothing to hold in part (a)).
        foreign_off, foreign_on: Per head, accuracy on the pooled foreign rows with the gloss off / on.

    Returns:
        ``english_<head>_holds`` per labelled English head, ``foreign_theme_gains``,
        ``foreign_cta_holds`` and ``foreign_monetary_holds``.
    """
    parts: dict[str, bool] = {}
    for head, off in english_off.items():
        on = english_on.get(head)
        if off is None and on is None:
            continue
        parts[f"english_{head}_holds"] = off is not None and on is not None and abs(on - off) <= ENGLISH_TOLERANCE + EPS
    off, on = foreign_off.get("theme"), foreign_on.get("theme")
    parts["foreign_theme_gains"] = off is not None and on is not None and on - off >= THEME_GAIN - EPS
    for head in MENTION_HEADS:
        off, on = foreign_off.get(head), foreign_on.get(head)
        parts[f"foreign_{head}_holds"] = off is not None and on is not None and on >= off - MENTION_TOLERANCE - EPS
    return parts


RULE_TEXT = (f"ADOPT iff (a) on the English rows every labelled head's accuracy with gloss=True is within "
             f"{100 * ENGLISH_TOLERANCE:g} points of gloss=False; (b) on the foreign rows pooled over the languages, "
             f"theme accuracy with gloss=True exceeds gloss=False by at least {100 * THEME_GAIN:g} points; (c) pooled "
             f"cta and monetary accuracy with gloss=True are not lower than with gloss=False by more than "
             f"{100 * MENTION_TOLERANCE:g} point. (Fixed before any figure was read; module docstring.)")


# ----------------------------------------------------------------------------- report

def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def markdown(result: Mapping[str, Any]) -> str:
    """The report: one table per head (English off / on, each language raw / glossed, pooled), the
    translation coverage, the rule part by part and the verdict."""
    langs = result["languages"]
    sets: list[tuple[str, Mapping[str, Any]]] = [("English, gloss off", result["english"]["off"]),
                                                 ("English, gloss on", result["english"]["on"])]
    for lang in langs:
        name = f"{glossary.LANGUAGES[lang]} ({lang})"
        sets += [(f"{name}, raw (gloss off)", result["foreign"][lang]["raw"]),
                 (f"{name}, glossed (gloss on)", result["foreign"][lang]["glossed"])]
    sets += [("pooled foreign, raw (gloss off)", result["pooled"]["raw"]),
             ("pooled foreign, glossed (gloss on)", result["pooled"]["glossed"])]
    lines = [
        "# Dictionary gloss: adoption check",
        "",
        f"Generated {result['date']} by `{result['command']}` (bundle `{result['model']}`, "
        f"{result['rows']} rows of `{result['test_rows']}`; no dev-set images read).",
        "",
        "English rows: the Pitt test text rows with the blank picture of text-only rows. Foreign rows: each English "
        "row put word by word into the language with FreeDict's English->X dictionary (first sense per word; unknown "
        "words, digits and punctuation kept), with the English row's labels. Gloss off: "
        "`Analyzer(gloss=False)`; gloss on: `Analyzer(gloss=True)`. Accuracy is over the rows that carry the head's "
        "label; *glossed* is the share of those rows the model read through a gloss; *majority* is the share of "
        "the most common label on the same rows.",
        "",
        f"English rows glossed with the gloss on: {result['english']['on']['glossed_rows']} of {result['rows']}.",
        "",
    ]
    for head in HEADS:
        lines += [f"## {head}", "", "| rows | n | accuracy | glossed | majority |", "|---|---|---|---|---|"]
        for name, fig in sets:
            f = fig[head]
            lines.append(f"| {name} | {f['n']} | {_pct(f['accuracy'])} | {_pct(f['glossed'])} | "
                         f"{_pct(f['majority'])} ({f['majority_label'] or 'n/a'}) |")
        lines.append("")
    lines += ["## Translation", "", "| language | English words translated | rows glossed (gloss on) | "
              "gloss language of the glossed rows |", "|---|---|---|---|"]
    for lang in langs:
        f = result["foreign"][lang]
        g = f["glossed"]
        found = ", ".join(f"{k} {v}" for k, v in g["languages"].items()) or "none"
        lines.append(f"| {glossary.LANGUAGES[lang]} ({lang}) | {_pct(f['translated_words'])} | "
                     f"{g['glossed_rows']} of {g['rows']} | {found} |")
    verdict = "ADOPT" if result["adopt"] else "REJECT"
    lines += ["", "## Rule", "", RULE_TEXT, ""]
    lines += [f"- {part}: {'yes' if ok else 'no'}" for part, ok in result["rule"].items()]
    lines += ["", f"**Verdict: {verdict}** (exit status {0 if result['adopt'] else 3}).", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- entry point

def _languages(arg: str | None) -> list[str]:
    if arg is None:
        return list(glossary.LANGUAGES)
    langs = [x.strip() for x in arg.split(",") if x.strip()]
    unknown = [x for x in langs if x not in glossary.LANGUAGES]
    if unknown or not langs:
        raise BadInput(f"--languages {arg!r}: give codes among {', '.join(glossary.LANGUAGES)}")
    return list(dict.fromkeys(langs))


def _check_glossary(langs: Sequence[str]) -> None:
    """Every language checked must also be one the Analyzer glosses, else gloss=True cannot help it."""
    installed = glossary.find_dictionaries()
    missing = [x for x in langs if x not in installed]
    if missing:
        raise BadInput("the Analyzer glosses with the X->English dictionaries, and "
                       + ", ".join(f"freedict-{x}-eng" for x in missing) + " is not installed: "
                       + "; ".join(f"`apt install dict-freedict-{x}-eng`" for x in missing)
                       + " (or leave them out with --languages)")


def run(bundle: str, test_rows: Path, langs: Sequence[str], limit: int | None = None,
        threads: int | None = None, command: str = "") -> dict[str, Any]:
    """Score the bundle on the English and the translated rows with the gloss off and on; the figures,
    the rule's parts and ``adopt``.

    Raises:
        BadInput: a missing dictionary or rows file, a bundle that cannot be loaded.
    """
    from adfusion_edge import Analyzer

    _require_file(test_rows)  # the cheap checks first: the gloss-on Analyzer reads its dictionaries at load
    dictionaries = {lang: reverse_dictionary(lang) for lang in langs}
    _check_glossary(langs)
    try:
        off = Analyzer(model=bundle, ocr=False, gloss=False, threads=threads)
        on = Analyzer(model=bundle, ocr=False, gloss=True, threads=threads, warmup=True)
    except AdFusionError as e:
        raise BadInput(f"--bundle {bundle}: {e}") from None
    rows = read_rows(test_rows, off.preprocess, limit)
    if not rows.texts:
        raise BadInput(f"{test_rows}: no rows")
    result: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "command": command, "bundle": bundle,
        "model": str(off.bundle.path), "test_rows": str(test_rows), "limit": limit, "rows": len(rows.texts),
        "languages": list(langs),
        "thresholds": {"english_tolerance": ENGLISH_TOLERANCE, "theme_gain": THEME_GAIN,
                       "mention_tolerance": MENTION_TOLERANCE},
        "english": {"off": score(predict(off, rows.texts, rows.image, "English, gloss off"), rows.labels),
                    "on": score(predict(on, rows.texts, rows.image, "English, gloss on"), rows.labels)},
        "foreign": {},
    }
    vocabulary = words_of(rows.texts)
    pooled_raw: list[dict[str, Any]] = []
    pooled_glossed: list[dict[str, Any]] = []
    for lang in tqdm(langs, desc="languages", unit="language"):
        table = english_table(*dictionaries[lang], words=vocabulary)
        texts = [translate(t, table) for t in rows.texts]
        known, total = translated_words(rows.texts, table)
        raw = predict(off, texts, rows.image, f"{lang}, gloss off")
        glossed = predict(on, texts, rows.image, f"{lang}, gloss on")
        pooled_raw += raw
        pooled_glossed += glossed
        result["foreign"][lang] = {
            "dictionary": str(dictionaries[lang][0]), "translated_words": known / total if total else None,
            "raw": score(raw, rows.labels), "glossed": score(glossed, rows.labels),
            "examples": [{"english": e, "translated": t} for e, t in zip(rows.texts[:EXAMPLES], texts, strict=False)]}
    pooled_labels = rows.labels * len(langs)
    result["pooled"] = {"raw": score(pooled_raw, pooled_labels), "glossed": score(pooled_glossed, pooled_labels)}
    parts = decide(accuracies(result["english"]["off"]), accuracies(result["english"]["on"]),
                   accuracies(result["pooled"]["raw"]), accuracies(result["pooled"]["glossed"]))
    result["rule"] = parts
    result["adopt"] = all(parts.values())
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", default="small", help="bundle size name or directory (default: small)")
    p.add_argument("--test-rows", required=True, type=Path, help="text-only manifest of labelled English ad text "
                   "(runs/realtext_v1/pitt_test.jsonl)")
    p.add_argument("--out-json", type=Path, help="write the figures and the decision as JSON here")
    p.add_argument("--out-md", type=Path, help="write the markdown report here")
    p.add_argument("--limit", type=int, help="read only the first N rows")
    p.add_argument("--languages",
                   help=f"comma-separated FreeDict codes (default: all of {','.join(glossary.LANGUAGES)})")
    p.add_argument("--threads", type=int, help="inference threads per Analyzer (default: the runtime's)")
    a = p.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    command = "python -m adfusion_edge.distill.evaluate.gloss_check " + shlex.join(given)
    try:
        if a.limit is not None and a.limit < 1:
            raise BadInput(f"--limit must be >= 1, got {a.limit}")
        result = run(a.bundle, a.test_rows, _languages(a.languages), a.limit, a.threads, command)
    except BadInput as e:
        print(f"gloss_check: {e}", file=sys.stderr)
        return 2
    emit(result, a.out_json)
    if a.out_md:
        a.out_md.parent.mkdir(parents=True, exist_ok=True)
        a.out_md.write_text(markdown(result), encoding="utf-8")
    print(f"gloss_check: {'ADOPT' if result['adopt'] else 'REJECT'}", file=sys.stderr)
    return 0 if result["adopt"] else 3


if __name__ == "__main__":
    raise SystemExit(main())
