"""Which OCR boxes to recognise first, and the reading order of the text handed to the model.

The model reads at most ``max_tokens`` word pieces, so recognising everything on a dense real ad
(fine print, legal copy, body paragraphs) is wasted time: most of it is cut off before the model
sees it. The words the heads need (headline, offer, call to action) are the most prominent text
on a creative, so boxes are recognised in order of *prominence* and recognition stops once the
token budget is full.

Prominence of a detected box (fixed by design, not fitted to any labelled set):
    text height (the short side of the box, i.e. the font size), relative to the tallest box,
    x contrast: standard deviation of the box's grey levels, saturating at 48 (faint
      watermark-like text ranks lower; ordinary printed text all counts the same),
    x position: boxes whose centre lies in the bottom 8 % of the image (footers, legal lines)
      count 0.8.
Ties keep the detector's top-to-bottom order.

Reading order of the text the model gets (whatever was recognised): boxes are grouped into lines
(vertical centres within half a box height), lines top to bottom, boxes left to right; boxes of
a line are joined with spaces, lines with "\\n", as the training corpora write ad text. So the
model reads the selected boxes where they are printed, not in prominence order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

CONTRAST_FULL = 48.0  # grey-level std at which a box counts as fully contrasted
FOOTER_BAND = 0.92  # box centre below this fraction of the height: footer / legal line
FOOTER_WEIGHT = 0.8


@dataclass(frozen=True)
class OcrLine:
    """One recognised text box: its text, confidence and box (x0, y0, x1, y1) in image pixels."""

    text: str
    score: float
    box: tuple[float, float, float, float]


def box_height(quad: np.ndarray) -> float:
    """Text height of a detected quadrilateral (4x2 points, clockwise from top-left)."""
    q = np.asarray(quad, np.float64)
    return float(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2]), 1.0))


def prominence(quads: Sequence[np.ndarray], crops: Sequence[np.ndarray], image_h: int) -> np.ndarray:
    """Prominence score of each detected box (see the module docstring); higher is read first."""
    if not len(quads):
        return np.zeros(0)
    heights = np.array([box_height(q) for q in quads])
    rel_h = heights / heights.max()
    contrast = np.array([min(1.0, float(np.std(c)) / CONTRAST_FULL) if c.size else 0.0 for c in crops])
    cy = np.array([float(np.mean(np.asarray(q)[:, 1])) for q in quads])
    position = np.where(cy > FOOTER_BAND * max(image_h, 1), FOOTER_WEIGHT, 1.0)
    return rel_h * np.maximum(contrast, 0.05) * position


def priority_order(scores: np.ndarray) -> list[int]:
    """Box indices, most prominent first (stable: ties keep detector order)."""
    return [int(i) for i in np.argsort(-np.asarray(scores), kind="stable")]


class TokenBudget:
    """Greedy fill of the model's token budget in prominence order.

    A box whose text does not fit in what is left is skipped (a smaller one later may fit), except
    the first: the most prominent text is always kept (the tokenizer truncates it). The budget
    counts as full once fewer than ``min_left`` tokens remain, or once ``max_misses`` boxes in a
    row did not fit.

    Args:
        budget: Word pieces available (None: unlimited, every box is kept).
        count: Word pieces of one text (without special tokens).
        min_left: Stop once fewer tokens than this remain.
        max_misses: Stop after this many boxes in a row did not fit (None: never).
    """

    def __init__(self, budget: int | None, count: Callable[[str], int] | None, min_left: int = 2,
                 max_misses: int | None = None):
        self.left = budget
        self.count = count if count is not None else (lambda s: len(s.split()))
        self.min_left = min_left
        self.taken = 0
        self.max_misses, self.misses = max_misses, 0

    @property
    def full(self) -> bool:
        return self.left is not None and (self.left < self.min_left or (
            self.max_misses is not None and self.misses >= self.max_misses))

    def take(self, text: str) -> bool:
        """True (and the budget shrinks) if ``text`` fits in what is left."""
        if self.left is None:
            self.taken += 1
            return True
        n = self.count(text)
        if n > self.left and self.taken:
            self.misses += 1
            return False
        self.misses = 0
        self.left = max(0, self.left - n)
        self.taken += 1
        return True


def reading_order(boxes: list[OcrLine]) -> list[list[OcrLine]]:
    """Group boxes into lines (top to bottom), each line's boxes left to right."""
    lines: list[list[OcrLine]] = []
    for b in sorted(boxes, key=lambda b: (b.box[1] + b.box[3]) / 2):
        cy, h = (b.box[1] + b.box[3]) / 2, b.box[3] - b.box[1]
        if lines:
            last = lines[-1]
            ly = sum((x.box[1] + x.box[3]) / 2 for x in last) / len(last)
            lh = max(x.box[3] - x.box[1] for x in last)
            if abs(cy - ly) <= 0.5 * max(h, lh):
                last.append(b)
                continue
        lines.append([b])
    return [sorted(line, key=lambda b: b.box[0]) for line in lines]


def join_lines(lines: list[list[OcrLine]]) -> str:
    """The model's text: boxes of a line joined by spaces, lines by newlines."""
    return "\n".join(" ".join(b.text for b in line) for line in lines)


def token_counter(tokenizer_file: str) -> Callable[[str], int]:
    """Word pieces of a text under the bundle's tokenizer (no special tokens): the budget's unit."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file))
    tok.no_truncation()
    return lambda text: len(tok.encode(text, add_special_tokens=False).ids)
