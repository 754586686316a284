"""The creative cache key of the server. The cache itself is the Analyzer's LRU
(``report_cache.ReportCache``) with a time-to-live, shared by the requests of one worker process.

Bidders see the same creative many times a second; a hit skips decode, OCR and inference. The key
is the caller's ``creative_id`` when given (no need to even hash the image), else the sha256 of the
image bytes; the text (or "read it with OCR") is always part of the key, since the text changes
the answer. Parts are length-prefixed (``report_cache.digest_parts``), so a ``creative_id`` that
contains text-like bytes cannot collide with another id and text.
"""

from __future__ import annotations

import hashlib

from adfusion_edge.report_cache import digest_parts

_VERSION = b"adfusion-edge creative cache v2"


def cache_key(image: bytes, text: str | None, creative_id: str | None) -> str:
    """Key of one creative: its id (or the image's sha256) plus the text it is scored with."""
    who = (b"id", creative_id.encode("utf-8")) if creative_id is not None else (b"sha256", hashlib.sha256(image).digest())
    what = (b"ocr",) if text is None else (b"text", text.encode("utf-8"))
    return digest_parts(_VERSION, *who, *what)

