"""Read ads in other languages word by word: FreeDict dictionaries gloss the text into English.

The model's text side reads English only (bert-base-uncased WordPieces, embeddings distilled from the
English MiniLM). A German, French, Spanish, Italian, Dutch or Portuguese ad still tokenizes, but
into fragments the model does not read (``AdReport.text_readable`` under 0.5), so its text evidence
is lost. Where a bilingual dictionary is installed, each word the dictionary knows is replaced by its
first English senses ("Versicherung" -> "affirmation underwriting insurance"), numbers, currency
signs and punctuation stay where they were, and the model reads the gloss instead. The theme, the
keywords and the audience read word evidence, which a gloss carries; word order and idiom are lost.
The Analyzer glosses only text it cannot read and keeps the gloss only where the model reads more of
it (analyzer.py). Words the model already reads as English are kept as they are, so English text is
never rewritten; ``AdReport.text_gloss`` and ``text_language`` show what it did.

The dictionaries are FreeDict's (https://freedict.org, GPL): they are not shipped with this package.
They are read where the system keeps dictd dictionaries (Debian / Ubuntu: ``apt install
dict-freedict-deu-eng dict-freedict-fra-eng ...``, files in ``/usr/share/dictd``) or from the
folders in ``ADFUSION_DICT_DIR`` (``os.pathsep``-separated; the ``freedict-<lang>-eng.index`` and
``.dict.dz`` files as FreeDict publishes them for any system). Parsing the German dictionary
(519k index lines) takes seconds, so the word table derived from each file is cached under
``ADFUSION_CACHE_DIR`` (default ``~/.cache/adfusion-edge``), keyed by the index file's hash.

Lookup, per word (Unicode letters; accents folded, so OCR that drops umlauts still matches):
the word itself; then with a common inflection ending removed (German "Kaltes" -> "kalt"); then,
for German and Dutch, as a compound split into known words, the longest first part first, with an
optional linking "s" ("Versicherungsschutz" -> "versicherung" + "schutz"). A dictionary entry is used
only where its own headword is the word looked up, not an abbreviation that merely indexes it
("am" is not "amplitude modulation").
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from adfusion_edge.errors import ConfigError

# FreeDict code -> language name, in the order a tie in coverage is broken.
LANGUAGES: dict[str, str] = {"deu": "German", "fra": "French", "spa": "Spanish", "ita": "Italian",
                             "nld": "Dutch", "por": "Portuguese"}
SYSTEM_DIRS = ("/usr/share/dictd", "/usr/local/share/dictd")
MAX_SENSES = 2  # first senses kept per word: more dilute the mean-pooled text embedding
MIN_COVERAGE = 0.3  # share of a text's words a dictionary must know before it glosses the text
MIN_WORDS = 2  # ... and at least this many of them
CACHE_VERSION = "v1"
# Inflection endings tried, longest first, when the word itself is not a headword.
ENDINGS: dict[str, tuple[str, ...]] = {
    "deu": ("ern", "en", "em", "er", "es", "e", "n", "s"),
    "fra": ("es", "s", "x", "e"),
    "spa": ("es", "s", "a"),
    "ita": ("i", "e"),
    "nld": ("en", "s", "e"),
    "por": ("es", "s", "a"),
}
COMPOUNDING = ("deu", "nld")
MIN_PART = 3  # shortest stem / compound part looked up
# A word: a run of letters, with inner apostrophes and hyphens ("l'auto", "E-Bike"); what is glossed.
WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_SENSE_NUMBER = re.compile(r"^\s*\d+\.\s*")
_BRACKETS = re.compile(r"<[^>]*>|\[[^\]]*\]|\([^)]*\)|\{[^}]*\}")
_ENGLISH_SENSE = re.compile(r"[a-z][a-z' -]*")
_PLACEHOLDER = re.compile(r"\b(?:sth|sb|so|smb|smth)\.(?:'s)?|\bsomething\b|\bsomebody\b|\bsomeone\b", re.IGNORECASE)


def fold(word: str) -> str:
    """Lower case without accents ("Größe" -> "grosse"): how dictionary and text words are compared."""
    word = word.lower().replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _b64(s: str) -> int:
    v = 0
    for c in s:
        v = v * 64 + _B64[c]
    return v


def _headword(first_line: str) -> str:
    """The entry's own headword: its first line up to the pronunciation, part of speech or note."""
    return re.split(r"\s/|\s<|\s\(", first_line, maxsplit=1)[0].strip()


def _senses(body: str) -> tuple[tuple[int, int], list[str]]:
    """The first English word or phrase of each sense line of a dictd entry (examples, notes,
    synonyms and cross-references skipped; "sth." / "sb." placeholders removed; phrases of more than
    three words dropped), with the entry's rank: entries with no domain or register mark
    ("[agr.]", "[poet.]", "[sport]") first, then those with more usage examples, a sign of a common
    sense, since FreeDict does not order senses by frequency."""
    out, marked = [], 0
    lines = body.split("\n")[1:]
    examples = sum(1 for line in lines if line.startswith("      \""))
    for line in lines:
        if not line.strip() or line.startswith("      ") or line.lstrip().startswith(("Synonym", "see:", "Note:")):
            continue
        line = _SENSE_NUMBER.sub("", line)
        if not out and "[" in line.split(",")[0]:
            marked = 1
        line = _PLACEHOLDER.sub(" ", _BRACKETS.sub(" ", line))
        first = " ".join(line.split(",")[0].split(";")[0].split()).lower()
        if first and _ENGLISH_SENSE.fullmatch(first) and len(first.split()) <= 3:
            out.append(first)
    return (marked, -examples), out


def parse_dictd(index: str | os.PathLike, data: str | os.PathLike, max_senses: int = MAX_SENSES
                ) -> dict[str, tuple[str, ...]]:
    """Folded headword -> its first English senses, read from a dictd index and its (gzip) data file.

    Raises:
        ConfigError: a file that cannot be read or an index line that is not ``word<TAB>offset<TAB>length``
            (names the file and line).
    """
    index, data = Path(index), Path(data)
    try:
        raw = gzip.open(data).read() if data.suffix == ".dz" else data.read_bytes()
        lines = index.read_text(encoding="utf-8").splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the dictionary {index} / {data}: {e}") from None
    entries: dict[str, list[tuple[tuple[int, int, int], list[str]]]] = {}
    for n, line in enumerate(lines, 1):
        parts = line.split("\t")
        if len(parts) < 3:
            raise ConfigError(f"{index}:{n}: not a dictd index line (word, offset, length): {line[:80]!r}")
        word = parts[0]
        if word.startswith("00database") or " " in word:
            continue
        try:
            start, size = _b64(parts[1]), _b64(parts[2])
        except KeyError:
            raise ConfigError(f"{index}:{n}: offset / length are not dictd base64: {line[:80]!r}") from None
        body = raw[start:start + size].decode("utf-8", "replace")
        key = fold(word)
        if fold(_headword(body.split("\n", 1)[0])) != key:
            continue  # an abbreviation or form that only indexes another headword
        rank, senses = _senses(body)
        if senses:
            entries.setdefault(key, []).append(((*rank, n), senses))
    table: dict[str, tuple[str, ...]] = {}
    for key, found in entries.items():
        kept: list[str] = []
        for _rank, senses in sorted(found, key=lambda e: e[0]):
            kept += [s for s in senses if s not in kept]
        table[key] = tuple(kept[:max_senses])
    return table


def dict_dirs(extra: Iterable[str | os.PathLike] | None = None) -> list[Path]:
    """Folders searched for dictionaries: ``extra``, then ``ADFUSION_DICT_DIR``, then the system's."""
    dirs = [Path(p) for p in (extra or ())]
    env = os.environ.get("ADFUSION_DICT_DIR", "")
    dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs += [Path(p) for p in SYSTEM_DIRS]
    return dirs


def find_dictionaries(dirs: Sequence[Path] | None = None) -> dict[str, tuple[Path, Path]]:
    """Language code -> (index, data) of the first ``freedict-<lang>-eng`` dictionary found."""
    found: dict[str, tuple[Path, Path]] = {}
    for d in dirs if dirs is not None else dict_dirs():
        for lang in LANGUAGES:
            if lang in found:
                continue
            index = d / f"freedict-{lang}-eng.index"
            for data in (d / f"freedict-{lang}-eng.dict.dz", d / f"freedict-{lang}-eng.dict"):
                if index.is_file() and data.is_file():
                    found[lang] = (index, data)
                    break
    return found


def cache_dir() -> Path:
    return Path(os.environ.get("ADFUSION_CACHE_DIR") or Path.home() / ".cache" / "adfusion-edge") / "glossary"


def load_table(lang: str, index: Path, data: Path, cache: Path | None = None) -> dict[str, tuple[str, ...]]:
    """The word table of one dictionary, from the cache when the index file is unchanged.

    A cache that cannot be written (read-only home) only costs the parse next time; a damaged
    cache file is parsed again and replaced.
    """
    cache = cache_dir() if cache is None else cache
    with data.open("rb") as f:  # the index and the data file's head: enough to tell an edition apart
        head = f.read(1 << 16)
    digest = hashlib.sha256(index.read_bytes() + head).hexdigest()[:16]
    path = cache / f"{lang}-{CACHE_VERSION}-{digest}.tsv.gz"
    if path.is_file():
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                return {w: tuple(s.split("|")) for w, s in (ln.rstrip("\n").split("\t") for ln in f)}
        except (OSError, EOFError, ValueError, UnicodeDecodeError):
            pass
    table = parse_dictd(index, data)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as f:
            f.writelines(f"{w}\t{'|'.join(s)}\n" for w, s in table.items())
        os.replace(tmp, path)
    except OSError:
        pass
    return table


@dataclass(frozen=True)
class Gloss:
    """A text glossed into English.

    Attributes:
        text: The text with each known word replaced by its English senses.
        language: The dictionary's language code (``deu``, ``fra``, ...).
        coverage: Share of the text's words that dictionary knows (of those not kept as they are).
    """

    text: str
    language: str
    coverage: float


class Glossary:
    """The installed FreeDict dictionaries (module docstring), loaded on first use and thread-safe.

    Args:
        tables: Language code -> word table, for a glossary built in memory (tests, callers with their
            own word lists); None reads the installed dictionaries.
        dirs: Folders to search instead of ``dict_dirs()``.
    """

    def __init__(self, tables: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
                 dirs: Sequence[str | os.PathLike] | None = None):
        unknown = set(tables or {}) - set(LANGUAGES)
        if unknown:
            raise ConfigError(f"unknown glossary languages {sorted(unknown)}; one of {', '.join(LANGUAGES)}")
        self._tables = None if tables is None else {k: {fold(w): tuple(s) for w, s in t.items()}
                                                    for k, t in tables.items()}
        self._dirs = None if dirs is None else [Path(d) for d in dirs]
        self._lock = threading.Lock()

    def tables(self) -> dict[str, dict[str, tuple[str, ...]]]:
        if self._tables is None:
            with self._lock:
                if self._tables is None:
                    found = find_dictionaries(self._dirs)
                    self._tables = {lang: load_table(lang, *found[lang]) for lang in LANGUAGES if lang in found}
        return self._tables

    @property
    def languages(self) -> list[str]:
        """Codes of the languages this glossary reads."""
        return list(self.tables())

    def lookup(self, lang: str, word: str, depth: int = 0) -> tuple[str, ...] | None:
        """English senses of ``word`` in ``lang`` (itself, an inflected form, or a compound); None if unknown."""
        table = self.tables()[lang]
        w = fold(word)
        if w in table:
            return table[w]
        for end in ENDINGS[lang]:
            if len(w) - len(end) >= MIN_PART and w.endswith(end) and w[:-len(end)] in table:
                return table[w[:-len(end)]]
        if lang in COMPOUNDING and depth < 2 and len(w) >= 2 * MIN_PART:
            for cut in range(len(w) - MIN_PART, MIN_PART - 1, -1):  # longest first part first
                head, rest = w[:cut], w[cut:]
                first = table.get(head) or (table.get(head[:-1]) if head.endswith("s") and cut > MIN_PART else None)
                if first:
                    tail = self.lookup(lang, rest, depth + 1)
                    if tail:
                        return (first[0], *tail)
        return None

    def gloss(self, text: str, language: str | None = None, keep: Callable[[str], bool] | None = None
              ) -> Gloss | None:
        """``text`` in English words, in the language whose dictionary knows most of its words (or in
        ``language``); None when no dictionary knows at least MIN_COVERAGE of them (and MIN_WORDS).

        Args:
            text: The ad text.
            language: Gloss in this language only (a code of ``languages``).
            keep: Words the reader already reads (the model's English ad words): left as they are and
                not counted, so a German ad with English words in it is still glossed, and the English
                words of an English text are never replaced ("off" is not German "offstage").

        Raises:
            ConfigError: ``language`` has no installed dictionary.
        """
        words = [w for w in WORD.findall(text) if keep is None or not keep(w)]
        tables = self.tables()
        if language is not None and language not in tables:
            raise ConfigError(f"no {language!r} dictionary is installed; installed: {', '.join(tables) or 'none'}")
        best, best_known, best_senses = None, 0, {}
        for lang in [language] if language is not None else list(tables):
            # Each word looked up once per language (compounds cost a scan); the winner's are reused below.
            senses = {w: found for w in set(words) if (found := self.lookup(lang, w)) is not None}
            known = sum(w in senses for w in words)
            if known > best_known:
                best, best_known, best_senses = lang, known, senses
        if best is None or best_known < MIN_WORDS or best_known / len(words) < MIN_COVERAGE:
            return None

        def english(m: re.Match) -> str:
            # Words kept by ``keep`` were never looked up, so they are not in best_senses.
            senses = best_senses.get(m.group(0))
            return " ".join(senses) if senses else m.group(0)

        return Gloss(WORD.sub(english, text), best, round(best_known / len(words), 4))


_DEFAULT: Glossary | None = None
_DEFAULT_LOCK = threading.Lock()


def default_glossary() -> Glossary:
    """One glossary of the installed dictionaries per process (read once, shared by every Analyzer)."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = Glossary()
    return _DEFAULT


__all__ = ["LANGUAGES", "WORD", "Gloss", "Glossary", "default_glossary", "dict_dirs", "find_dictionaries", "fold",
           "load_table", "parse_dictd"]
