"""Build the INT8 detector / recogniser shipped in adfusion_edge/ocr/models/ (see adfusion_edge/ocr/int8.py).

    python benchmarks/ocr_build_int8.py [--part det|rec] [--pages 16] [--synth 8] [--out adfusion_edge/ocr/models]

Calibration images: text-dense pages rendered by benchmarks/ocr_pages.py, numbered from 500 (the
race uses pages from 0, so calibration and race images differ), and AdSynth ``train`` ads at
1,000 px. No real-ad dev image is used. Needs the ``onnx`` package (the ``export`` extra), which the
SDK's runtime path must not import: hence this script, not a module of adfusion_edge.ocr.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ocr_compare import adsynth_ads  # noqa: E402
from ocr_pages import dense_pages  # noqa: E402

from adfusion_edge.errors import OcrError  # noqa: E402
from adfusion_edge.ocr import int8  # noqa: E402

PAGE_START = 500


def _det_feeds(images: list[np.ndarray], sides: tuple[int, ...]) -> list[np.ndarray]:
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    # DetPreProcess with the detector's own mean / std (RapidOCR's config.yaml).
    feeds = [DetPreProcess(side, "max", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])(np.ascontiguousarray(img))
             for img in images for side in sides]
    return [f for f in feeds if f is not None]


def _rec_feeds(images: list[np.ndarray], max_crops: int) -> list[np.ndarray]:
    """Box crops found by the FP32 detector, each at its own width, as the engine feeds them."""
    from adfusion_edge.ocr.engine import OcrEngine
    from adfusion_edge.ocr.settings import OcrSettings

    eng = OcrEngine(OcrSettings(rec_batch=1, rec_width=48), threads=1)
    det, rec = eng._models()
    crops = [c for img in images for c in eng._detect(det, np.ascontiguousarray(img))[1]]
    step = max(1, len(crops) // max(max_crops, 1))
    return [rec.resize_norm_img(c, max(c.shape[1] / max(c.shape[0], 1), 1.0))[None] for c in crops[::step][:max_crops]]


def build_int8(part: str, images: Iterable[np.ndarray], out_dir: str | Path = int8.MODEL_DIR,
               sides: tuple[int, ...] = (640,), max_crops: int = 64, note: str = "") -> Path:
    """Quantize RapidOCR's FP32 ``part`` to INT8 (static QDQ) with ``images`` as calibration data.

    Detector: each image prepared as the detector's own pre-processing does at each of ``sides``
    (longest side). Recogniser: up to ``max_crops`` text boxes the FP32 detector finds in the
    images, each at its own width. So the activation ranges are those the engine will feed.

    Args:
        part: "det" or "rec".
        images: RGB uint8 calibration images (never the real-ad dev set).
        out_dir: Where ``<part>_int8.onnx`` and its ``<part>_int8.json`` note are written.
        sides: Detector input sizes to calibrate at (detector only).
        max_crops: Calibration crops (recogniser only).
        note: Free text saved in the note (what the calibration images were).

    Returns:
        Path of the INT8 model.

    Raises:
        OcrError: unknown part, ``onnx`` is missing, no calibration input, or quantization failed.
    """
    _name, model_file, note_file, ops = int8._part(part)
    try:
        import onnx
        from onnx import version_converter
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as e:
        raise OcrError(f"building an INT8 OCR model needs onnx (pip install 'adfusion-edge[export]'): {e}") from None
    images = list(images)
    feeds = (_det_feeds(images, sides) if part == "det" else _rec_feeds(images, max_crops)) if images else []
    if not feeds:
        raise OcrError(f"no calibration input for the INT8 {part} model")

    class _Reader(CalibrationDataReader):
        def __init__(self):
            self._it = iter({"x": f.astype(np.float32)} for f in feeds)

        def get_next(self):
            return next(self._it, None)

    src = int8.fp32_model(part)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dst = out / model_file
    try:
        with tempfile.TemporaryDirectory(prefix=f"adfusion_{part}_int8_") as tmp:
            # The shipped models are opset 11; per-channel QDQ (DequantizeLinear's axis) needs 13.
            op13 = str(Path(tmp) / "op13.onnx")
            onnx.save(version_converter.convert_version(onnx.load(str(src)), 13), op13)
            pre = str(Path(tmp) / "pre.onnx")
            quant_pre_process(op13, pre, skip_symbolic_shape=True)
            quantize_static(pre, str(dst), _Reader(), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                            calibrate_method=CalibrationMethod.MinMax, op_types_to_quantize=list(ops))
    except Exception as e:  # ORT quantization / onnx errors
        raise OcrError(f"INT8 {part} quantization failed: {type(e).__name__}: {e}") from None
    (out / note_file).write_text(json.dumps({
        "source": src.name, "source_sha256": int8.sha256(src), "int8_sha256": int8.sha256(dst),
        "method": ("onnxruntime quantize_static, QDQ, per-channel INT8 weights, UINT8 activations, MinMax, "
                   f"ops {', '.join(ops)}"),
        "calibration_inputs": len(feeds), "sides": list(sides) if part == "det" else None, "note": note},
        indent=1) + "\n")
    return dst


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=16)
    ap.add_argument("--synth", type=int, default=8)
    ap.add_argument("--out", default=str(int8.MODEL_DIR))
    ap.add_argument("--part", default="det", choices=("det", "rec"))
    ap.add_argument("--crops", type=int, default=64, help="recogniser calibration crops")
    a = ap.parse_args(argv)
    imgs = [img for _, img, _, _ in dense_pages(a.pages, start=PAGE_START)]
    imgs += [img for _, img, _ in adsynth_ads("train", a.synth, size=1000)]
    note = (f"{a.pages} text-dense pages (benchmarks/ocr_pages.py, from {PAGE_START}) + {a.synth} AdSynth "
            "train ads at 1000 px; no real-ad dev image")
    print(build_int8(a.part, imgs, a.out, sides=(640, 736), max_crops=a.crops, note=note))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
