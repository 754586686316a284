"""INT8 copies of RapidOCR's text detector and recogniser that the SDK ships, and how they are built.

On real ads the detector (PP-OCRv6 small, a convolutional DB net) was about 40 % of the OCR time and
the recogniser (an SVTR-style net, convolutions + attention MatMuls) the rest. Static INT8
quantization (QDQ: per-channel INT8 weights, UINT8 activations, MinMax calibration) runs them on
the CPU's integer dot-product units (AVX-512 VNNI / AVX-VNNI here): the detector about 3x faster
at the same input size, with a probability map that differs from the FP32 one by about 0.002 on
average; the recogniser about 1.6x faster (Conv and MatMul quantized). Which of them the default
runs was decided by the OCR race (adfusion_edge/ocr/settings.py).

The files are built once by :func:`build_int8` (``python benchmarks/ocr_build_int8.py``) from
calibration images that are not the real-ad dev set (text-dense pages rendered by the benchmark
and AdSynth train ads), and shipped in ``adfusion_edge/ocr/models/``, each beside a JSON note of
its FP32 source file's SHA-256. Building needs the ``onnx`` package (the ``export`` extra); using a
shipped file needs only ONNX Runtime. :func:`int8_model` hands a file out only while the FP32 model
installed with RapidOCR is the one it was quantized from: after a RapidOCR upgrade that changes a
model, the engine falls back to that FP32 model rather than run a stale copy.
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
DET_FILE, NOTE_FILE = "det_int8.onnx", "det_int8.json"
REC_FILE, REC_NOTE_FILE = "rec_int8.onnx", "rec_int8.json"
# part -> (RapidOCR's FP32 file, the INT8 file here, its note, the ops quantized)
PARTS = {"det": ("PP-OCRv6_det_small.onnx", DET_FILE, NOTE_FILE, ("Conv",)),
         "rec": ("PP-OCRv6_rec_small.onnx", REC_FILE, REC_NOTE_FILE, ("Conv", "MatMul"))}


def _part(part: str) -> tuple[str, str, str, tuple[str, ...]]:
    if part not in PARTS:
        raise OcrError(f"unknown OCR model part {part!r}; expected one of {sorted(PARTS)}")
    return PARTS[part]


def fp32_model(part: str) -> Path:
    """RapidOCR's shipped FP32 model file of ``part`` ("det" or "rec").

    Raises:
        OcrError: unknown part, or RapidOCR or its model file is missing.
    """
    name = _part(part)[0]
    try:
        import rapidocr
    except ImportError as e:
        raise OcrError(f"rapidocr is not installed: {e}") from None
    p = Path(rapidocr.__file__).resolve().parent / "models" / name
    if not p.is_file():
        raise OcrError(f"RapidOCR's model {p} is missing")
    return p


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def int8_model(part: str, model_dir: str | Path | None = None) -> Path | None:
    """The shipped INT8 copy of ``part``, or None where it is absent or was built from another FP32 file.

    Args:
        part: "det" (detector) or "rec" (recogniser).
        model_dir: Folder holding ``<part>_int8.onnx`` and its note (None: ``MODEL_DIR``).

    Raises:
        OcrError: unknown part.
    """
    _name, model_file, note_file, _ops = _part(part)
    d = Path(model_dir) if model_dir is not None else MODEL_DIR
    model, note = d / model_file, d / note_file
    if not model.is_file() or not note.is_file():
        return None
    try:
        meta = json.loads(note.read_text())
        return model if meta.get("source_sha256") == sha256(fp32_model(part)) else None
    except (OSError, ValueError, AttributeError, OcrError):
        return None


def int8_detector(model_dir: str | Path | None = None) -> Path | None:
    """The shipped INT8 detector (see :func:`int8_model`)."""
    return int8_model("det", model_dir)


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


def build_int8(part: str, images: Iterable[np.ndarray], out_dir: str | Path = MODEL_DIR,
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
    _name, model_file, note_file, ops = _part(part)
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

    src = fp32_model(part)
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
        "source": src.name, "source_sha256": sha256(src), "int8_sha256": sha256(dst),
        "method": ("onnxruntime quantize_static, QDQ, per-channel INT8 weights, UINT8 activations, MinMax, "
                   f"ops {', '.join(ops)}"),
        "calibration_inputs": len(feeds), "sides": list(sides) if part == "det" else None, "note": note},
        indent=1) + "\n")
    return dst


def build_int8_detector(images: Iterable[np.ndarray], out_dir: str | Path = MODEL_DIR,
                        sides: tuple[int, ...] = (640,), note: str = "") -> Path:
    """The INT8 detector (see :func:`build_int8`)."""
    return build_int8("det", images, out_dir, sides=sides, note=note)
