"""The INT8 copy of RapidOCR's text detector that the SDK ships, and how it is built.

On real ads the detector (PP-OCRv6 small, a convolutional DB net at 640 px) is about half of the
OCR time. Static INT8 quantization (QDQ: per-channel INT8 weights, UINT8 activations, MinMax
calibration) of its Conv layers runs on the CPU's integer dot-product units (AVX-512 VNNI / AVX-VNNI
here) and is about 3x faster at the same input size, with a probability map that differs from the
FP32 one by about 0.002 on average (benchmarks/ocr_race_pages.py, reports/ocr_race_round4.md).

The file is built once by :func:`build_int8_detector` (``python benchmarks/ocr_build_int8.py``)
from calibration images that are not the real-ad dev set (text-dense pages rendered by the
benchmark and AdSynth ads), and shipped in ``adfusion_edge/ocr/models/`` beside a JSON note of the
FP32 source file's SHA-256. Building needs the ``onnx`` package (the ``export`` extra); using the
shipped file needs only ONNX Runtime. :func:`int8_detector` hands the file out only while the FP32
detector installed with RapidOCR is the one it was quantized from: after a RapidOCR upgrade that
changes the detector, the engine falls back to that FP32 detector rather than run a stale copy.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from adfusion_edge.errors import OcrError

MODEL_DIR = Path(__file__).resolve().parent / "models"
DET_FILE = "det_int8.onnx"
NOTE_FILE = "det_int8.json"
FP32_DET_NAME = "PP-OCRv6_det_small.onnx"


def fp32_detector() -> Path:
    """RapidOCR's shipped FP32 detector file.

    Raises:
        OcrError: RapidOCR or its detector file is missing.
    """
    try:
        import rapidocr
    except ImportError as e:
        raise OcrError(f"rapidocr is not installed: {e}") from None
    p = Path(rapidocr.__file__).resolve().parent / "models" / FP32_DET_NAME
    if not p.is_file():
        raise OcrError(f"RapidOCR's detector {p} is missing")
    return p


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def int8_detector(model_dir: str | Path | None = None) -> Path | None:
    """The shipped INT8 detector, or None where it is absent or was built from another FP32 file.

    Args:
        model_dir: Folder holding ``det_int8.onnx`` and its note (None: ``MODEL_DIR``).
    """
    d = Path(model_dir) if model_dir is not None else MODEL_DIR
    det, note = d / DET_FILE, d / NOTE_FILE
    if not det.is_file() or not note.is_file():
        return None
    try:
        meta = json.loads(note.read_text())
        return det if meta.get("source_sha256") == sha256(fp32_detector()) else None
    except (OSError, ValueError, OcrError):
        return None


def build_int8_detector(images: Iterable[np.ndarray], out_dir: str | Path = MODEL_DIR,
                        sides: tuple[int, ...] = (640,), note: str = "") -> Path:
    """Quantize RapidOCR's FP32 detector to INT8 (static QDQ) with ``images`` as calibration data.

    Each image is prepared as the detector's own pre-processing does (scaled so its longest side is
    each of ``sides``, normalised), so the activation ranges are those the engine will feed.

    Args:
        images: RGB uint8 calibration images (never the real-ad dev set).
        out_dir: Where ``det_int8.onnx`` and its ``det_int8.json`` note are written.
        sides: Detector input sizes (longest side) to calibrate at.
        note: Free text saved in the note (what the calibration images were).

    Returns:
        Path of the INT8 detector.

    Raises:
        OcrError: ``onnx`` is missing, no calibration image was given, or quantization failed.
    """
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
        from rapidocr.ch_ppocr_det.utils import DetPreProcess
    except ImportError as e:
        raise OcrError(f"building the INT8 detector needs onnx (pip install 'adfusion-edge[export]'): {e}") from None

    # DetPreProcess's own mean / std (RapidOCR's config.yaml for the detector).
    feeds = [DetPreProcess(side, "max", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])(np.ascontiguousarray(img))
             for img in images for side in sides]
    feeds = [f for f in feeds if f is not None]
    if not feeds:
        raise OcrError("no calibration image for the INT8 detector")

    class _Reader(CalibrationDataReader):
        def __init__(self):
            self._it = iter({"x": f.astype(np.float32)} for f in feeds)

        def get_next(self):
            return next(self._it, None)

    src = fp32_detector()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="adfusion_det_int8_") as tmp:
            # The shipped model is opset 11; per-channel QDQ (DequantizeLinear's axis) needs 13.
            op13 = str(Path(tmp) / "op13.onnx")
            onnx.save(version_converter.convert_version(onnx.load(str(src)), 13), op13)
            pre = str(Path(tmp) / "pre.onnx")
            quant_pre_process(op13, pre, skip_symbolic_shape=True)
            quantize_static(pre, str(out / DET_FILE), _Reader(), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                            calibrate_method=CalibrationMethod.MinMax, op_types_to_quantize=["Conv"])
    except Exception as e:  # ORT quantization / onnx errors
        raise OcrError(f"INT8 detector quantization failed: {type(e).__name__}: {e}") from None
    (out / NOTE_FILE).write_text(json.dumps({
        "source": FP32_DET_NAME, "source_sha256": sha256(src), "int8_sha256": sha256(out / DET_FILE),
        "method": "onnxruntime quantize_static, QDQ, per-channel INT8 weights, UINT8 activations, MinMax, Conv only",
        "calibration_inputs": len(feeds), "sides": list(sides), "note": note}, indent=1) + "\n")
    return out / DET_FILE
