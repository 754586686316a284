"""Decode anything a user may hand us as an image into an RGB PIL image, or raise a typed error.

Accepted sources: a path (str / PathLike), raw bytes, a PIL image, or a numpy array (HxW, HxWx1,
HxWx3, HxWx4; uint8, uint16 or float in [0, 1]). Modes are normalised to RGB here so every later
stage sees one format: grayscale and 16-bit are scaled to 8 bits, palette and CMYK converted,
alpha composited over white (how ad creatives are displayed), animations use their first frame.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from adfusion_edge.errors import ImageTooLargeError, InvalidImageError

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | Image.Image | np.ndarray

# Decompression-bomb guard: 50 MP is far above any real ad creative (a 4K banner is 8 MP) and well
# below what would exhaust memory. Checked from the header, before any pixel is decoded.
MAX_PIXELS = 50_000_000


def _open_bytes(data: bytes, what: str, draft_size: int | None = None) -> Image.Image:
    if len(data) == 0:
        raise InvalidImageError(f"{what}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            # PIL warns (not raises) between MAX_PIXELS and 2x that; we raise ourselves below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise InvalidImageError(f"{what}: not a recognised image format ({len(data)} bytes)") from None
    except Image.DecompressionBombError as e:
        raise ImageTooLargeError(f"{what}: {e}") from None
    except Exception as e:  # PIL raises assorted errors for malformed headers
        raise InvalidImageError(f"{what}: cannot read image header: {e}") from None
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise ImageTooLargeError(f"{what}: {w}x{h} = {w * h} pixels exceeds the limit of {MAX_PIXELS}")
    if w < 1 or h < 1:
        raise InvalidImageError(f"{what}: image has no pixels ({w}x{h})")
    if draft_size and img.format == "JPEG":
        # DCT-domain downscale by a power of two while keeping both sides >= draft_size: a 320 px
        # ad decodes straight at 160 px, 4x less work. Training and serving both decode through
        # here, so they see the same pixels.
        try:
            img.draft(img.mode, (draft_size, draft_size))
        except Exception:  # draft is an optimisation only; full decode is always correct
            pass
    return img


def _to_rgb(img: Image.Image, what: str) -> Image.Image:
    """Load pixels and convert any mode to RGB; raises InvalidImageError on truncated data."""
    try:
        if getattr(img, "is_animated", False):
            img.seek(0)
        img.load()
    except Exception as e:
        raise InvalidImageError(f"{what}: corrupt or truncated image data: {e}") from None
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") else max(float(arr.max()), 1.0)
        arr8 = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, "L").convert("RGB")
    if mode == "F":
        arr8 = np.clip(np.asarray(img) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, "L").convert("RGB")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    try:
        return img.convert("RGB")
    except Exception as e:
        raise InvalidImageError(f"{what}: unsupported image mode {mode!r}: {e}") from None


def _from_array(arr: np.ndarray) -> Image.Image:
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InvalidImageError(f"numpy image must be HxW, HxWx1, HxWx3 or HxWx4; got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InvalidImageError(f"numpy image has no pixels: shape {arr.shape}")
    if arr.shape[0] * arr.shape[1] > MAX_PIXELS:
        raise ImageTooLargeError(f"numpy image {arr.shape[1]}x{arr.shape[0]} exceeds {MAX_PIXELS} pixels")
    if arr.dtype == np.uint8:
        a8 = arr
    elif arr.dtype == np.uint16:
        a8 = (arr.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise InvalidImageError("numpy image contains NaN or infinite values")
        a8 = np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8)
    else:
        raise InvalidImageError(f"numpy image dtype {arr.dtype} not supported (use uint8, uint16 or float)")
    if a8.ndim == 2:
        mode = "L"
    else:
        mode = "RGB" if a8.shape[2] == 3 else "RGBA"
    return Image.fromarray(np.ascontiguousarray(a8), mode)


def decode_image(source: ImageSource, draft_size: int | None = None) -> Image.Image:
    """Decode ``source`` to an RGB PIL image.

    Args:
        source: Path, bytes, PIL image or numpy array.
        draft_size: If set, JPEGs may be decoded at a reduced scale whose sides stay >= this
            (a fast path for callers that resize to this size next).

    Returns:
        A fully loaded RGB image.

    Raises:
        InvalidImageError: empty, corrupt, truncated, non-image or unsupported input.
        ImageTooLargeError: more than ``MAX_PIXELS`` pixels.
        FileNotFoundError: a path that does not exist.
    """
    if isinstance(source, Image.Image):
        w, h = source.size
        if w * h > MAX_PIXELS:
            raise ImageTooLargeError(f"PIL image {w}x{h} exceeds {MAX_PIXELS} pixels")
        if w < 1 or h < 1:
            raise InvalidImageError(f"PIL image has no pixels ({w}x{h})")
        return _to_rgb(source, "PIL image")
    if isinstance(source, np.ndarray):
        return _to_rgb(_from_array(source), "numpy image")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return _to_rgb(_open_bytes(data, "image bytes", draft_size), "image bytes")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"image file not found: {path}")
        if path.is_dir():
            raise InvalidImageError(f"{path}: is a directory, not an image file")
        data = path.read_bytes()
        return _to_rgb(_open_bytes(data, str(path), draft_size), str(path))
    raise InvalidImageError(
        f"unsupported image source type {type(source).__name__}; "
        "pass a path, bytes, a PIL image or a numpy array"
    )
