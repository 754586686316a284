"""OCR of ad creatives with RapidOCR (PP-OCR ONNX models shipped inside the package: offline).

The engine is created lazily on first use, under a lock, and shared: RapidOCR's ONNX sessions are
thread-safe for inference. Text comes back in reading order: boxes are grouped into lines
(vertical centres within half a box height), lines sorted top to bottom, boxes left to right;
boxes on one line are joined with spaces, lines with "\\n" (as the training corpora write ad text).

Settings chosen for ads (measured on 320-1080 px creatives, 2 CPU cores):
    * detector limit_type "max" at 640 px: RapidOCR's default ("min" side to 736 px) *upscales*
      small banners and made detection 4x slower with no gain on ad-size text;
    * the 0/180-degree text-direction classifier is off: ads are printed upright, and it costs
      ~30 % of the OCR time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from adfusion_edge.errors import OcrError
from adfusion_edge.image_io import ImageSource, decode_image


@dataclass(frozen=True)
class OcrLine:
    """One detected text box: its text, confidence and box (x0, y0, x1, y1) in image pixels."""

    text: str
    score: float
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class OcrResult:
    """OCR output.

    Attributes:
        text: All text in reading order (boxes of a line joined by spaces, lines by newlines).
        lines: The boxes in reading order.
        ms: Wall time of the OCR call in milliseconds.
    """

    text: str
    lines: tuple[OcrLine, ...]
    ms: float


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


class OcrEngine:
    """Lazily initialised, thread-safe RapidOCR wrapper.

    Args:
        threads: ONNX Runtime intra-op threads for the OCR models (None: RapidOCR's default).
        max_side: Detector input limit (longest side, pixels).
        min_score: Drop boxes whose recognition confidence is below this.
    """

    def __init__(self, threads: int | None = None, max_side: int = 640, min_score: float = 0.5):
        self.threads, self.max_side, self.min_score = threads, max_side, min_score
        self._engine = None
        self._lock = threading.Lock()

    def _get(self):
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    params = {
                        "Global.use_cls": False,
                        "Global.log_level": "critical",
                        "Global.text_score": self.min_score,
                        "Det.limit_type": "max",
                        "Det.limit_side_len": self.max_side,
                        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                    }
                    if self.threads is not None:
                        params["EngineConfig.onnxruntime.intra_op_num_threads"] = int(self.threads)
                    try:
                        from rapidocr import RapidOCR

                        self._engine = RapidOCR(params=params)
                    except Exception as e:  # ImportError, missing model files, ORT load errors
                        raise OcrError(f"cannot initialise RapidOCR: {e}") from None
        return self._engine

    def read(self, image: ImageSource) -> OcrResult:
        """OCR one image (any source decode_image accepts).

        Raises:
            InvalidImageError: the image cannot be decoded.
            OcrError: the OCR engine failed.
        """
        arr = image if isinstance(image, np.ndarray) and image.ndim == 3 and image.dtype == np.uint8 \
            and image.shape[2] == 3 else np.asarray(decode_image(image))
        engine = self._get()
        t0 = time.perf_counter()
        try:
            out = engine(np.ascontiguousarray(arr))
        except Exception as e:
            # Some engine errors have an empty str(); the class name still says what went wrong.
            raise OcrError(f"OCR failed on a {arr.shape[1]}x{arr.shape[0]} image: {type(e).__name__}: {e}") from None
        ms = (time.perf_counter() - t0) * 1e3
        boxes: list[OcrLine] = []
        if out is not None and getattr(out, "boxes", None) is not None and out.txts:
            for pts, txt, score in zip(out.boxes, out.txts, out.scores, strict=False):
                p = np.asarray(pts, np.float64).reshape(-1, 2)
                if txt and txt.strip():
                    boxes.append(OcrLine(txt.strip(), float(score),
                                         (float(p[:, 0].min()), float(p[:, 1].min()),
                                          float(p[:, 0].max()), float(p[:, 1].max()))))
        lines = reading_order(boxes)
        text = "\n".join(" ".join(b.text for b in line) for line in lines)
        return OcrResult(text, tuple(b for line in lines for b in line), ms)
