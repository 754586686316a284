"""The word-by-word English gloss of ads in other languages (adfusion_edge/gloss.py) and how the
Analyzer reads it. Dictionaries are written here in dictd format, so these tests need nothing
installed; the last test reads the installed German FreeDict dictionary and is skipped without it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dictd_fixtures import write_dictd
from PIL import Image

from adfusion_edge import AdReport, Analyzer, gloss
from adfusion_edge.errors import ConfigError

GERMAN = [
    ("00databaseinfo", "German - English test dictionary\n"),
    ("am", "Amplitudenmodulation /ampli/ (AM /am/) <fem, n, sg>\namplitude modulation <n>\n"),
    ("auto", "Auto /ˈaʊtoː/ <neut, n, sg>\ncar <n>, automobile <n> [Am.]\n      \"mit dem Auto fahren\"  - go by car\n"),
    ("auto", "Auto… /ˈaʊtoː/ <adj>\nautomotive <adj>\n"),
    ("bestellen", "bestellen /bə/ <v, trans>\n [agr.] till the soil <v>\n"),
    ("bestellen", "bestellen /bə/ <v>\norder sth. <v>\n      \"ein Glas bestellen\"  - order a glass\n"),
    ("versicherung", "Versicherung /fɛ/ <fem, n, sg>\n [fin.] insurance <n>, assurance <n>\n"),
    ("schutz", "Schutz /ʃ/ <masc, n, sg>\nprotection <n>\n"),
    ("kalt", "kalt /k/ <adj>\ncold <adj>\n"),
    ("bier", "Bier /b/ <neut, n, sg>\nbeer <n>\n"),
    ("und", "und /ʊnt/ <conj>\nand <conj>\n"),
    ("fur", "für /fyːɾ/ <prep>\nfor <prep>\n"),
    ("grosse", "Größe /g/ <fem, n, sg>\nsize <n>\n"),
]
FRENCH = [("voiture", "voiture /vwa/ <n, fem>\n1. vehicle, car\n2. carriage\n"),
          ("pour", "pour /pu/ <prep>\nfor, to\n"), ("et", "et /e/ <conj>\nand\n")]


def test_a_dictd_entry_gives_its_common_senses_and_abbreviations_are_skipped(tmp_path):
    table = gloss.parse_dictd(*write_dictd(tmp_path, "freedict-deu-eng", GERMAN))
    assert table["auto"] == ("car",)  # "Auto…" is another headword that only indexes "auto"
    assert "am" not in table  # the index word of an abbreviation, not a headword
    # the entry with no domain mark and a usage example comes first; "sth." is dropped
    assert table["bestellen"] == ("order", "till the soil")
    assert table["versicherung"] == ("insurance",)
    assert table["fur"] == ("for",) and table["grosse"] == ("size",)  # accents and ß folded
    plain = gloss.parse_dictd(*write_dictd(tmp_path / "plain", "freedict-fra-eng", FRENCH, zipped=False))
    assert plain["voiture"] == ("vehicle", "carriage")  # numbered senses, first of each


def test_a_malformed_index_line_names_the_file_and_line(tmp_path):
    index, data = write_dictd(tmp_path, "freedict-deu-eng", GERMAN[:3])
    index.write_text(index.read_text() + "broken line without tabs\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{index.name}:4: not a dictd index line"):
        gloss.parse_dictd(index, data)
    with pytest.raises(ConfigError, match="cannot read the dictionary"):
        gloss.parse_dictd(tmp_path / "missing.index", data)


def _glossary() -> gloss.Glossary:
    return gloss.Glossary({"deu": {"auto": ["car"], "versicherung": ["insurance"], "schutz": ["protection"],
                                   "kalt": ["cold"], "bier": ["beer"], "und": ["and"], "für": ["for"],
                                   "ihr": ["your"], "haus": ["house"]},
                           "fra": {"voiture": ["vehicle", "car"], "pour": ["for"], "et": ["and"]}})


def test_words_are_found_inflected_and_compounded():
    g = _glossary()
    assert g.lookup("deu", "Auto") == ("car",)
    assert g.lookup("deu", "Kaltes") == ("cold",)  # inflection ending removed
    assert g.lookup("deu", "Versicherungsschutz") == ("insurance", "protection")  # linking s
    assert g.lookup("deu", "Autoversicherung") == ("car", "insurance")
    assert g.lookup("deu", "Fur") == ("for",)  # OCR that lost the umlaut still matches
    assert g.lookup("deu", "Zeitung") is None
    assert g.lookup("fra", "voitures") == ("vehicle", "car")


def test_a_text_is_glossed_in_the_language_that_knows_most_of_its_words():
    g = _glossary()
    out = g.gloss("Versicherung für Ihr Haus und Auto ab 19,90 €!")
    assert out == gloss.Gloss("insurance for your house and car ab 19,90 €!", "deu", round(6 / 7, 4))
    assert g.gloss("Voiture pour et ...").language == "fra"
    assert g.gloss("Bier") is None  # fewer than MIN_WORDS known words
    assert g.gloss("Bier und the quick brown fox jumps over") is None  # under MIN_COVERAGE
    assert g.gloss("2012 - 50 %") is None
    assert g.gloss("Auto und Bier", language="fra") is None
    with pytest.raises(ConfigError, match="no 'spa' dictionary is installed; installed: deu, fra"):
        g.gloss("casa", language="spa")
    with pytest.raises(ConfigError, match="unknown glossary languages"):
        gloss.Glossary({"xxx": {}})


def test_installed_dictionaries_are_found_parsed_once_and_cached(tmp_path, monkeypatch):
    write_dictd(tmp_path / "dicts", "freedict-deu-eng", GERMAN)
    monkeypatch.setenv("ADFUSION_DICT_DIR", str(tmp_path / "dicts"))
    monkeypatch.setenv("ADFUSION_CACHE_DIR", str(tmp_path / "cache"))
    found = gloss.find_dictionaries()
    assert found["deu"][0] == tmp_path / "dicts" / "freedict-deu-eng.index"
    first = gloss.Glossary(dirs=[tmp_path / "dicts"])
    assert "deu" in first.languages and first.lookup("deu", "Bier") == ("beer",)
    cached = list((tmp_path / "cache" / "glossary").glob("deu-*.tsv.gz"))
    assert len(cached) == 1

    def no_parse(*_a, **_k):
        raise AssertionError("the cache should have been read")

    monkeypatch.setattr(gloss, "parse_dictd", no_parse)
    again = gloss.Glossary(dirs=[tmp_path / "dicts"])
    assert again.tables()["deu"] == first.tables()["deu"]
    cached[0].write_bytes(b"not gzip")  # a damaged cache is parsed again and replaced
    monkeypatch.undo()
    monkeypatch.setenv("ADFUSION_CACHE_DIR", str(tmp_path / "cache"))
    assert gloss.Glossary(dirs=[tmp_path / "dicts"]).tables()["deu"] == first.tables()["deu"]


@pytest.fixture
def german_only(monkeypatch):
    """The process-wide glossary replaced by the small in-memory one (independent of what is installed)."""
    monkeypatch.setattr(gloss, "_DEFAULT", _glossary())


IMAGE = Image.new("RGB", (96, 96), (200, 200, 200))
GERMAN_AD = "Versicherung für Ihr Haus und Auto"


def test_the_analyzer_reads_an_unreadable_text_through_its_gloss(german_only):
    small = Analyzer(model="small", ocr=False, gloss=True)
    report = small.run(IMAGE, text=GERMAN_AD)
    assert report.text == GERMAN_AD  # what the ad says stays the report's text
    # "und" and "Auto" are in the model's English ad words (readability.load_words): kept as they are
    assert report.text_gloss == "insurance for your house und Auto" and report.text_language == "deu"
    plain = Analyzer(model="small", ocr=False, gloss=False).run(IMAGE, text=GERMAN_AD)
    assert plain.text_gloss is None and plain.text_language is None
    assert report.text_readable > plain.text_readable  # the readability of what the model read
    # the model read exactly the gloss: the same outputs as when the gloss is the given text
    direct = Analyzer(model="small", ocr=False, gloss=False).run(IMAGE, text=report.text_gloss)
    assert report.theme == direct.theme and report.keywords == direct.keywords
    # a gloss keeps the subject, not the tone: the word-reading heads are flagged unsure
    assert report.sentiment.unsure and report.emotion.unsure and report.cta.unsure
    assert "read as German through a word-by-word English gloss" in str(report)
    assert AdReport.from_dict(report.to_dict()) == report


def test_english_text_and_other_bundles_are_never_glossed(german_only):
    small = Analyzer(model="small", ocr=False, gloss=True)
    english = "Fresh pizza, 50% off this weekend und Auto"  # two German words, but the model reads it
    got, plain = small.run(IMAGE, text=english), Analyzer(model="small", ocr=False, gloss=False).run(IMAGE, text=english)
    assert got.text_gloss is None and got.theme == plain.theme and got.cta == plain.cta
    assert Analyzer(model="nano", ocr=False, gloss=True).run(IMAGE, text=GERMAN_AD).text_gloss is None  # its own vocabulary
    with pytest.raises(ConfigError, match="gloss"):
        Analyzer(model="small", ocr=False, gloss="yes")  # type: ignore[arg-type]


def test_run_batch_glosses_the_rows_that_need_it_as_run_does(german_only):
    small = Analyzer(model="small", ocr=False, gloss=True)
    texts = ["Fresh pizza today", GERMAN_AD, "", "Kaltes Bier für Ihr Haus"]
    batch = small.run_batch([IMAGE] * len(texts), texts)
    for text, got in zip(texts, batch, strict=True):
        one = small.run(IMAGE, text=text)
        assert got.text_gloss == one.text_gloss and got.theme.label == one.theme.label
        np.testing.assert_allclose(got.theme.confidence, one.theme.confidence, atol=1e-5)
    assert [r.text_gloss is not None for r in batch] == [False, True, False, True]


def test_glossing_is_off_by_default(german_only):
    assert Analyzer(model="small", ocr=False).run(IMAGE, text=GERMAN_AD).text_gloss is None


def test_an_old_report_without_the_gloss_fields_still_loads():
    d = Analyzer(model="small", ocr=False, gloss=True).run(IMAGE, text="Fresh pizza").to_dict()
    del d["text_gloss"], d["text_language"]
    assert AdReport.from_dict(d).text_gloss is None


@pytest.mark.skipif(not Path("/usr/share/dictd/freedict-deu-eng.index").is_file(),
                    reason="the German FreeDict dictionary is not installed (apt install dict-freedict-deu-eng)")
def test_the_installed_german_dictionary_reads_a_german_ad(tmp_path, monkeypatch):
    monkeypatch.setenv("ADFUSION_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(gloss, "_DEFAULT", None)
    report = Analyzer(model="small", ocr=False, warmup=True, gloss=True).run(IMAGE, text="Urlaub am Meer: Flug und Hotel ab 399 Euro")
    assert report.text_language == "deu" and "flight" in report.text_gloss and "399 Euro" in report.text_gloss
    assert report.theme.label == "travel"
