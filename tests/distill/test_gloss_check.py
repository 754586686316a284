"""The dictionary-gloss adoption check (distill/evaluate/gloss_check.py): the English->X word-by-word
translator, the English table read from a dictd file, the rule, bad input, and one small end-to-end run
with the real ``small`` bundle and the installed German FreeDict dictionaries (skipped without them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dictd_fixtures import write_dictd

from adfusion_edge.distill.evaluate import gloss_check as gc

SYSTEM = Path("/usr/share/dictd")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    # The Analyzer caches parsed dictionaries under ADFUSION_CACHE_DIR: never the home folder in tests.
    monkeypatch.setenv("ADFUSION_CACHE_DIR", str(tmp_path / "cache"))




# --------------------------------------------------------------------------- translator

TABLE = {"buy": ("kaufen", "erwerben"), "now": ("jetzt",), "car": ("auto",), "the": ("das",),
         "cafe": ("kaffeehaus",), "free": ()}


def test_translate_replaces_known_words_by_their_first_sense():
    assert gc.translate("buy the car now", TABLE) == "kaufen das auto jetzt"


def test_translate_keeps_numbers_punctuation_spacing_and_unknown_words():
    text = "Buy 2 cars NOW, 50% OFF!\n$9.99 - the\tcar."
    assert gc.translate(text, TABLE) == "kaufen 2 cars jetzt, 50% OFF!\n$9.99 - das\tauto."


def test_translate_folds_case_and_accents_and_keeps_compound_words_whole():
    # "Café" is looked up as "cafe"; "car-free" and "don't" are one word each, unknown, so kept.
    assert gc.translate("Café car-free don't", TABLE) == "kaffeehaus car-free don't"


def test_translate_keeps_a_word_without_senses_and_is_deterministic():
    assert gc.translate("free car", TABLE) == "free auto"
    assert gc.translate("free car", TABLE) == gc.translate("free car", dict(reversed(list(TABLE.items()))))


def test_translated_words_counts_what_the_table_knows():
    assert gc.translated_words(["Buy the car, 50%", "free cars"], TABLE) == (3, 5)
    assert gc.translated_words([""], TABLE) == (0, 0)


def test_english_table_read_for_some_words_equals_the_full_read(tmp_path):
    entries = [("buy", "buy /bai/\n1. acheter, acquerir\n2. achat\n"),
               ("car", "car /kar/\nauto, bagnole\n"),
               ("Buy", "Buy\nachat\n"),  # a second entry of the same folded word: order decides
               ("sun", "sun /san/\nsoleil\n")]
    index, data = write_dictd(tmp_path / "d", "freedict-eng-fra", entries)
    full = gc.english_table(index, data)
    cut = gc.english_table(index, data, words={"Buy", "sun", "absent"})
    assert full == {"buy": ("acheter",), "car": ("auto",), "sun": ("soleil",)}
    assert cut == {k: v for k, v in full.items() if k in ("buy", "sun")}


# --------------------------------------------------------------------------- the rule

HEADS4 = {"theme": 0.70, "sentiment": 0.40, "cta": 0.99, "monetary": 0.98}


def _decide(en_on=None, fo_off=None, fo_on=None, en_off=None):
    en_off = {**HEADS4, **(en_off or {})}
    en_on = {**HEADS4, **(en_on or {})}
    fo_off = {**{"theme": 0.50, "sentiment": 0.30, "cta": 0.99, "monetary": 0.99}, **(fo_off or {})}
    fo_on = {**{"theme": 0.56, "sentiment": 0.30, "cta": 0.99, "monetary": 0.99}, **(fo_on or {})}
    parts = gc.decide(en_off, en_on, fo_off, fo_on)
    return all(parts.values()), parts


def test_rule_adopts_when_every_part_holds():
    adopt, parts = _decide()
    assert adopt
    assert set(parts) == {"english_theme_holds", "english_sentiment_holds", "english_cta_holds",
                          "english_monetary_holds", "foreign_theme_gains", "foreign_cta_holds",
                          "foreign_monetary_holds"}


def test_rule_english_tolerance_is_half_a_point_either_way():
    assert _decide(en_on={"theme": 0.705})[0]  # exactly 0.5 points
    assert _decide(en_on={"sentiment": 0.395})[0]
    adopt, parts = _decide(en_on={"theme": 0.7051})
    assert not adopt and not parts["english_theme_holds"]  # a rise beyond it is a change too
    adopt, parts = _decide(en_on={"cta": 0.984})
    assert not adopt and not parts["english_cta_holds"]


def test_rule_needs_a_five_point_pooled_theme_gain():
    assert _decide(fo_on={"theme": 0.55})[0]  # exactly 5 points
    adopt, parts = _decide(fo_on={"theme": 0.549})
    assert not adopt and not parts["foreign_theme_gains"]
    assert not _decide(fo_on={"theme": 0.45})[0]


def test_rule_pooled_cta_and_monetary_may_fall_one_point_at_most():
    assert _decide(fo_on={"cta": 0.98, "monetary": 0.98})[0]  # exactly 1 point each
    adopt, parts = _decide(fo_on={"cta": 0.979})
    assert not adopt and not parts["foreign_cta_holds"] and parts["foreign_monetary_holds"]
    adopt, parts = _decide(fo_on={"monetary": 0.97})
    assert not adopt and not parts["foreign_monetary_holds"] and parts["foreign_cta_holds"]
    assert _decide(fo_on={"cta": 1.0, "monetary": 1.0})[0]  # a rise is fine


def test_rule_fails_a_part_without_figures():
    adopt, parts = _decide(fo_off={"theme": None}, fo_on={"theme": None})
    assert not adopt and not parts["foreign_theme_gains"]
    assert not _decide(fo_on={"cta": None})[0]
    assert not _decide(en_on={"theme": None})[0]
    # A head no English row labels has nothing to hold.
    adopt, parts = _decide(en_off={"sentiment": None}, en_on={"sentiment": None})
    assert adopt and "english_sentiment_holds" not in parts


def test_score_counts_labelled_rows_only():
    preds = [{"theme": "food", "sentiment": "positive", "cta": "none", "monetary": "none", "glossed": True,
              "language": "deu"},
             {"theme": "travel", "sentiment": "neutral", "cta": "shop_now", "monetary": "none", "glossed": False,
              "language": None}]
    labels = [{"theme": "food", "cta": "none"}, {"cta": "none", "monetary": "none"}]
    s = gc.score(preds, labels)
    assert s["theme"] == {"n": 1, "accuracy": 1.0, "glossed": 1.0, "majority": 1.0, "majority_label": "food"}
    assert s["cta"]["n"] == 2 and s["cta"]["accuracy"] == 0.5 and s["cta"]["glossed"] == 0.5
    assert s["sentiment"]["n"] == 0 and s["sentiment"]["accuracy"] is None
    assert s["glossed_rows"] == 1 and s["languages"] == {"deu": 1}


# --------------------------------------------------------------------------- bad input

def test_missing_rows_file_exits_2(tmp_path, capsys):
    rc = gc.main(["--test-rows", str(tmp_path / "none.jsonl"), "--languages", "deu"])
    assert rc == 2
    assert "none.jsonl: no such file" in capsys.readouterr().err


def test_missing_reverse_dictionary_names_the_apt_package(tmp_path, monkeypatch, capsys):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"id": "a", "text": "buy now", "labels": {"cta": "none"}}\n')
    monkeypatch.setattr(gc.glossary, "dict_dirs", lambda: [tmp_path / "empty"])
    assert gc.main(["--test-rows", str(rows), "--languages", "fra"]) == 2
    assert "apt install dict-freedict-eng-fra" in capsys.readouterr().err


def test_missing_gloss_dictionary_names_the_apt_package(tmp_path, monkeypatch, capsys):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"id": "a", "text": "buy now", "labels": {"cta": "none"}}\n')
    write_dictd(tmp_path / "d", "freedict-eng-ita", [("buy", "buy\ncomprare\n")])
    monkeypatch.setattr(gc.glossary, "dict_dirs", lambda: [tmp_path / "d"])
    monkeypatch.setattr(gc.glossary, "find_dictionaries", lambda dirs=None: {})
    assert gc.main(["--test-rows", str(rows), "--languages", "ita"]) == 2
    assert "apt install dict-freedict-ita-eng" in capsys.readouterr().err


def test_unknown_language_exits_2(tmp_path, capsys):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"id": "a", "text": "buy now"}\n')
    assert gc.main(["--test-rows", str(rows), "--languages", "deu,xxx"]) == 2
    assert "--languages" in capsys.readouterr().err


# --------------------------------------------------------------------------- end to end

ROWS = [
    ("Hot pizza with fresh cheese, order tonight", {"theme": "food", "sentiment": "positive"}),
    ("The new car that drives itself", {"theme": "automotive"}),
    ("Soft skin all winter long", {"theme": "beauty", "sentiment": "positive"}),
    ("Fly to the sun this summer", {"theme": "travel"}),
    ("Dresses and shoes for the whole family", {"theme": "fashion"}),
    ("Save money with a better bank", {"theme": "finance", "sentiment": "neutral"}),
    ("Fresh bread baked every morning", {"theme": "food"}),
    ("A safe and quiet family car", {"theme": "automotive"}),
    ("Coffee that tastes like home", {"theme": "food", "sentiment": "positive"}),
    ("Your skin deserves the best cream", {"theme": "beauty"}),
] * 3


def _german_only_glossary(folder: Path, texts: list[str]):
    """The installed German->English dictionary cut to the index lines these texts can look up, as a
    Glossary of German alone.

    Why: the Analyzer would parse all of it (519k index lines, seconds) into the empty test cache. Every
    word its lookup tries (the word, a stem, a compound part) is a substring of a folded word of the
    text, so the cut dictionary glosses these texts as the whole one does.
    """
    from adfusion_edge import gloss

    haystack = " ".join(sorted(gc.words_of(texts)))
    lines = (SYSTEM / "freedict-deu-eng.index").read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [ln for ln in lines if gc._folded(ln.split("\t", 1)[0]) in haystack]
    folder.mkdir(parents=True)
    (folder / "freedict-deu-eng.index").write_text("".join(kept), encoding="utf-8")
    (folder / "freedict-deu-eng.dict.dz").symlink_to(SYSTEM / "freedict-deu-eng.dict.dz")
    return gloss.Glossary(dirs=[folder])


GERMAN = ("freedict-eng-deu.index", "freedict-deu-eng.index")


@pytest.mark.skipif(not all((SYSTEM / f).is_file() for f in GERMAN),
                    reason="needs the German FreeDict dictionaries in /usr/share/dictd "
                           "(apt install dict-freedict-eng-deu dict-freedict-deu-eng)")
def test_end_to_end_small_bundle_german(tmp_path, monkeypatch):
    from adfusion_edge import gloss

    table = gc.english_table(SYSTEM / "freedict-eng-deu.index", SYSTEM / "freedict-eng-deu.dict.dz",
                             words=gc.words_of(t for t, _ in ROWS))
    german = [gc.translate(t, table) for t, _ in ROWS]
    monkeypatch.setattr(gloss, "_DEFAULT", _german_only_glossary(tmp_path / "dict", german + [t for t, _ in ROWS]))
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"id": f"r{i}", "text": t, "labels": {**lab, "cta": "none", "monetary": "none"},
                                        "meta": {"source": "test"}}) + "\n" for i, (t, lab) in enumerate(ROWS)))
    out_json, out_md = tmp_path / "out" / "check.json", tmp_path / "out" / "check.md"
    rc = gc.main(["--bundle", "small", "--test-rows", str(rows), "--out-json", str(out_json), "--out-md", str(out_md),
                  "--limit", "20", "--languages", "deu", "--threads", "1"])
    result = json.loads(out_json.read_text())
    assert rc == (0 if result["adopt"] else 3)
    assert result["rows"] == 20 and result["languages"] == ["deu"]
    assert result["english"]["off"]["theme"]["n"] == 20 and result["english"]["off"]["sentiment"]["n"] == 8
    assert result["english"]["off"]["glossed_rows"] == 0
    deu = result["foreign"]["deu"]
    assert deu["raw"]["glossed_rows"] == 0 and deu["glossed"]["glossed_rows"] > 0
    assert 0.5 < deu["translated_words"] <= 1.0
    assert deu["examples"][0]["translated"] != deu["examples"][0]["english"]
    assert result["pooled"]["raw"] == deu["raw"]  # one language: the pool is that language
    assert set(result["rule"]) >= {"foreign_theme_gains", "foreign_cta_holds", "foreign_monetary_holds"}
    md = out_md.read_text()
    for part in ("## theme", "## sentiment", "## cta", "## monetary", "English, gloss off", "English, gloss on",
                 "German (deu), raw", "German (deu), glossed", "pooled foreign, glossed", "majority",
                 "**Verdict: ", "--limit 20", "UTC"):
        assert part in md
