"""The creative cache of the server: bounded (LRU) and with a time-to-live, shared by the requests
of one worker process.

Bidders see the same creative many times a second; a hit skips decode, OCR and inference. The key
is the caller's ``creative_id`` when given (no need to even hash the image), else the sha256 of the
image bytes; the text (or "read it with OCR") is always part of the key, since the text changes
the answer.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any


def cache_key(image: bytes, text: str | None, creative_id: str | None) -> str:
    """Key of one creative: its id (or the image's sha256) plus the text it is scored with."""
    h = hashlib.sha256()
    if creative_id is not None:
        h.update(b"id:" + creative_id.encode("utf-8"))
    else:
        h.update(b"sha256:" + hashlib.sha256(image).digest())
    h.update(b"\x00<ocr>" if text is None else b"\x00text:" + text.encode("utf-8"))
    return h.hexdigest()


class TTLCache:
    """Thread-safe LRU cache whose entries also expire ``ttl_s`` seconds after they were stored.

    Args:
        max_items: Most entries kept; the least recently used goes first. 0 disables the cache.
        ttl_s: Seconds an entry stays valid.
        clock: Time source (monotonic seconds); tests pass their own.
    """

    def __init__(self, max_items: int, ttl_s: float, clock=time.monotonic):
        self.max_items, self.ttl_s, self._clock = max_items, ttl_s, clock
        self._d: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: str) -> Any | None:
        """The value, or None when absent or expired (an expired entry is dropped)."""
        if not self.max_items:
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
        if not self.max_items:
            return
        with self._lock:
            self._d[key] = (self._clock() + self.ttl_s, value)
            self._d.move_to_end(key)
            while len(self._d) > self.max_items:
                self._d.popitem(last=False)

    def __len__(self) -> int:
        return len(self._d)

    @property
    def hit_rate(self) -> float:
        n = self.hits + self.misses
        return self.hits / n if n else 0.0
