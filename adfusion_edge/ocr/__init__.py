"""OCR of ad creatives (RapidOCR's PP-OCR ONNX models, offline), most prominent text first.

    from adfusion_edge.ocr import OcrEngine
    res = OcrEngine(token_budget=54).read("ad.jpg")
    res.text, res.lines, res.ms

engine.py drives the detector and recogniser; order.py ranks boxes and sets the reading order;
settings.py holds the reference settings and the race-chosen default.
"""

from adfusion_edge.ocr.engine import OcrEngine, OcrResult, OcrTimeoutError
from adfusion_edge.ocr.order import OcrLine, reading_order
from adfusion_edge.ocr.settings import DEFAULT, REFERENCE, OcrSettings

__all__ = ["DEFAULT", "REFERENCE", "OcrEngine", "OcrLine", "OcrResult", "OcrSettings", "OcrTimeoutError",
           "reading_order"]
