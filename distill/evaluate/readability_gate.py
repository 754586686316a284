"""Scale the theme's text evidence by how readable the text is (lite_student ``theme_readable_at``).

The theme is a product of experts: the text's zero-shot cosine to the theme descriptions (in the
space distilled from English MiniLM) and the ImageNet picture evidence. On text the model cannot
read (German or Vietnamese copy, OCR garbage) the text expert still answers with a reader's
confidence and outvotes the picture. ``readable_text.py`` measures readability in the graph (the
share of the text's words that are English ad words); below ``theme_readable_at`` the text
expert's logits are scaled by readability / theme_readable_at.

Rule (fixed before any figure was read): ``theme_readable_at`` = the ``QUANTILE`` (0.25) of
readability over the real English OCR text among the training rows (``meta.source == "pitt_ocr"``
in the realtext train file): three in four real English OCR'd ads keep their text evidence in full,
the rest, whose OCR is the most broken, lose part of it in proportion. Nothing here reads real-ad images.

Adoption rule (fixed with it): the gated checkpoint ships if theme accuracy falls by at most
``TOLERANCE`` (0.5 points) on the Pitt test rows (real English text, blank picture) and on AdSynth
test. Every other output is unchanged by construction (tested).

    python -m adfusion_edge.distill.evaluate.readability_gate --checkpoint RUN --corpus CORPUS \\
        --train-rows REALTEXT/train.jsonl --test-rows REALTEXT/pitt_test.jsonl --out RUN_readable \\
        --report RUN_readable.json
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adfusion_edge import readability
from adfusion_edge.distill.data.manifest import read_manifest
from adfusion_edge.distill.evaluate.evaluator import collect, labelled, text_rows_loader
from adfusion_edge.distill.evaluate.json_report import emit
from adfusion_edge.distill.evaluate.object_thresholds import _loader
from adfusion_edge.distill.models import readable_text
from adfusion_edge.errors import ConfigError
from adfusion_edge.tokenizer import AdTokenizer

QUANTILE = 0.25
TOLERANCE = 0.005
OCR_SOURCE = "pitt_ocr"
BINS = (0.0, 0.25, 0.5, 0.75, 1.01)


def rows_of_source(path: Path, source: str) -> list[str]:
    """Texts of the rows of the text manifest ``path`` whose ``meta.source`` is ``source``.

    Raises:
        ManifestError: A malformed line (file and line named, by read_manifest).
        ConfigError: No such rows.
    """
    texts = [r.text for r in read_manifest(path, text_only=True) if r.meta.get("source") == source and r.text]
    if not texts:
        raise ConfigError(f"{path}: no rows with meta.source {source!r}")
    return texts


def text_readability(texts: list[str], tokenizer: str, max_tokens: int) -> np.ndarray:
    """Readability of each text as the model sees it (its tokenizer, cut at ``max_tokens``); NaN where
    the text has no alphabetic token (the gate leaves those alone)."""
    batch = AdTokenizer(tokenizer, max_tokens).encode(texts)
    return readability.readability(readable_text.bert_token_classes(), batch.input_ids, batch.attention_mask)


def readable_at(values: np.ndarray, quantile: float = QUANTILE) -> float:
    """The rule of the module docstring, on the rows' readability ``values`` (NaN: no letters)."""
    r = values[~np.isnan(values)]
    if not len(r):
        raise ConfigError("readability_gate: no rows with alphabetic text")
    return round(float(np.quantile(r, quantile)), 4)


def theme_rows(model: torch.nn.Module, rows: Path, tokenizer: str) -> dict[str, np.ndarray]:
    """Theme predictions of the labelled text rows: {"right": bool, "texts"}."""
    c = collect(model, text_rows_loader(rows, tokenizer, model.preprocess))
    z, y = labelled(c, "theme")
    m = c.targets["m/theme"].astype(bool)
    return {"right": z.argmax(1) == y, "texts": [t for t, keep in zip(c.texts, m, strict=True) if keep]}


def adsynth_theme(model: torch.nn.Module, corpus: str, tokenizer: str) -> float:
    z, y = labelled(collect(model, _loader(model, corpus, "test", tokenizer)), "theme")
    return float((z.argmax(1) == y).mean())


def by_bin(right_before: np.ndarray, right_after: np.ndarray, r: np.ndarray) -> list[dict[str, Any]]:
    """Theme accuracy before / after per readability bin (rows without letters: their own bin)."""
    out = []
    for lo, hi in zip(BINS[:-1], BINS[1:], strict=True):
        m = (r >= lo) & (r < hi)
        if m.any():
            out.append({"readability": f"[{lo:.2f}, {min(hi, 1.0):.2f}{']' if hi > 1 else ')'}", "rows": int(m.sum()),
                        "before": round(float(right_before[m].mean()), 4), "after": round(float(right_after[m].mean()), 4)})
    m = np.isnan(r)
    if m.any():
        out.append({"readability": "no letters", "rows": int(m.sum()), "before": round(float(right_before[m].mean()), 4),
                    "after": round(float(right_after[m].mean()), 4)})
    return out


def main(argv: list[str] | None = None) -> int:
    from adfusion_edge.distill.evaluate.calibrate import write_calibrated
    from adfusion_edge.distill.models.checkpoint import TOKENIZER, find_checkpoint, load_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, help="lite_student checkpoint or run directory")
    p.add_argument("--corpus", required=True, help="AdSynth corpus with a test split")
    p.add_argument("--train-rows", required=True, type=Path, help="realtext train rows (the rule's OCR text)")
    p.add_argument("--test-rows", required=True, type=Path, help="realtext Pitt test rows (the adoption check)")
    p.add_argument("--out", required=True, help="write the gated checkpoint here")
    p.add_argument("--report", help="write the threshold and the checks as JSON here")
    a = p.parse_args(argv)
    ckpt = find_checkpoint(a.checkpoint)
    model, tok = load_model(ckpt), str(ckpt / TOKENIZER)
    max_tokens = model.preprocess.max_tokens
    train_r = text_readability(rows_of_source(a.train_rows, OCR_SOURCE), tok, max_tokens)
    t = readable_at(train_r)
    out = write_calibrated(ckpt, Path(a.out), dict(model.config.temperatures), theme_readable_at=t)
    gated = load_model(out)
    before, after = theme_rows(model, a.test_rows, tok), theme_rows(gated, a.test_rows, tok)
    test_r = text_readability(before["texts"], tok, max_tokens)
    pitt = {"rows": int(len(before["right"])), "before": round(float(before["right"].mean()), 4),
            "after": round(float(after["right"].mean()), 4), "by_readability": by_bin(before["right"], after["right"], test_r)}
    synth = {"before": round(adsynth_theme(model, a.corpus, tok), 4), "after": round(adsynth_theme(gated, a.corpus, tok), 4)}
    adopt = pitt["after"] >= pitt["before"] - TOLERANCE and synth["after"] >= synth["before"] - TOLERANCE
    q = {str(k): round(float(np.nanquantile(train_r, k)), 4) for k in (0.05, 0.1, 0.25, 0.5)}
    emit({"checkpoint": str(ckpt), "out": str(out), "quantile": QUANTILE, "theme_readable_at": t,
          "train_ocr_rows": int(len(train_r)), "train_ocr_readability_quantiles": q,
          "pitt_test_theme": pitt, "adsynth_test_theme": synth, "tolerance": TOLERANCE, "adopt": bool(adopt)}, a.report)
    return 0 if adopt else 3


if __name__ == "__main__":
    raise SystemExit(main())
