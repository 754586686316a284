"""OCR of ad creatives: RapidOCR's PP-OCR detector and recogniser (ONNX models shipped inside the
package: offline), driven box by box so the most prominent text is read first.

Per image: scale into RapidOCR's bounds -> detect text boxes -> crop each box -> rank boxes by
prominence (order.py) -> recognise in that order, ``rec_batch`` boxes per call, until the token
budget is full -> put the kept boxes in reading order (order.py). Without a budget (or with
``prioritise=False``) every box is recognised, in one call, as RapidOCR's own pipeline does.

The engine is created lazily on first use (or by :meth:`OcrEngine.warmup`), under a lock, and
shared: ONNX Runtime sessions are thread-safe for inference. The 0/180-degree text-direction
classifier is not used: ads are printed upright, and it costs about a third of the OCR time.
The image is fed in the channel order it arrives in (RGB), as the SDK always has.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from adfusion_edge.errors import OcrError
from adfusion_edge.image_io import ImageSource, decode_image
from adfusion_edge.ocr.order import (
    OcrLine,
    TokenBudget,
    join_lines,
    priority_order,
    prominence,
    reading_order,
    token_counter,
)
from adfusion_edge.ocr.settings import DEFAULT, OcrSettings

log = logging.getLogger(__name__)

MAX_ASPECT = 50.0  # longest / shortest side beyond which an image is not an ad OCR can read


class OcrTimeoutError(OcrError):
    """OCR ran past its time limit."""


@dataclass(frozen=True)
class OcrResult:
    """OCR output.

    Attributes:
        text: The kept boxes' text in reading order (a line's boxes joined by spaces, lines by newlines).
        lines: The kept boxes in reading order.
        ms: Wall time of the OCR call in milliseconds.
        detected: Text boxes the detector found.
        recognised: Boxes run through the recogniser (fewer than ``detected`` once the budget filled).
    """

    text: str
    lines: tuple[OcrLine, ...]
    ms: float
    detected: int = 0
    recognised: int = 0


def _as_rgb(image: ImageSource) -> np.ndarray:
    if isinstance(image, np.ndarray) and image.ndim == 3 and image.dtype == np.uint8 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    return np.ascontiguousarray(np.asarray(decode_image(image)))


class OcrEngine:
    """Lazily initialised, thread-safe OCR engine.

    Args:
        settings: Engine settings (default: the race winner, settings.DEFAULT).
        threads: Intra-op threads for both models; overrides ``settings``' thread fields.
        max_side: Overrides ``settings.det_max_side``.
        min_score: Overrides ``settings.min_score``.
        token_budget: Word pieces to fill (None: recognise every box).
        count_tokens: Word pieces of one text (the model's tokenizer); None counts words.
        timeout_s: Give up (OcrTimeoutError) once a call has run this long (None: no limit).

    Raises:
        ConfigError: invalid settings.
    """

    def __init__(self, settings: OcrSettings | None = None, threads: int | None = None,
                 max_side: int | None = None, min_score: float | None = None, token_budget: int | None = None,
                 count_tokens: Callable[[str], int] | None = None, timeout_s: float | None = None):
        from dataclasses import replace

        s = (settings or DEFAULT).with_threads(threads)
        if max_side is not None:
            s = replace(s, det_max_side=int(max_side))
        if min_score is not None:
            s = replace(s, min_score=float(min_score))
        self.settings = s
        self.token_budget = token_budget if s.prioritise else None
        self.count_tokens = count_tokens
        self.timeout_s = timeout_s
        self._parts: tuple | None = None
        # "int8", "fp32" or "custom" once the models are built
        self.det_precision: str | None = None
        self.rec_precision: str | None = None
        self._executor = None
        self._lock = threading.Lock()

    @classmethod
    def for_model(cls, tokenizer_file: str | os.PathLike, budget_tokens: int | None, threads: int | None = None,
                  timeout_s: float | None = None) -> OcrEngine:
        """The engine as the model reads: the budget counted in the model tokenizer's word pieces.

        Serving (Analyzer) and INT8 calibration both build their engine here, so calibration ads
        carry the text the deployed model will see, not every box on the page.

        Args:
            tokenizer_file: The bundle's / checkpoint's tokenizer.json.
            budget_tokens: Word pieces to fill, most prominent text first; None or 0 reads every box.
            threads: ONNX Runtime threads of both OCR models (None: the settings' own).
            timeout_s: Give up one ad's OCR after this long (None: no limit).
        """
        return cls(threads=threads, token_budget=budget_tokens or None,
                   count_tokens=token_counter(str(tokenizer_file)), timeout_s=timeout_s)

    def _models(self) -> tuple:
        if self._parts is None:
            with self._lock:
                if self._parts is None:
                    self._parts = self._build()
        return self._parts

    def _build(self) -> tuple:
        s = self.settings
        params = {
            "Global.use_cls": False,
            "Global.log_level": "critical",
            "Global.text_score": s.min_score,
            "Det.limit_type": "max",
            "Det.limit_side_len": s.det_max_side,
            "Rec.rec_batch_num": s.rec_batch,
            "Rec.rec_img_shape": [3, 48, s.rec_width],
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        self.det_precision, self.rec_precision = self._model_path(params, "det", s.det_model, s.det_int8), \
            self._model_path(params, "rec", s.rec_model, s.rec_int8)
        try:
            from rapidocr import RapidOCR
            from rapidocr.ch_ppocr_det import TextDetector
            from rapidocr.ch_ppocr_rec import TextRecognizer

            cfg = RapidOCR(params=params).cfg  # only parses the config; models load below

            def part_cfg(section, threads):
                c = copy.deepcopy(cfg[section])
                c.engine_cfg = copy.deepcopy(cfg.EngineConfig[c.engine_type.value])
                c.engine_cfg.intra_op_num_threads = -1 if threads is None else int(threads)
                c.model_root_dir = cfg.Global.model_root_dir
                return c

            rec_cfg = part_cfg("Rec", s.rec_threads)
            rec_cfg.font_path = cfg.Global.font_path
            return TextDetector(part_cfg("Det", s.det_threads)), TextRecognizer(rec_cfg)
        except Exception as e:  # ImportError, missing model files, ORT load errors
            raise OcrError(f"cannot initialise RapidOCR: {e}") from None

    @staticmethod
    def _model_path(params: dict, part: str, path: str | None, int8: bool) -> str:
        """Point RapidOCR's ``part`` at ``path`` or the shipped INT8 copy; returns the precision run."""
        key = {"det": "Det.model_path", "rec": "Rec.model_path"}[part]
        if path is not None:
            params[key] = str(path)
            return "custom"
        if not int8:
            return "fp32"
        from adfusion_edge.ocr.int8 import int8_model

        p = int8_model(part)
        if p is None:  # slower, reads the same: better than refusing to read
            log.warning("the shipped INT8 OCR %s model is missing or was built from another RapidOCR model; "
                        "running the FP32 one", part)
            return "fp32"
        params[key] = str(p)
        return "int8"

    def warmup(self) -> float:
        """Create the models and run one small inference (detector + recogniser).

        Returns:
            Milliseconds it took (model loading included).
        """
        import cv2

        t0 = time.perf_counter()
        self._models()
        img = np.full((96, 320, 3), 255, np.uint8)
        cv2.putText(img, "SALE 50% OFF", (12, 62), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (0, 0, 0), 3)
        self.read(img)
        return (time.perf_counter() - t0) * 1e3

    def read(self, image: ImageSource, token_budget: int | None = None) -> OcrResult:
        """OCR one image (any source decode_image accepts).

        Args:
            image: The ad.
            token_budget: Overrides the engine's budget for this call.

        Raises:
            InvalidImageError: the image cannot be decoded.
            OcrError: the engine failed, the image's aspect ratio is beyond what OCR can read,
                or (OcrTimeoutError) the call ran past ``timeout_s``.
        """
        arr = _as_rgb(image)
        h, w = arr.shape[:2]
        if max(h, w) > MAX_ASPECT * max(min(h, w), 1):
            raise OcrError(f"cannot OCR a {w}x{h} image: aspect ratio beyond {MAX_ASPECT:.0f}:1")
        det, rec = self._models()
        t0 = time.perf_counter()
        try:
            quads, crops = self._detect(det, arr)
            lines, recognised = self._recognise(rec, quads, crops, h, t0, token_budget)
        except OcrError:
            raise
        except Exception as e:
            raise OcrError(f"OCR failed on a {w}x{h} image: {type(e).__name__}: {e}") from None
        ordered = reading_order(lines)
        return OcrResult(join_lines(ordered), tuple(b for line in ordered for b in line),
                         (time.perf_counter() - t0) * 1e3, len(quads), recognised)

    def _detect(self, det, arr: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Boxes (N, 4, 2) in original-image pixels and their crops, as RapidOCR's pipeline makes them."""
        from rapidocr.utils.process_img import (
            apply_vertical_padding,
            get_rotate_crop_image,
            map_boxes_to_original,
            resize_image_within_bounds,
        )

        cfg = RapidOCRBounds
        img, ratio_h, ratio_w = resize_image_within_bounds(arr, cfg.min_side, cfg.max_side)
        op = {"preprocess": {"ratio_h": ratio_h, "ratio_w": ratio_w}}
        img, op = apply_vertical_padding(img, op, cfg.width_height_ratio, cfg.min_height)
        out = det(img)
        if out.boxes is None or len(out.boxes) == 0:
            return np.zeros((0, 4, 2), np.float32), []
        crops = [get_rotate_crop_image(img, copy.deepcopy(b)) for b in out.boxes]
        quads = map_boxes_to_original(np.array(out.boxes, np.float32), op, arr.shape[0], arr.shape[1])
        return quads, crops

    def _recognise(self, rec, quads: np.ndarray, crops: list[np.ndarray], image_h: int, t0: float,
                   token_budget: int | None) -> tuple[list[OcrLine], int]:
        if not crops:
            return [], 0
        s = self.settings
        budget_n = token_budget if token_budget is not None else self.token_budget
        if not s.prioritise:
            budget_n = None
        order = priority_order(prominence(quads, crops, image_h)) if budget_n is not None else list(range(len(crops)))
        # No budget: one call over all boxes, as RapidOCR's pipeline does. With a budget: rounds of
        # rec_workers x rec_batch boxes, so the budget is checked between rounds.
        step = s.rec_batch * s.rec_workers if budget_n is not None else len(order)
        budget = TokenBudget(budget_n, self.count_tokens, max_misses=s.max_misses)
        kept: list[OcrLine] = []
        done = 0
        pending = list(order)
        while pending:
            if self.timeout_s is not None and time.perf_counter() - t0 > self.timeout_s:
                raise OcrTimeoutError(f"OCR ran past its {self.timeout_s:g} s limit "
                                      f"({done} of {len(order)} text boxes read)")
            if budget_n is not None and s.long_box_tokens is not None and budget.taken:
                # On dense pages most of the time went into recognising long body-copy lines that
                # could no longer fit in the few tokens left; their length shows before reading.
                pending = [i for i in pending if s.long_box_tokens * _aspect(crops[i]) <= budget.left]
                if not pending:
                    break
            idx, pending = pending[:step], pending[step:]
            txts, scores = self._rec_round(rec, [crops[i] for i in idx])
            done += len(idx)
            for i, txt, score in zip(idx, txts, scores, strict=True):
                txt = (txt or "").strip()
                if not txt or score < s.min_score or not budget.take(txt):
                    continue
                p = quads[i]
                kept.append(OcrLine(txt, float(score), (float(p[:, 0].min()), float(p[:, 1].min()),
                                                        float(p[:, 0].max()), float(p[:, 1].max()))))
            if budget.full:
                break
        return kept, done

    def _rec_round(self, rec, crops: list[np.ndarray]) -> tuple[list[str], list[float]]:
        """Recognise crops, split over ``rec_workers`` parallel calls (ORT releases the GIL)."""
        from rapidocr.ch_ppocr_rec import TextRecInput

        workers = min(self.settings.rec_workers, len(crops))
        if workers <= 1:
            out = rec(TextRecInput(img=crops))
            return list(out.txts), list(out.scores)
        chunks = [crops[k::workers] for k in range(workers)]  # interleaved: similar total widths
        outs = list(self._pool().map(lambda c: rec(TextRecInput(img=c)), chunks))
        txts: list[str] = [""] * len(crops)
        scores: list[float] = [0.0] * len(crops)
        for k, out in enumerate(outs):
            txts[k::workers], scores[k::workers] = list(out.txts), list(out.scores)
        return txts, scores

    def _pool(self):
        if self._executor is None:
            with self._lock:
                if self._executor is None:
                    from concurrent.futures import ThreadPoolExecutor

                    self._executor = ThreadPoolExecutor(self.settings.rec_workers, thread_name_prefix="ocr-rec")
        return self._executor


def _aspect(crop: np.ndarray) -> float:
    """Width / height of a box crop (its length in text heights)."""
    return crop.shape[1] / max(crop.shape[0], 1)


class RapidOCRBounds:
    """RapidOCR's Global image bounds (config.yaml), applied before detection as its pipeline does."""

    min_side, max_side = 30, 2000
    width_height_ratio, min_height = 8, 30
