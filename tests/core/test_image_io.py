import io

import numpy as np
import pytest
from PIL import Image

from adfusion_edge import image_io
from adfusion_edge.errors import ImageTooLargeError, InvalidImageError
from adfusion_edge.image_io import decode_image
from adfusion_edge.preprocess import PreprocessConfig, normalize_reference, prepare_image


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "P", "LA", "I;16", "1", "RGB"])
def test_every_mode_becomes_rgb(mode):
    if mode == "I;16":  # real 16-bit content (an L image converted to I;16 keeps 0..255 values)
        img = Image.fromarray(np.full((10, 20), 51400, np.uint16))
    else:
        img = Image.new("RGB", (20, 10), (200, 30, 40)).convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "I;16") else "PNG"
    out = decode_image(_encode(img, fmt))
    assert out.mode == "RGB" and out.size == (20, 10)


def test_rgba_transparent_composites_over_white():
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert decode_image(img).getpixel((0, 0)) == (255, 255, 255)


def test_16bit_scaled_not_clipped():
    arr = np.full((4, 4), 65535, np.uint16)
    assert decode_image(arr).getpixel((0, 0)) == (255, 255, 255)
    img16 = Image.fromarray(np.full((4, 4), 32768, np.uint16))
    assert abs(decode_image(_encode(img16, "PNG")).getpixel((0, 0))[0] - 128) <= 1


def test_animated_gif_first_frame():
    frames = [Image.new("P", (8, 8), i) for i in (1, 2)]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert decode_image(data).size == (8, 8)


def test_one_pixel_image_resizes():
    out = prepare_image(Image.new("RGB", (1, 1), (9, 9, 9)), 32)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8 and (out == 9).all()


def test_empty_bytes():
    with pytest.raises(InvalidImageError, match="empty"):
        decode_image(b"")


def test_non_image_bytes():
    with pytest.raises(InvalidImageError, match="not a recognised image"):
        decode_image(b"%PDF-1.4 definitely not an image")


def test_truncated_jpeg(jpeg_bytes):
    with pytest.raises(InvalidImageError, match="truncated|corrupt|header"):
        decode_image(jpeg_bytes[: len(jpeg_bytes) // 2])


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError):
        decode_image(tmp_path / "nope.png")


def test_directory_path(tmp_path):
    with pytest.raises(InvalidImageError, match="directory"):
        decode_image(tmp_path)


def test_decompression_bomb_rejected_from_header(monkeypatch):
    monkeypatch.setattr(image_io, "MAX_PIXELS", 10_000)
    data = _encode(Image.new("L", (200, 200)), "PNG")
    with pytest.raises(ImageTooLargeError, match="exceeds"):
        decode_image(data)


def test_bad_numpy_shapes_and_dtypes():
    with pytest.raises(InvalidImageError, match="shape"):
        decode_image(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(InvalidImageError, match="dtype"):
        decode_image(np.zeros((4, 4, 3), bool))
    with pytest.raises(InvalidImageError, match=r"0\.\.255, found 300\.\.300"):
        decode_image(np.full((4, 4, 3), 300, np.int64))
    with pytest.raises(InvalidImageError, match="NaN"):
        decode_image(np.full((4, 4, 3), np.nan, np.float32))


def test_unsupported_type():
    with pytest.raises(InvalidImageError, match="unsupported image source"):
        decode_image(12345)


def test_normalize_reference_matches_formula():
    cfg = PreprocessConfig(image_size=16)
    x = np.full((1, 2, 2, 3), 255, np.uint8)
    out = normalize_reference(x, cfg)
    assert out.shape == (1, 3, 2, 2)
    np.testing.assert_allclose(out[0, :, 0, 0], (1 - np.array(cfg.mean)) / np.array(cfg.std), rtol=1e-6)
