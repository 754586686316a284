"""The bad-input corpus, generated at test time: every entry gets a typed AdFusionError naming what
was wrong (never a raw builtin, a hang or a silent misread), with and without the cache, through
run(), run_batch(on_error="skip") and the CLI."""

import io
import os
import signal
import socket
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1]))
from bundle_fixtures import ad_png, fp32_bundle, tiny_artifacts  # noqa: E402, F401 - fixtures

from adfusion_edge import Analyzer, image_io  # noqa: E402
from adfusion_edge.errors import (  # noqa: E402
    AdFusionError,
    ImageNotFoundError,
    ImageTooLargeError,
    InvalidImageError,
    InvalidTextError,
)
from adfusion_edge.image_io import decode_image  # noqa: E402
from adfusion_edge.report import AdError, AdReport  # noqa: E402
from adfusion_edge.tokenizer import MAX_TEXT_CHARS  # noqa: E402


@contextmanager
def no_hang(seconds: int = 20):
    """Fail (instead of blocking the suite) if the body waits on a FIFO or a device."""
    def boom(*_):
        raise TimeoutError(f"hung for {seconds} s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def analyzer(fp32_bundle):  # noqa: F811
    return Analyzer(fp32_bundle, device="cpu", threads=1, ocr=False)


@pytest.fixture(scope="module")
def cached(fp32_bundle):  # noqa: F811
    return Analyzer(fp32_bundle, device="cpu", threads=1, ocr=False, cache_size=8)


@pytest.fixture(scope="module")
def red_png():
    return ad_png("red", np.random.default_rng(0))


@pytest.fixture
def special_paths():
    """name -> (path, error type, message part) for files that are not regular image files."""
    short = Path(tempfile.mkdtemp(prefix="adf-"))  # AF_UNIX paths must stay under ~100 bytes
    fifo = short / "pipe.png"
    os.mkfifo(fifo)
    sock_path = short / "sock.png"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(sock_path))
    link = short / "zero-link.png"
    link.symlink_to("/dev/zero")
    big = short / "big.png"
    with open(big, "wb") as f:  # sparse: no disk used
        f.truncate(image_io.MAX_FILE_BYTES + 1)
    empty = short / "empty.png"
    empty.write_bytes(b"")
    paths = {
        "fifo": (fifo, InvalidImageError, "FIFO"),
        "socket": (sock_path, InvalidImageError, "socket"),
        "dev_zero": (Path("/dev/zero"), InvalidImageError, "character device"),
        "dev_null": (Path("/dev/null"), InvalidImageError, "character device"),
        "symlink_to_device": (link, InvalidImageError, "character device"),
        "proc_self_mem": (Path("/proc/self/mem"), InvalidImageError, "cannot read"),
        "over_byte_cap": (big, ImageTooLargeError, "bytes exceeds the limit"),
        "name_too_long": (short / ("a" * 5000 + ".png"), InvalidImageError, "cannot access"),
        "nul_in_path": (str(short) + "/a\x00b.png", InvalidImageError, "cannot access"),
        "missing": (short / "missing.png", ImageNotFoundError, "not found"),
        "directory": (short, InvalidImageError, "directory"),
        "empty": (empty, InvalidImageError, "empty file"),
    }
    yield paths
    sock.close()
    for p in (fifo, sock_path, link, big, empty):
        p.unlink()
    short.rmdir()


PATH_CASES = ["fifo", "socket", "dev_zero", "dev_null", "symlink_to_device", "proc_self_mem", "over_byte_cap",
              "name_too_long", "nul_in_path", "missing", "directory", "empty"]


@pytest.mark.parametrize("name", PATH_CASES)
def test_bad_paths_are_typed_errors_with_and_without_cache(analyzer, cached, special_paths, name):
    path, err, msg = special_paths[name]
    for a in (analyzer, cached, cached):  # twice through the cache: it must not change the error
        with no_hang(), pytest.raises(err, match=msg) as info:
            a.run(path, text="x")
        assert isinstance(info.value, AdFusionError)
    if name == "missing":
        assert isinstance(info.value, FileNotFoundError)  # generic handlers still work


def test_run_batch_skip_records_every_failure(analyzer, special_paths, red_png):
    names = PATH_CASES
    images = [special_paths[n][0] for n in names] + [red_png, red_png]
    texts = ["x"] * len(names) + [b"\xff bad utf-8", "fine"]
    with no_hang():
        out = analyzer.run_batch(images, texts, on_error="skip")
    for n, r in zip(names, out, strict=False):
        assert isinstance(r, AdError), n
        assert r.error == special_paths[n][1].__name__ and r.message, (n, r)
    assert out[-2].error == "InvalidTextError" and isinstance(out[-1], AdReport)


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _refused_arrays() -> dict:
    """Inputs whose pixel values fall outside the documented rules (image_io docstring)."""
    return {
        "float_0_255": (np.full((8, 8, 3), 200.0), "found \\[200, 200\\]"),
        "float_negative": (np.full((8, 8, 3), -0.5, np.float32), "must lie in \\[0, 1\\]"),
        "float_inf": (np.full((8, 8), np.inf, np.float32), "NaN or infinite"),
        "pil_F_0_255": (Image.fromarray(np.full((8, 8), 180.0, np.float32), "F"), "must lie in \\[0, 1\\]"),
        "pil_I_over_255": (Image.fromarray(np.full((8, 8), 40000, np.int32), "I"), "found 40000..40000"),
        "uint16_holding_8bit": (np.full((8, 8, 3), 200, np.uint16), "8-bit data in a 16-bit container"),
        "int64_over_255": (np.full((8, 8), 256, np.int64), "found 256..256"),
        "int8_negative": (np.full((8, 8), -3, np.int8), "found -3..-3"),
        "bool": (np.ones((8, 8), bool), "dtype bool"),
        "complex": (np.ones((8, 8), np.complex64), "dtype complex64"),
        "object": (np.full((8, 8), None, object), "dtype object"),
        "zero_dim": (np.zeros(()), "shape"),
        "one_dim": (np.zeros(10, np.uint8), "shape"),
        "four_dim": (np.zeros((1, 8, 8, 3), np.uint8), "shape"),
        "two_channels": (np.zeros((8, 8, 2), np.uint8), "shape"),
        "empty_rows": (np.zeros((0, 8, 3), np.uint8), "no pixels"),
        "empty_pil": (Image.new("RGB", (0, 0)), "no pixels"),
        "png_16bit_holding_8bit": (_save(Image.fromarray(np.full((8, 8), 90, np.uint16)), "PNG"), "8-bit data"),
        "not_an_image_type": ([1, 2, 3], "unsupported image source"),
    }


@pytest.mark.parametrize("name", sorted(_refused_arrays()))
def test_out_of_rule_pixels_are_refused_not_clipped(analyzer, name):
    src, msg = _refused_arrays()[name]
    with pytest.raises(InvalidImageError, match=msg):
        analyzer.run(src, text="x")


def _pixel(src) -> tuple:
    return decode_image(src).getpixel((0, 0))


def test_accepted_values_follow_the_documented_rules():
    assert _pixel(np.full((4, 4), 0.5, np.float32)) == (128, 128, 128)
    assert _pixel(np.full((4, 4, 3), 1.0)) == (255, 255, 255)
    assert _pixel(Image.fromarray(np.full((4, 4), 0.25, np.float32), "F")) == (64, 64, 64)
    dark_i = Image.fromarray(np.full((4, 4), 40, np.int32), "I")
    assert _pixel(dark_i) == (40, 40, 40)  # not stretched by its own maximum
    assert _pixel(np.full((4, 4), 40, np.int64)) == (40, 40, 40)
    assert _pixel(np.zeros((4, 4), np.uint16)) == (0, 0, 0)  # black is black in any container
    assert _pixel(np.full((4, 4), 65535, np.uint16)) == (255, 255, 255)
    png16 = _save(Image.fromarray(np.full((4, 4), 32896, np.uint16)), "PNG")
    assert _pixel(png16) == (128, 128, 128)
    for mode, dtype in (("I;16B", ">u2"), ("I;16L", "<u2")):  # big-endian TIFFs decode to I;16B
        img = Image.frombytes(mode, (3, 600), np.full((600, 3), 51400, dtype).tobytes())
        assert decode_image(img).getpixel((2, 599)) == (200, 200, 200)


def test_exif_orientation_is_applied():
    # Stored landscape, left half red / right half blue; orientation 6 = "turn 90 degrees clockwise
    # to display": shown portrait with red on top, as a phone shows it.
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (20, 0, 40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    jpeg = _save(img, "JPEG", exif=exif.tobytes(), quality=95)
    out = decode_image(jpeg)
    assert out.size == (20, 40)
    top, bottom = out.getpixel((10, 5)), out.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60


def test_bytes_over_the_cap_refused_before_decoding(analyzer, red_png, monkeypatch):
    monkeypatch.setattr(image_io, "MAX_FILE_BYTES", len(red_png) - 1)
    with pytest.raises(ImageTooLargeError, match="bytes exceeds"):
        analyzer.run(red_png, text="x")


def test_long_text_is_capped_and_reported(analyzer, red_png):
    r = analyzer.run(red_png, text="pizza " * 700_000)  # 4.2 M characters
    assert r.text_truncated and len(r.text) == MAX_TEXT_CHARS and r.text.startswith("pizza")
    short = analyzer.run(red_png, text="pizza")
    assert not short.text_truncated and short.text == "pizza"
    out = analyzer.run_batch([red_png], ["x" * (MAX_TEXT_CHARS + 1)])
    assert out[0].text_truncated


@pytest.mark.parametrize("text", [42, 3.5, ["a"], b"\xff\xfe", bytearray(b"\xc3")])
def test_bad_texts_are_typed(analyzer, cached, red_png, text):
    for a in (analyzer, cached):
        with pytest.raises(InvalidTextError):
            a.run(red_png, text=text)


def test_odd_but_valid_texts(analyzer, red_png):
    assert analyzer.run(red_png, text="a\x00b").text == "a\x00b"
    assert analyzer.run(red_png, text="lone \ud800 surrogate").text == "lone ? surrogate"
    assert analyzer.run(red_png, text="\u202eRTL \U0001f355 " * 3).ok


def test_cache_keys_cannot_collide_by_framing(cached, red_png):
    first = cached.run(red_png, text="a\x00text:b")
    second = cached.run(red_png + b"\x00text:a", text="b")  # PNG decoders ignore trailing bytes
    assert first.text == "a\x00text:b" and second.text == "b"


def test_cached_report_names_the_current_source(fp32_bundle, red_png, tmp_path):  # noqa: F811
    a = Analyzer(fp32_bundle, device="cpu", threads=1, ocr=False, cache_size=4)
    p1, p2 = tmp_path / "one.png", tmp_path / "two.png"
    p1.write_bytes(red_png)
    p2.write_bytes(red_png)
    r1, r2, r3 = a.run(p1, text="x"), a.run(p2, text="x"), a.run(red_png, text="x")
    assert (r1.source, r2.source, r3.source) == (str(p1), str(p2), None)
    assert a.cache_info["hits"] == 2 and r2.theme == r1.theme


def test_ocr_error_message_is_never_empty(fp32_bundle):  # noqa: F811
    from adfusion_edge.errors import OcrError

    a = Analyzer(fp32_bundle, device="cpu", threads=1)  # OCR on
    try:
        r = a.run(np.full((1, 5000, 3), 128, np.uint8))
    except OcrError as e:
        assert str(e).split("image:", 1)[1].strip(), str(e)
    else:
        assert isinstance(r, AdReport)


@pytest.mark.parametrize("src", [10**12, None, 3.5, object(), {"path": "a.png"}])
def test_odd_source_types_are_typed_with_the_cache_on(cached, src):
    with pytest.raises(InvalidImageError, match="unsupported image source"):
        cached.run(src, text="x")  # never bytes(10**12)


def test_alpha_over_white_matches_pil_composite_for_every_value():
    c = np.repeat(np.arange(256, dtype=np.uint8), 256)
    a = np.tile(np.arange(256, dtype=np.uint8), 256)
    rgba = Image.fromarray(np.stack([c, 255 - c, c, a], -1).reshape(256, 256, 4), "RGBA")
    reference = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    np.testing.assert_array_equal(np.asarray(decode_image(rgba)), np.asarray(reference))
    with pytest.raises(InvalidImageError, match="unsupported image mode 'La'"):
        decode_image(rgba.convert("La"))
