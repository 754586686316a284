"""Text-side measurements on real ad text: zero-shot priors, text-only probes, encode cost.

What it reads:
* Pitt slogans / OCR (``datasets/realtext``): the **train** split trains probes and fits the
  open-vocabulary temperature; the **test** split is scored (real text, allowed).
* The real-ad dev set's ``text_hint`` (``realdata/images/dev/labels.json``): **scored only**. No
  description, temperature, feature or hyper-parameter here was chosen by a dev score.
* AdSynth copy composed without rendering (scenario + compose, the texts AdSynth would draw), under
  the earlier priors and the real-text priors.

CLI: ``python -m adfusion_edge.distill.evaluate.real_dev_text --out reports/real_ads/text_figures.json``
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from adfusion_edge import label_descriptions as ld
from adfusion_edge import schema
from adfusion_edge.distill.data import realtext
from adfusion_edge.distill.data.pitt import PITT_SENTIMENTS, SENTIMENT_TO_OURS
from adfusion_edge.distill.data.realdata import realdata_dir
from adfusion_edge.distill.evaluate.metrics import nll
from adfusion_edge.distill.models.sentence_encoder import Encoder, minilm_encoder
from adfusion_edge.static_text import StaticEmbeddings

# The shared real-data folder (not in the repository); ADFUSION_REALDATA points elsewhere.
DEV_LABELS = realdata_dir() / "images" / "dev" / "labels.json"
_SENTI_ID = {name: i for i, (name, _) in PITT_SENTIMENTS.items()}


def _pitt(split: str) -> list[dict]:
    rows = realtext.build(realtext.DEFAULT_SRC)["train" if split == "train" else "pitt_test"]
    return [{"text": r.text, "source": r.meta["source"], **r.labels, "ad_id": r.meta.get("ad_id")}
            for r in rows if r.meta["source"] in ("pitt_slogans", "pitt_ocr")]


def _emotion_rows(split: str) -> list[tuple[str, str]]:
    """(slogan, emotion) from the Pitt majority sentiments that map to one emotion (pitt.SENTIMENT_TO_OURS)."""
    out = []
    for line in (realtext.DEFAULT_SRC / realtext.SLOGANS).read_text(encoding="utf-8").splitlines():
        o = json.loads(line)
        if o["split"] != split or not o.get("pitt_sentiments"):
            continue
        emos = {SENTIMENT_TO_OURS[_SENTI_ID[s]][1] for s in o["pitt_sentiments"] if s in _SENTI_ID} - {None}
        if len(emos) == 1:
            out.append((o["text"], emos.pop()))
    return out


def dev_rows() -> list[dict]:
    """The dev set's text hints and labels (evaluation only)."""
    d = json.loads(DEV_LABELS.read_text(encoding="utf-8"))
    return [{"name": k, "text": v.get("text_hint") or "", "theme": v.get("theme"), "monetary": v.get("monetary"),
             "cta": v.get("cta")} for k, v in sorted(d.items())]


def zero_shot(enc: Encoder, texts: Sequence[str], head: str) -> list[str]:
    """Label whose description is most similar to each text."""
    labels = schema.head(head).labels
    sims = enc(list(texts)) @ enc(ld.descriptions(head)).T
    return [labels[i] for i in sims.argmax(1)]


def accuracy(pred: Sequence[str], gold: Sequence[str | None]) -> tuple[float, int]:
    pairs = [(p, g) for p, g in zip(pred, gold, strict=True) if g is not None]
    return (sum(p == g for p, g in pairs) / len(pairs) if pairs else float("nan")), len(pairs)


def majority(gold: Sequence[str | None]) -> tuple[str, float]:
    g = [x for x in gold if x is not None]
    lab, n = Counter(g).most_common(1)[0]
    return lab, n / len(g)


def fit_temperature(enc: Encoder, texts: Sequence[str], gold: Sequence[str], head: str = "theme") -> float:
    """Softmax temperature on cosine similarity with the lowest log-loss (on training text only)."""
    labels = schema.head(head).labels
    sims = enc(list(texts)) @ enc(ld.descriptions(head)).T
    y = np.array([labels.index(g) for g in gold])
    return min((0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2), key=lambda t: nll(sims, y, t))


def softmax_regression(x: np.ndarray, y: np.ndarray, k: int, l2: float = 1e-3, steps: int = 400,
                       lr: float = 0.05, seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """Multinomial logistic regression (full-batch Adam, class-balanced loss); returns predict(x) -> ids."""
    rng = np.random.default_rng(seed)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    xs = (x - mu) / sd
    w = rng.normal(0, 0.01, (x.shape[1], k))
    b = np.zeros(k)
    counts = np.bincount(y, minlength=k).astype(float)
    cw = np.where(counts > 0, len(y) / (k * np.maximum(counts, 1)), 0.0)[y]
    onehot = np.eye(k)[y]
    m = [np.zeros_like(w), np.zeros_like(b)]
    v = [np.zeros_like(w), np.zeros_like(b)]
    for t in range(1, steps + 1):
        z = xs @ w + b
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) * cw[:, None] / cw.sum()
        grads = [xs.T @ g + l2 * w, g.sum(0)]
        for i, (param, gr) in enumerate(((w, grads[0]), (b, grads[1]))):
            m[i] = 0.9 * m[i] + 0.1 * gr
            v[i] = 0.999 * v[i] + 0.001 * gr ** 2
            param -= lr * (m[i] / (1 - 0.9 ** t)) / (np.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8)
    return lambda q: ((q - mu) / sd @ w + b).argmax(1)


def adsynth_copy(n: int, legacy: bool, seed: int = 0) -> list[dict]:
    """AdSynth copy (no rendering): the texts and labels AdSynth would draw, under either set of priors."""
    from adfusion_edge.distill.data.adsynth import compose, layouts, real_priors, scenario
    from adfusion_edge.distill.data.adsynth.config import SynthConfig

    cfg = (SynthConfig(p_cta=real_priors.LEGACY_P_CTA, p_offer=None, p_number=0.0) if legacy else SynthConfig())
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sc = scenario.sample(rng, cfg, "train")
        cp = compose.compose(rng, sc, layouts.make(sc.layout, rng, 320), cfg.p_number)
        parts = [cp.headline[0], cp.hook[0], *(s for s, _ in cp.body)]
        if cp.offer is not None:
            parts.append(cp.offer.text)
        if cp.cta:
            parts.append(cp.cta)
        out.append({"text": "\n".join(parts), "theme": sc.theme if sc.modality != "picture_only" else None,
                    "monetary": sc.monetary, "cta": sc.cta})
    return out


class BagFeatures:
    """Static mean embedding + presence of the training set's frequent WordPiece tokens."""

    def __init__(self, static: StaticEmbeddings, texts: Sequence[str], min_count: int = 3):
        self.static = static
        c = Counter(i for ids in static.token_ids(texts) for i in set(ids))
        self.vocab = {t: j for j, t in enumerate(sorted(t for t, n in c.items() if n >= min_count))}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        bag = np.zeros((len(texts), len(self.vocab)), np.float32)
        for i, ids in enumerate(self.static.token_ids(texts)):
            for t in ids:
                j = self.vocab.get(t)
                if j is not None:
                    bag[i, j] = 1.0
        return np.concatenate([self.static.encode(texts), bag], 1)


def probe(train: list[dict], head: str, tests: dict[str, list[dict]], static: StaticEmbeddings,
          bag: bool = False) -> dict[str, float]:
    """Train a softmax regression for ``head`` on ``train`` rows; accuracy on each test set."""
    labels = schema.head(head).labels
    rows = [r for r in train if r.get(head) is not None]
    feats = BagFeatures(static, [r["text"] for r in rows]) if bag else static.encode
    predict = softmax_regression(feats([r["text"] for r in rows]), np.array([labels.index(r[head]) for r in rows]),
                                 len(labels))
    out = {"train_rows": len(rows)}
    for name, ts in tests.items():
        ts = [r for r in ts if r.get(head) is not None]
        pred = [labels[i] for i in predict(feats([r["text"] for r in ts]))]
        out[name] = accuracy(pred, [r[head] for r in ts])[0]
    return out


def encode_timing(static: StaticEmbeddings, minilm: Encoder, texts: Sequence[str], rounds: int = 200) -> dict:
    """Per-text encode time, static vs MiniLM, interleaved in one run (ratio of medians)."""
    a, b = [], []
    for i in range(rounds):
        t = [texts[i % len(texts)]]
        for fn, acc in ((static.encode, a), (minilm, b)) if i % 2 == 0 else ((minilm, b), (static.encode, a)):
            t0 = time.perf_counter()
            fn(t)
            acc.append((time.perf_counter() - t0) * 1e3)
    return {"static_ms_p50": float(np.median(a)), "minilm_ms_p50": float(np.median(b)),
            "minilm_over_static": float(np.median(b) / np.median(a)), "rounds": rounds}


def run(out: Path | None = None) -> dict:
    static = StaticEmbeddings()
    minilm = minilm_encoder()
    train, test, dev = _pitt("train"), _pitt("test"), dev_rows()
    res: dict = {"counts": {"pitt_train": len(train), "pitt_test": len(test), "dev": len(dev)}}
    theme_train = [r for r in train if r.get("theme")]
    res["temperature_static"] = fit_temperature(static.encode, [r["text"] for r in theme_train],
                                                [r["theme"] for r in theme_train])
    zs: dict = {}
    for enc_name, enc in (("minilm", minilm), ("static", static.encode)):
        for set_name, rows in (("pitt_test", test), ("dev_text_hint", dev)):
            p = zero_shot(enc, [r["text"] for r in rows], "theme")
            zs[f"theme/{enc_name}/{set_name}"] = accuracy(p, [r.get("theme") for r in rows])
        emo = _emotion_rows("test")
        p = zero_shot(enc, [t for t, _ in emo], "emotion")
        zs[f"emotion/{enc_name}/pitt_test"] = accuracy(p, [e for _, e in emo])
    res["zero_shot"] = zs
    res["majority"] = {"theme/pitt_test": majority([r.get("theme") for r in test]),
                       "theme/dev": majority([r["theme"] for r in dev]),
                       "emotion/pitt_test": majority([e for _, e in _emotion_rows("test")]),
                       "monetary/dev": majority([r["monetary"] for r in dev]), "cta/dev": majority([r["cta"] for r in dev])}
    synth_new, synth_old = adsynth_copy(4000, legacy=False), adsynth_copy(4000, legacy=True)
    tests = {"pitt_test": test, "dev_text_hint": dev}
    res["probe_theme"] = {
        "pitt_train": probe(theme_train, "theme", tests, static),
        "adsynth": probe(synth_new, "theme", tests, static),
        "pitt_train+adsynth": probe(theme_train + synth_new, "theme", tests, static),
    }
    negs = [r for r in realtext.build(realtext.DEFAULT_SRC)["train"]]
    negs = [{"text": r.text, "monetary": r.labels.get("monetary"), "cta": r.labels.get("cta")} for r in negs]
    rng = random.Random(0)
    negs = rng.sample(negs, 2000)
    res["probe_monetary_cta"] = {}
    for name, rows in (("adsynth_old_priors", synth_old), ("adsynth_new_priors", synth_new),
                       ("adsynth_new_priors+real_negatives", synth_new + negs)):
        res["probe_monetary_cta"][name] = {h: probe(rows, h, {"dev_text_hint": dev}, static, bag=True)
                                           for h in ("monetary", "cta")}
    res["encode"] = encode_timing(static, minilm, [r["text"] for r in test[:200]])
    from adfusion_edge.distill.models.text_encoders import pretrained_dir
    from adfusion_edge.static_text import DEFAULT_STATIC

    res["size_bytes"] = {"static_npz": DEFAULT_STATIC.stat().st_size,
                         "minilm_safetensors": (pretrained_dir("minilm") / "model.safetensors").stat().st_size}
    res["static_meta"] = static.meta
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(res, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return res


def open_vocab_bare_names() -> dict[str, tuple[float, int]]:
    """Theme accuracy of the runtime open-vocabulary scorer given the bare theme names as user labels."""
    from adfusion_edge.open_vocab import OpenVocabScorer

    sc, names = OpenVocabScorer(), {"theme": list(schema.THEMES)}
    out = {}
    for set_name, rows in (("pitt_test", _pitt("test")), ("dev_text_hint", dev_rows())):
        pred = [sc.score(r["text"], names)["theme"].label for r in rows]
        out[set_name] = accuracy(pred, [r.get("theme") for r in rows])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--open-vocab-names", action="store_true",
                   help="only the open-vocabulary scorer with bare theme names (a few seconds)")
    a = p.parse_args(argv)
    res = open_vocab_bare_names() if a.open_vocab_names else run(a.out)
    print(json.dumps(res, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
