"""The Analyzer's report cache: a thread-safe LRU keyed by a digest that cannot collide by framing.

The key is sha256 over length-prefixed parts (a version tag, the source kind, its shape/mode,
the sha256 of the pixels or encoded bytes, and the text or the OCR marker), so no choice of text
can make one request's parts read as another's: ``(image=b"..", text="a\\x00text:b")`` and
``(image=b"..\\x00text:a", text="b")`` give different keys. Paths are keyed by the bytes read
from them (the caller reads a file once and decodes those same bytes), so two files with the same
content share an entry; the caller stamps each hit with its own ``source``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

_VERSION = b"adfusion-edge report cache v2"


def _part(h, data: bytes) -> None:
    h.update(len(data).to_bytes(8, "big"))
    h.update(data)


def digest_parts(*parts: bytes) -> str:
    """sha256 over length-prefixed parts: no part's content can shift where the next one starts,
    so two different part lists never give the same key by framing."""
    h = hashlib.sha256()
    for part in parts:
        _part(h, part)
    return h.hexdigest()


def cache_key(image: bytes | np.ndarray | Image.Image, text: str | None) -> str:
    """Digest of one request: encoded image bytes, a numpy array or a PIL image, plus its text.

    Args:
        image: What will be decoded (a path's bytes, not the path).
        text: The validated text; None means "read it with OCR".
    """
    h = hashlib.sha256()
    _part(h, _VERSION)
    if isinstance(image, np.ndarray):
        _part(h, b"ndarray")
        _part(h, f"{image.shape}|{image.dtype.str}".encode())
        _part(h, hashlib.sha256(np.ascontiguousarray(image).tobytes()).digest())
    elif isinstance(image, Image.Image):
        _part(h, b"pil")
        # Orientation too: the same pixels with another EXIF orientation are another picture.
        meta = f"{image.mode}|{image.size}|{image.info.get('transparency')!r}|{image.getexif().get(0x0112)}"
        _part(h, meta.encode())
        _part(h, hashlib.sha256(image.tobytes()).digest())
    elif isinstance(image, (bytes, bytearray, memoryview)):
        _part(h, b"bytes")
        _part(h, hashlib.sha256(image).digest())
    else:  # never bytes(obj): bytes(10**12) would allocate a terabyte
        raise TypeError(f"cannot key an image source of type {type(image).__name__}")
    if text is None:
        _part(h, b"ocr")
    else:
        _part(h, b"text")
        _part(h, text.encode("utf-8"))
    return h.hexdigest()


class ReportCache:
    """A thread-safe LRU cache (OrderedDict + lock); entries optionally expire ``ttl_s`` seconds after
    they were stored (None: never).

    Args:
        size: Most entries kept; the least recently used goes first. 0 disables the cache.
        ttl_s: Seconds an entry stays valid, or None.
        clock: Time source (monotonic seconds); tests pass their own.
    """

    def __init__(self, size: int, ttl_s: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.size, self.ttl_s, self._clock = size, ttl_s, clock
        self._d: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._d)

    def get(self, key: str) -> Any | None:
        """The value, or None when absent or expired (an expired entry is dropped)."""
        if not self.size:
            return None
        with self._lock:
            item = self._d.get(key)
            if item is None or item[0] <= self._clock():
                if item is not None:
                    del self._d[key]
                self.misses += 1
                return None
            self._d.move_to_end(key)
            self.hits += 1
            return item[1]

    def put(self, key: str, value: Any) -> None:
        if not self.size:
            return
        expires = float("inf") if self.ttl_s is None else self._clock() + self.ttl_s
        with self._lock:
            self._d[key] = (expires, value)
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)

    @property
    def hit_rate(self) -> float:
        n = self.hits + self.misses
        return self.hits / n if n else 0.0
