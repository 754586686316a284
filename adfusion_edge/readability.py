"""How much of an ad's text the model can read: the share of its words that are English ad words.

The model's text side (the bert-base-uncased WordPiece vocabulary, the MiniLM-distilled embeddings)
reads English only. German brochure copy, Vietnamese web copy or OCR garbage still yield token ids,
and the text heads still answer, with the confidence of a real reading. Readability says how much
of the text the model actually reads, so that the theme can lean on the picture where it reads
little (in the graph: ``distill/models/readable_text.py``) and the report can say so
(``AdReport.text_readable``).

Readability = (word-start WordPiece tokens that are English ad words) / (alphabetic tokens,
word-start or ``##`` continuation). The English ad words (``assets/english_ad_words.txt``) are the
word-start alphabetic tokens seen at least ``MIN_COUNT`` times in the real English ad text the
model trains on (Pitt slogans and OCR train rows, Facebook ads). English words tokenize whole;
German compounds and unaccented Vietnamese syllables break into continuation pieces and rare
stems. Medians on those rows: 0.88 (slogans), 0.90 (Facebook ads), 0.62 (OCR of real Pitt ads, whose
misreads lower it); hand-written German and Vietnamese ad lines: 0.07-0.55.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from adfusion_edge.errors import ConfigError

WORDS_FILE = Path(__file__).parent / "assets" / "english_ad_words.txt"
MIN_COUNT = 3
# Token classes of the lookup table.
OTHER, ALPHA, ENGLISH = 0, 1, 2


def _alpha(token: str) -> bool:
    return token.removeprefix("##").isalpha() and not (token.startswith("[") and token.endswith("]"))


def english_words(texts: Iterable[str], tokenizer: object, min_count: int = MIN_COUNT) -> list[str]:
    """Word-start alphabetic tokens seen at least ``min_count`` times in ``texts`` (sorted).

    Single letters other than ``a`` and ``i`` are left out: OCR misreads produce them.

    Args:
        texts: English ad text.
        tokenizer: A ``tokenizers.Tokenizer`` (its ``encode(text).tokens``).
        min_count: Fewer sightings than this and a token is not counted as a word the model knows.
    """
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(t for t in tokenizer.encode(text).tokens if t.isalpha())
    return sorted(w for w, n in counts.items() if n >= min_count and (len(w) >= 2 or w in ("a", "i")))


def load_words(path: Path = WORDS_FILE) -> list[str]:
    """The English ad word list (one token per line).

    Raises:
        ConfigError: The file is missing or empty.
    """
    if not path.is_file():
        raise ConfigError(f"readable-text word list {path} is missing; rebuild it with "
                          f"`python -m adfusion_edge.distill.data.english_words`")
    words = [w for w in path.read_text(encoding="utf-8").splitlines() if w]
    if not words:
        raise ConfigError(f"readable-text word list {path} is empty")
    return words


def token_classes(vocab: Mapping[str, int], words: Sequence[str]) -> np.ndarray:
    """(vocab size,) int8: ENGLISH for the listed word-start tokens, ALPHA for every other alphabetic
    token (word-start or continuation), OTHER for digits, punctuation and special tokens."""
    classes = np.zeros(max(vocab.values()) + 1, dtype=np.int8)
    known = set(words)
    for token, i in vocab.items():
        if _alpha(token):
            classes[i] = ENGLISH if token in known else ALPHA
    return classes


def readability(classes: np.ndarray, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """(B,) share of readable words among each text's alphabetic tokens; NaN where it has none (no
    text, or digits and symbols only: nothing there to misread)."""
    c = np.where(attention_mask > 0, classes[input_ids], OTHER)
    english = (c == ENGLISH).sum(-1)
    alpha = (c != OTHER).sum(-1)
    return np.where(alpha > 0, english / np.maximum(alpha, 1), np.nan)


# Fixed ids of the bert-base-uncased vocabulary: a tokenizer with these is the one the word list
# belongs to (bundles made with an older corpus-trained vocabulary have other ids).
_BERT_MARKERS = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "the": 1996}
BERT_VOCAB_SIZE = 30522


def classes_for_vocab(vocab: Mapping[str, int]) -> np.ndarray | None:
    """``token_classes`` for a bert-base-uncased vocabulary; None for any other (readability is then
    not measured)."""
    if len(vocab) != BERT_VOCAB_SIZE or any(vocab.get(t) != i for t, i in _BERT_MARKERS.items()):
        return None
    return token_classes(vocab, load_words())
