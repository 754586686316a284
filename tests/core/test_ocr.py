"""OCR: prominence order, token budget, reading order, settings, failures (real RapidOCR models)."""

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).parents[1]))
from bundle_fixtures import fp32_bundle, tiny_artifacts  # noqa: E402, F401 - fixtures

from adfusion_edge import Analyzer  # noqa: E402
from adfusion_edge.errors import ConfigError, OcrError  # noqa: E402
from adfusion_edge.ocr import DEFAULT, REFERENCE, OcrEngine, OcrSettings, OcrTimeoutError  # noqa: E402
from adfusion_edge.ocr.order import OcrLine, TokenBudget, prominence, reading_order  # noqa: E402

HEADLINE = "MEGA SALE"
FINE = ["terms apply see store", "offer ends sunday night", "while stocks last only"]


def _font(px: int):
    import matplotlib

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans-Bold.ttf"), px)


def poster() -> np.ndarray:
    """Fine print at the top (read first in reading order), a big headline below it."""
    img = Image.new("RGB", (480, 360), (255, 255, 255))
    d = ImageDraw.Draw(img)
    for i, line in enumerate(FINE):
        d.text((20, 12 + 26 * i), line, font=_font(18), fill=(0, 0, 0))
    d.text((30, 170), HEADLINE, font=_font(64), fill=(200, 0, 0))
    return np.asarray(img)


def _quad(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def test_prominence_ranks_tall_contrasted_text_first_and_footers_lower():
    quads = [_quad(0, 10, 100, 20), _quad(0, 40, 200, 100), _quad(0, 190, 100, 200), _quad(0, 120, 100, 130)]
    crops = [np.tile([0, 255], (10, 50)).astype(np.uint8)] * 4
    crops[3] = np.full((10, 100), 128, np.uint8)  # no contrast: faint text
    s = prominence(quads, crops, image_h=200)
    assert s.argmax() == 1
    assert s[2] < s[0]  # same height, but in the footer band
    assert s[3] < s[0]  # same height, but no contrast
    assert prominence([], [], 100).shape == (0,)


def test_token_budget_skips_what_does_not_fit_and_fills():
    b = TokenBudget(5, lambda t: len(t.split()))
    assert b.take("one two three") and not b.take("a b c") and b.take("x y")
    assert b.full and not TokenBudget(None, None).full
    first = TokenBudget(2, lambda t: len(t.split()))
    assert first.take("a headline longer than the budget") and first.full  # the first box is always kept
    assert not TokenBudget(None, None).full
    picky = TokenBudget(10, lambda t: len(t.split()), min_left=1, max_misses=2)
    assert picky.take("a b c d e f g h") and not picky.take("too long now") and not picky.full
    assert picky.take("x") and not picky.take("p q r") and not picky.full  # a fit resets the count
    assert not picky.take("s t u") and picky.full  # 2 misses in a row
    assert TokenBudget(None, None).take("anything " * 99)


def test_reading_order_lines_top_to_bottom_boxes_left_to_right():
    boxes = [OcrLine("World", 1, (200, 10, 260, 30)), OcrLine("Hello", 1, (10, 12, 80, 32)),
             OcrLine("below", 1, (10, 60, 80, 80))]
    assert [[b.text for b in line] for line in reading_order(boxes)] == [["Hello", "World"], ["below"]]


def test_settings_reject_bad_values():
    for bad in ({"det_max_side": 8}, {"rec_batch": 0}, {"rec_width": 4}, {"det_threads": 0},
                {"rec_workers": 0}, {"min_score": 2.0}, {"max_misses": 0}, {"long_box_tokens": -1.0}):
        with pytest.raises(ConfigError):
            OcrSettings(**bad)
    assert OcrSettings().with_threads(1).rec_threads == 1 and not REFERENCE.prioritise and DEFAULT.prioritise


@pytest.fixture(scope="module")
def engine():
    return OcrEngine(OcrSettings(rec_batch=1, rec_width=48), threads=1)  # one box per call: budget checked per box


def test_budget_reads_the_headline_before_the_fine_print(engine):
    img = poster()
    full = engine.read(img)
    assert HEADLINE in full.text and "terms" in full.text and full.recognised == full.detected >= 4
    short = engine.read(img, token_budget=3)
    assert short.text == HEADLINE, short.text  # the fine print comes first in reading order, yet is skipped
    assert short.recognised < short.detected
    assert short.ms > 0


def test_reference_settings_read_every_box_even_with_a_budget():
    ref = OcrEngine(REFERENCE.with_threads(1), token_budget=3)
    res = ref.read(poster())
    assert res.recognised == res.detected and HEADLINE in res.text and "stocks" in res.text


def test_absurd_aspect_ratio_and_timeout_are_typed_errors(engine):
    with pytest.raises(OcrError, match="aspect ratio"):
        engine.read(np.zeros((10, 20000, 3), np.uint8))
    with pytest.raises(OcrTimeoutError, match="limit"):
        OcrEngine(threads=1, timeout_s=0.0).read(poster())


def test_warmup_loads_and_runs_the_models():
    e = OcrEngine(threads=1)
    assert e._parts is None
    assert e.warmup() > 0 and e._parts is not None


@pytest.mark.slow
def test_analyzer_ocr_failure_gives_an_image_only_report_unless_strict(fp32_bundle):  # noqa: F811
    a = Analyzer(fp32_bundle, device="cpu", threads=1, warmup=True)
    assert a.warmup_ms > 0 and a._ocr is not None
    bad = np.zeros((10, 20000, 3), np.uint8)
    r = a.run(bad)
    assert r.text == "" and r.text_source.startswith("ocr_failed: ") and "aspect ratio" in r.text_source
    assert r.theme.label and r.cta.label and r.monetary.type.label  # every head still answers
    with pytest.raises(OcrError):
        Analyzer(fp32_bundle, device="cpu", threads=1, strict_ocr=True).run(bad)
    late = Analyzer(fp32_bundle, device="cpu", threads=1, ocr_timeout_s=0.0).run(poster())
    assert late.text == "" and late.text_source.startswith("ocr_failed: OCR ran past")
    given = Analyzer(fp32_bundle, device="cpu", threads=1).run(bad, text="50% OFF")
    assert given.text_source == "given" and given.timings.ocr_ms == 0


@pytest.mark.slow
def test_analyzer_ocr_fills_the_token_budget_with_the_headline(fp32_bundle):  # noqa: F811
    a = Analyzer(fp32_bundle, device="cpu", threads=1, ocr_tokens=3)
    r = a.run(poster())
    assert r.text_source == "ocr" and r.text == HEADLINE
    everything = Analyzer(fp32_bundle, device="cpu", threads=1, ocr_tokens=0).run(poster())
    assert "terms" in everything.text and HEADLINE in everything.text


def test_long_boxes_that_cannot_fit_what_is_left_are_not_recognised():
    # Headline first (2 word pieces of a 5-piece budget); each fine-print line is more than 5 text
    # heights long, so with one word piece per unit of aspect ratio none of them can fit the 3 left.
    img = poster()
    plain = OcrEngine(OcrSettings(rec_batch=1, rec_width=48), threads=1, token_budget=5)
    skip = OcrEngine(OcrSettings(rec_batch=1, rec_width=48, long_box_tokens=1.0), threads=1, token_budget=5)
    a, b = plain.read(img), skip.read(img)
    assert b.text == HEADLINE and b.recognised == 1 < a.recognised, (a, b)
    assert HEADLINE in a.text
    with pytest.raises(ConfigError):
        OcrSettings(long_box_tokens=0.0)


def test_shipped_int8_models_match_the_installed_fp32_ones_and_read():
    from adfusion_edge.ocr import int8

    for part, name in (("det", int8.DET_FILE), ("rec", int8.REC_FILE)):
        path = int8.int8_model(part)
        assert path is not None and path.name == name  # shipped, and built from this RapidOCR's model
    e = OcrEngine(OcrSettings(det_int8=True, rec_int8=True, rec_batch=1, rec_width=48), threads=1, token_budget=3)
    assert e.read(poster()).text == HEADLINE and (e.det_precision, e.rec_precision) == ("int8", "int8")
    assert DEFAULT.det_int8  # the default runs the INT8 detector
    with pytest.raises(OcrError, match="unknown"):
        int8.int8_model("cls")


def test_stale_or_missing_int8_detector_falls_back_to_fp32(tmp_path, monkeypatch):
    from adfusion_edge.ocr import int8

    assert int8.int8_detector(tmp_path) is None  # absent
    (tmp_path / int8.DET_FILE).write_bytes((int8.MODEL_DIR / int8.DET_FILE).read_bytes())
    (tmp_path / int8.NOTE_FILE).write_text('{"source_sha256": "0000"}')  # quantized from another detector
    assert int8.int8_detector(tmp_path) is None
    (tmp_path / int8.NOTE_FILE).write_text("not json")
    assert int8.int8_detector(tmp_path) is None
    monkeypatch.setattr(int8, "MODEL_DIR", tmp_path)  # the engine looks there: stale file, FP32 runs
    e = OcrEngine(OcrSettings(det_int8=True, rec_batch=1), threads=1, token_budget=3)
    assert e.read(poster()).text == HEADLINE and e.det_precision == "fp32"


def test_int8_build_without_calibration_images_or_of_an_unknown_part_is_a_typed_error(tmp_path):
    pytest.importorskip("onnx")
    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))  # the builder is a script, not installed
    from ocr_build_int8 import build_int8

    for part in ("det", "rec"):
        with pytest.raises(OcrError, match="calibration"):
            build_int8(part, [], tmp_path)
    with pytest.raises(OcrError, match="unknown"):
        build_int8("cls", [np.zeros((64, 64, 3), np.uint8)], tmp_path)
    assert not list(tmp_path.iterdir())  # nothing half-written
