"""INT8 copies of RapidOCR's text detector and recogniser that the SDK ships, and how they are built.

On real ads the detector (PP-OCRv6 small, a convolutional DB net) was about 40 % of the OCR time and
the recogniser (an SVTR-style net, convolutions + attention MatMuls) the rest. Static INT8
quantization (QDQ: per-channel INT8 weights, UINT8 activations, MinMax calibration) runs them on
the CPU's integer dot-product units (AVX-512 VNNI / AVX-VNNI here): the detector about 3x faster
at the same input size, with a probability map that differs from the FP32 one by about 0.002 on
average; the recogniser about 1.6x faster (Conv and MatMul quantized). Which of them the default
runs was decided by the OCR race (adfusion_edge/ocr/settings.py).

The files are built once by ``python benchmarks/ocr_build_int8.py --part det|rec`` from
calibration images that are not the real-ad dev set (text-dense pages rendered by the benchmark
and AdSynth train ads), and shipped in ``adfusion_edge/ocr/models/``, each beside a JSON note of
its FP32 source file's SHA-256. Building needs the ``onnx`` package (the ``export`` extra), so it
lives outside the runtime path; using a shipped file needs only ONNX Runtime. :func:`int8_model` hands a file out only while the FP32 model
installed with RapidOCR is the one it was quantized from: after a RapidOCR upgrade that changes a
model, the engine falls back to that FP32 model rather than run a stale copy.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

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
