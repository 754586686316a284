"""Shared pieces of the OCR race and the real-ad OCR benchmark: the ads, the engines, the measures.

* The *legacy* engine is the SDK's OCR before prominence ordering: RapidOCR's all-in-one pipeline
  with the parameters the SDK passed (detector 640 px longest side, no direction classifier,
  recogniser defaults, ORT default threads). It is the "today" of every old-vs-new ratio.
* AdSynth ads are rendered here (the generator's ``val`` split for the race, ``test`` for the
  benchmark) at real-ad sizes; their printed text is known, so recall on them is a fair measure.
* Real-ad dev images are timed and, in the race, compared with what the legacy engine reads,
  without their labels. Their labels (``text_hint``, monetary and CTA strings) are used only to
  *report* recall, never to pick settings.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

import numpy as np

from adfusion_edge.distill.data.realdata import dev_dir
from adfusion_edge.image_io import decode_image

# The OCR budget the race and the benchmark use: the nano bundle's 56 tokens less [CLS] and [SEP] (the
# default bundle when these figures were first taken). The default `small` bundle reads 64 tokens, so
# its Analyzer fills 62 word pieces: slightly more OCR work per ad than these figures measure.
MODEL_TOKENS = 54
WORD = re.compile(r"[^\W_]+(?:[.,'%][^\W_]+)*%?", re.UNICODE)




def dev_images(limit: int | None = None) -> list[tuple[str, np.ndarray]]:
    """(file name, RGB pixels) of the dev images, sorted by name; evenly spread subset with ``limit``."""
    d = dev_dir()
    if d is None:
        return []
    files = sorted(d.glob("*.jpg"))
    if limit and limit < len(files):
        files = files[:: max(1, len(files) // limit)][:limit]
    return [(f.name, np.ascontiguousarray(np.asarray(decode_image(f)))) for f in files]


def dev_labels() -> dict[str, dict]:
    d = dev_dir()
    return json.loads((d / "labels.json").read_text()) if d is not None else {}


def adsynth_ads(split: str, n: int, size: int = 720) -> list[tuple[str, np.ndarray, str]]:
    """(id, RGB pixels, printed text) of ``n`` AdSynth ads of ``split`` at ``size`` px."""
    from adfusion_edge.distill.data.adsynth.config import SynthConfig
    from adfusion_edge.distill.data.adsynth.generator import generate_ad

    cfg = SynthConfig(size=size)
    out = []
    for i in range(n):
        rec = generate_ad(cfg, split, i)
        out.append((rec.id, np.ascontiguousarray(np.asarray(decode_image(rec.image))), rec.text))
    return out


def legacy_engine(threads: int | None = None) -> Callable[[np.ndarray], str]:
    """The SDK's OCR before this change (RapidOCR pipeline, same parameters); returns image -> text."""
    from rapidocr import RapidOCR

    params = {"Global.use_cls": False, "Global.log_level": "critical", "Global.text_score": 0.5,
              "Det.limit_type": "max", "Det.limit_side_len": 640,
              "EngineConfig.onnxruntime.inter_op_num_threads": 1}
    if threads is not None:
        params["EngineConfig.onnxruntime.intra_op_num_threads"] = int(threads)
    eng = RapidOCR(params=params)

    def read(img: np.ndarray) -> str:
        from adfusion_edge.ocr.order import OcrLine, join_lines, reading_order

        out = eng(img)
        boxes = []
        if out is not None and getattr(out, "boxes", None) is not None and out.txts:
            for pts, txt, score in zip(out.boxes, out.txts, out.scores, strict=False):
                p = np.asarray(pts, np.float64).reshape(-1, 2)
                if txt and txt.strip():
                    boxes.append(OcrLine(txt.strip(), float(score), (p[:, 0].min(), p[:, 1].min(),
                                                                     p[:, 0].max(), p[:, 1].max())))
        return join_lines(reading_order(boxes))

    return read


def model_window(tokenizer_file: str) -> Callable[[str], str]:
    """text -> its prefix the model reads (the first MODEL_TOKENS word pieces, as the tokenizer truncates)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file))
    tok.no_truncation()

    def cut(text: str) -> str:
        offs = tok.encode(text, add_special_tokens=False).offsets
        return text if len(offs) <= MODEL_TOKENS else text[: offs[MODEL_TOKENS - 1][1]]

    return cut


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters/digits, keeping 50%, 4.99, don't together)."""
    return [w.lower() for w in WORD.findall(text or "")]


def timed(fn: Callable[[np.ndarray], object], img: np.ndarray) -> tuple[object, float]:
    t0 = time.perf_counter()
    out = fn(img)
    return out, (time.perf_counter() - t0) * 1e3


def text_reader(engine: object) -> Callable[[np.ndarray], str]:
    """An OcrEngine as a pixels -> text call (what the races time beside the legacy engine)."""
    return lambda img: engine.read(img).text  # type: ignore[attr-defined]


def interleaved_reads(calls: dict[str, Callable[[np.ndarray], object]], images: list[np.ndarray],
                      desc: str = "OCR race") -> tuple[dict[str, list[float]], dict[str, list[object]]]:
    """Time every call on every image, interleaved ad by ad in a rotating order so machine load hits
    all alike; one untimed call each first (model load, first inference). Returns (ms, reads) by name."""
    from tqdm import tqdm

    for fn in calls.values():
        fn(images[0])
    names = list(calls)
    ms: dict[str, list[float]] = {k: [] for k in names}
    reads: dict[str, list[object]] = {k: [] for k in names}
    for j, img in enumerate(tqdm(images, desc=desc, unit="ad")):
        for k in names[j % len(names):] + names[:j % len(names)]:
            text, t = timed(calls[k], img)
            ms[k].append(t)
            reads[k].append(text)
    return ms, reads


def percentile(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs, np.float64), q)) if xs else float("nan")
