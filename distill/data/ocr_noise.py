"""OCR-noise augmentation: make ground-truth ad text look like what an OCR engine reads.

At serving time the text usually comes from RapidOCR, not from the creative's source copy, so
models trained on clean text see a shifted distribution. :func:`augment` imitates the common OCR
errors: dropped characters, confusable substitutions (O/0, l/1/I, S/5, B/8, rn/m, cl/d, vv/w, ...),
merged words (a lost space), split words (a spurious space) and lines read in another order.

Monetary span policy (documented contract of :func:`augment`): every output character remembers
the input character it came from, so the span is *recomputed* to cover the mention as the noisy
text now spells it (``"50% OFF"`` may become ``"5O% 0FF"``; the model should learn to tag exactly
that, because that is what OCR will hand it). ``None`` is returned, honestly, instead of a span
when the mention is no longer a faithful contiguous piece of text:

* every character of the mention was dropped, or
* fewer than half (:data:`MIN_INTACT`) of its non-space characters survived unchanged, or
* a line shuffle moved other text into the middle of a mention that spanned two lines.

Callers holding a monetary label should then mask the span target (AdDataset masks the head).
"""

from __future__ import annotations

import numpy as np

# Single-character OCR confusions (glyphs that look alike in common ad fonts).
CONFUSABLE: dict[str, str] = {
    "O": "0Q", "0": "OD", "o": "0", "Q": "O", "D": "0",
    "l": "1I|", "1": "lI", "I": "l1|", "i": "l", "|": "l",
    "S": "5$", "5": "S", "s": "5", "$": "S",
    "B": "8", "8": "B", "Z": "2", "2": "Z", "G": "6", "6": "G", "g": "9", "9": "g",
    "e": "c", "c": "e", "u": "v", "v": "u", "E": "F", "F": "E",
    ",": ".", ".": ",", ":": ";", ";": ":",
}
# Multi-character confusions, both directions where OCR makes both mistakes.
MULTI: dict[str, str] = {"rn": "m", "m": "rn", "cl": "d", "vv": "w", "w": "vv", "nn": "m"}

# Per-unit rates at strength 1.0 (scaled linearly by ``strength``).
P_DROP = 0.03      # per character
P_SUB = 0.08       # per confusable character
P_MULTI = 0.15     # per multi-character pattern occurrence
P_MERGE = 0.10     # per space: words run together
P_SPLIT = 0.02     # per gap between two letters: a word breaks in two
P_SHUFFLE = 0.5    # per multi-line text: lines come back in another order
MIN_INTACT = 0.5   # fraction of the mention's non-space characters that must survive unchanged

_Tok = tuple[str, int, bool]  # (character, index of the input character or -1 if inserted, changed)


def _shuffle_lines(toks: list[_Tok], rng: np.random.Generator, p: float) -> list[_Tok]:
    lines: list[list[_Tok]] = [[]]
    seps: list[_Tok] = []
    for t in toks:
        if t[0] == "\n":
            seps.append(t)
            lines.append([])
        else:
            lines[-1].append(t)
    if len(lines) < 2 or rng.random() >= p:
        return toks
    order = rng.permutation(len(lines))
    out: list[_Tok] = list(lines[order[0]])
    # Separators keep their original order: a newline is a layout break, not part of a line.
    for sep, k in zip(seps, order[1:], strict=True):
        out.append(sep)
        out.extend(lines[k])
    return out


def _char_noise(toks: list[_Tok], rng: np.random.Generator, s: float) -> list[_Tok]:
    out: list[_Tok] = []
    i = 0
    while i < len(toks):
        ch, origin, changed = toks[i]
        pair = ch + toks[i + 1][0] if i + 1 < len(toks) else ""
        if pair in MULTI and rng.random() < P_MULTI * s:
            out.extend((c, origin, True) for c in MULTI[pair])
            i += 2
            continue
        if ch in MULTI and rng.random() < P_MULTI * s:
            out.extend((c, origin, True) for c in MULTI[ch])
        elif ch == " ":
            if rng.random() >= P_MERGE * s:
                out.append(toks[i])
        elif ch != "\n":
            r = rng.random()
            if r < P_DROP * s:
                pass
            elif ch in CONFUSABLE and r < (P_DROP + P_SUB) * s:
                choices = CONFUSABLE[ch]
                out.append((choices[int(rng.integers(len(choices)))], origin, True))
            else:
                out.append((ch, origin, changed))
        else:
            out.append(toks[i])
        nxt = toks[i + 1][0] if i + 1 < len(toks) else ""
        if ch.isalpha() and nxt.isalpha() and rng.random() < P_SPLIT * s:
            out.append((" ", -1, True))
        i += 1
    return out


def _new_span(toks: list[_Tok], span: tuple[int, int], text: str) -> tuple[int, int] | None:
    s, e = span
    pos = [k for k, t in enumerate(toks) if s <= t[1] < e]
    if not pos:
        return None  # the whole mention was dropped
    first, last = pos[0], pos[-1]
    origins = [t[1] for t in toks[first : last + 1] if t[1] >= 0]
    # Contiguous and in order: nothing from outside the mention landed inside it.
    if any(not s <= o < e for o in origins) or origins != sorted(origins):
        return None
    wanted = [k for k in range(s, e) if not text[k].isspace()]
    intact = {t[1] for t in toks[first : last + 1] if not t[2] and t[1] >= 0}
    if wanted and sum(k in intact for k in wanted) < MIN_INTACT * len(wanted):
        return None
    return first, last + 1


def augment(
    text: str, span: tuple[int, int] | None, rng: np.random.Generator, strength: float = 0.5
) -> tuple[str, tuple[int, int] | None]:
    """Apply OCR-like noise to ``text`` and move the monetary ``span`` along with it.

    Args:
        text: Clean ad text.
        span: [start, end) character span of the monetary mention in ``text``, or None.
        rng: Source of randomness (the same seed gives the same output).
        strength: 0 leaves the text untouched, 1 is heavy noise; rates scale linearly.

    Returns:
        (noisy text, span of the (possibly corrupted) mention in it, or None when the mention
        did not survive; see the module docstring for the exact rule).

    Raises:
        ValueError: ``strength`` outside [0, 1] or ``span`` outside ``text``.
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    if span is not None and not 0 <= span[0] < span[1] <= len(text):
        raise ValueError(f"span {span} outside text of length {len(text)}")
    if strength == 0.0 or not text:
        return text, span
    toks: list[_Tok] = [(c, k, False) for k, c in enumerate(text)]
    toks = _shuffle_lines(toks, rng, P_SHUFFLE * strength)
    toks = _char_noise(toks, rng, strength)
    new_text = "".join(t[0] for t in toks)
    new_span = None if span is None else _new_span(toks, span, text)
    if new_span is not None and not new_text[new_span[0] : new_span[1]].strip():
        new_span = None
    return new_text, new_span
