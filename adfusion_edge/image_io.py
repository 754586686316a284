"""Decode anything a user may hand us as an image into an RGB PIL image, or raise a typed error.

Accepted sources: a path (str / PathLike), raw bytes, a PIL image, or a numpy array (HxW, HxWx1,
HxWx3, HxWx4). Modes are normalised to RGB here so every later stage sees one format: palette and
CMYK converted, alpha composited over white (how ad creatives are displayed), animations use
their first frame, and the EXIF orientation is applied (phone photos are stored sideways with a
tag that says how to turn them).

Reading rule for paths (:func:`read_image_file`): regular files only (FIFOs, sockets and devices
are refused by type before opening, so nothing can block or stream forever), at most
``MAX_FILE_BYTES`` checked before reading, then the pixel cap ``MAX_PIXELS`` from the header
before any pixel is decoded.

Pixel values, one rule per type (nothing is clipped or stretched silently; anything outside the
rule is an InvalidImageError naming the range found):

* ``uint8`` (and 8-bit PIL modes): as is.
* ``uint16`` (and PIL ``I;16`` images, 16-bit PNGs): the full 0..65535 range is scaled to 0..255.
  An array whose maximum is 1..255 is refused: that is 8-bit data in a 16-bit container, which
  the 16-bit rule would read as black.
* other integer types (int8..int64, uint32, uint64, PIL ``I``): values must lie in 0..255.
* floats (numpy float16/32/64, PIL ``F``): values must lie in [0, 1] and be finite.
"""

from __future__ import annotations

import io
import os
import stat
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from adfusion_edge.errors import ImageNotFoundError, ImageTooLargeError, InvalidImageError

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | Image.Image | np.ndarray

# Decompression-bomb guard: 50 MP is far above any real ad creative (a 4K banner is 8 MP) and well
# below what would exhaust memory. Checked from the header, before any pixel is decoded.
MAX_PIXELS = 50_000_000
# Byte cap for an encoded image (file or bytes), checked before reading: real creatives are a few
# MB; a 50 MP PNG of real content compresses well below this.
MAX_FILE_BYTES = 64 * 1024 * 1024
# Rows converted per step for 16-bit / 32-bit images, so the integer scratch stays a small slice
# of the decoded image instead of a full-size float64 copy.
_ROW_CHUNK = 512
_FILE_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _not_regular(mode: int) -> str | None:
    if stat.S_ISDIR(mode):
        return "a directory"
    for test, kind in _FILE_KINDS:
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else "not a regular file"


def read_image_file(path: str | os.PathLike, max_bytes: int | None = None) -> bytes:
    """Read an image file by the reading rule (module docstring); ``max_bytes`` None = MAX_FILE_BYTES.

    Raises:
        ImageNotFoundError: the path does not exist.
        InvalidImageError: not a regular file (directory, FIFO, socket, device), or unreadable
            (permission, name too long, I/O error), or empty.
        ImageTooLargeError: larger than ``max_bytes``.
    """
    name = os.fsdecode(os.fspath(path))
    max_bytes = MAX_FILE_BYTES if max_bytes is None else max_bytes
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise ImageNotFoundError(f"image file not found: {name}") from None
    except (OSError, ValueError) as e:  # ENAMETOOLONG, ELOOP, EACCES, embedded NUL
        raise InvalidImageError(f"{name}: cannot access: {getattr(e, 'strerror', None) or e}") from None
    kind = _not_regular(st.st_mode)
    if kind:
        raise InvalidImageError(f"{name}: is {kind}, not an image file")
    if st.st_size > max_bytes:
        raise ImageTooLargeError(f"{name}: {st.st_size} bytes exceeds the limit of {max_bytes} bytes")
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO after the stat, open() must not block.
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ImageNotFoundError(f"image file not found: {name}") from None
    except OSError as e:
        raise InvalidImageError(f"{name}: cannot open: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        kind = _not_regular(os.fstat(fd).st_mode)
        if kind:
            raise InvalidImageError(f"{name}: is {kind}, not an image file")
        try:
            # One byte over the cap tells a file that grew after the stat (or a /proc file whose
            # size reads 0) from one that fits.
            data = f.read(max_bytes + 1)
        except OSError as e:  # EIO from /proc/self/mem, EISDIR races, ...
            raise InvalidImageError(f"{name}: cannot read: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"{name}: more than the limit of {max_bytes} bytes")
    return data


def _open_bytes(data: bytes, what: str, draft_size: int | None = None) -> Image.Image:
    if len(data) == 0:
        raise InvalidImageError(f"{what}: empty file (0 bytes)")
    if len(data) > MAX_FILE_BYTES:
        raise ImageTooLargeError(f"{what}: {len(data)} bytes exceeds the limit of {MAX_FILE_BYTES} bytes")
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


def _check_16bit(hi: int, what: str) -> None:
    if 0 < hi <= 255:
        raise InvalidImageError(f"{what}: 16-bit image whose values only reach {hi}: that is 8-bit data in a "
                                f"16-bit container (convert it to uint8 first)")


def _check_8bit_range(lo: int, hi: int, dtype: str, what: str) -> None:
    if lo < 0 or hi > 255:
        raise InvalidImageError(f"{what}: {dtype} values must lie in 0..255, found {lo}..{hi} "
                                f"(pass uint8, or uint16 for 16-bit data)")


def _16bit_to_8(part: np.ndarray) -> np.ndarray:
    """0..65535 -> 0..255 by (v * 255 + 32767) // 65535 in uint32 (exact rounding, no float64)."""
    v = part.astype(np.uint32)
    v *= 255
    v += 32767
    v //= 65535
    return v


def _scale_16bit(arr: np.ndarray, what: str) -> np.ndarray:
    _check_16bit(int(arr.max(initial=0)), what)
    out = np.empty(arr.shape, np.uint8)
    for r in range(0, arr.shape[0], _ROW_CHUNK):
        out[r:r + _ROW_CHUNK] = _16bit_to_8(arr[r:r + _ROW_CHUNK])
    return out


def _int_as_8bit(arr: np.ndarray, what: str) -> np.ndarray:
    _check_8bit_range(int(arr.min()), int(arr.max()), str(arr.dtype), what)  # arrays here are never empty
    return arr.astype(np.uint8)


def _strips(img: Image.Image):
    w, h = img.size
    for r in range(0, h, _ROW_CHUNK):
        yield r, np.asarray(img.crop((0, r, w, min(h, r + _ROW_CHUNK))))


def _extrema(img: Image.Image) -> tuple[int, int]:
    # Strip by strip: PIL's getextrema() does not support every 16-bit mode (I;16B).
    lo_hi = [(int(p.min()), int(p.max())) for _, p in _strips(img)]
    return min(lo for lo, _ in lo_hi), max(hi for _, hi in lo_hi)


def _gray_strips(img: Image.Image, convert) -> Image.Image:
    """A 16/32-bit PIL image -> RGB, converting row strips: no full-size integer copy of it."""
    w, h = img.size
    out = np.empty((h, w), np.uint8)
    for r, part in _strips(img):
        out[r:r + _ROW_CHUNK] = convert(part)
    return Image.fromarray(out, "L").convert("RGB")


def _float_as_8bit(arr: np.ndarray, what: str) -> np.ndarray:
    if not np.isfinite(arr).all():
        raise InvalidImageError(f"{what}: contains NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise InvalidImageError(f"{what}: float values must lie in [0, 1], found [{lo:g}, {hi:g}] "
                                f"(divide 0..255 data by 255, or pass uint8)")
    out = np.empty(arr.shape, np.uint8)
    for r in range(0, arr.shape[0], _ROW_CHUNK):
        out[r:r + _ROW_CHUNK] = arr[r:r + _ROW_CHUNK] * 255.0 + 0.5  # in [0.5, 255.5): truncation rounds
    return out


def _over_white(img: Image.Image) -> Image.Image:
    """Composite any alpha mode over opaque white, in row strips (no full-size RGBA copies).

    (c * a + 255 * (255 - a) + 127) // 255 is exactly what PIL's alpha_composite over an opaque
    white background gives, for every (c, a); its largest value, 65152, fits uint16.
    """
    w, h = img.size
    out = np.empty((h, w, 3), np.uint8)
    step = max(1, _ROW_CHUNK // 2)
    for r in range(0, h, step):
        strip = img.crop((0, r, w, min(h, r + step)))
        rgba = np.asarray(strip if strip.mode == "RGBA" else strip.convert("RGBA"), dtype=np.uint16)
        a = rgba[..., 3:4]
        out[r:r + step] = (rgba[..., :3] * a + 255 * (255 - a) + 127) // 255
    return Image.fromarray(out, "RGB")


def _load(img: Image.Image, what: str) -> Image.Image:
    try:
        if getattr(img, "is_animated", False):
            img.seek(0)
        img.load()
    except Exception as e:
        raise InvalidImageError(f"{what}: corrupt or truncated image data: {e}") from None
    try:
        orientation = img.getexif().get(0x0112, 1)  # 0x0112: EXIF Orientation
    except Exception:  # a malformed EXIF block is not worth refusing the pixels for
        orientation = 1
    if orientation not in (1, None):
        try:
            img = ImageOps.exif_transpose(img)
        except Exception as e:
            raise InvalidImageError(f"{what}: cannot apply EXIF orientation {orientation}: {e}") from None
    return img


def _to_rgb(img: Image.Image, what: str) -> Image.Image:
    """Load pixels (EXIF orientation applied) and convert any mode to RGB by the module's rules."""
    img = _load(img, what)
    mode = img.mode
    if mode == "RGB":
        return img
    if mode.startswith("I;16") or mode == "I":
        lo, hi = _extrema(img)
        if mode == "I":
            _check_8bit_range(lo, hi, "32-bit (PIL mode I)", what)
            return _gray_strips(img, lambda part: part.astype(np.uint8))
        _check_16bit(hi, what)
        return _gray_strips(img, _16bit_to_8)
    if mode == "F":
        return Image.fromarray(_float_as_8bit(np.asarray(img), what), "L").convert("RGB")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        try:
            return _over_white(img)
        except Exception as e:  # PIL cannot convert some premultiplied modes (La)
            raise InvalidImageError(f"{what}: unsupported image mode {mode!r}: {e}") from None
    try:
        return img.convert("RGB")
    except Exception as e:
        raise InvalidImageError(f"{what}: unsupported image mode {mode!r}: {e}") from None


def _from_array(arr: np.ndarray) -> Image.Image:
    what = "numpy image"
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
        a8 = _scale_16bit(arr, what)
    elif arr.dtype != np.bool_ and np.issubdtype(arr.dtype, np.integer):
        a8 = _int_as_8bit(arr, what)
    elif np.issubdtype(arr.dtype, np.floating):
        a8 = _float_as_8bit(arr, what)
    else:
        raise InvalidImageError(f"numpy image dtype {arr.dtype} not supported (use uint8, uint16, another "
                                f"integer type holding 0..255, or float in [0, 1])")
    if a8.ndim == 2:
        mode = "L"
    else:
        mode = "RGB" if a8.shape[2] == 3 else "RGBA"
    return Image.fromarray(np.ascontiguousarray(a8), mode)


def decode_image(source: ImageSource, draft_size: int | None = None, name: str | None = None) -> Image.Image:
    """Decode ``source`` to an RGB PIL image.

    Args:
        source: Path, bytes, PIL image or numpy array.
        draft_size: If set, JPEGs may be decoded at a reduced scale whose sides stay >= this
            (a fast path for callers that resize to this size next).
        name: What to call bytes in error messages (the path they were read from).

    Returns:
        A fully loaded RGB image.

    Raises:
        InvalidImageError: empty, corrupt, truncated, non-image or unsupported input, a path that
            is not a regular file, or pixel values outside the module's rules.
        ImageTooLargeError: more than ``MAX_PIXELS`` pixels or ``MAX_FILE_BYTES`` bytes.
        ImageNotFoundError: a path that does not exist (an InvalidImageError and a FileNotFoundError).
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
        what = name or "image bytes"
        return _to_rgb(_open_bytes(bytes(source), what, draft_size), what)
    if isinstance(source, (str, os.PathLike)):
        path = os.fsdecode(os.fspath(source))
        return _to_rgb(_open_bytes(read_image_file(path), path, draft_size), path)
    raise InvalidImageError(
        f"unsupported image source type {type(source).__name__}; "
        "pass a path, bytes, a PIL image or a numpy array"
    )
