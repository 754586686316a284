"""Server settings: one dataclass, filled by ``adfusion-edge serve`` flags and passed to every worker
process as JSON (uvicorn starts workers by import string, so objects cannot be handed over)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields

from adfusion_edge.errors import ConfigError
from adfusion_edge.serve.schemas import MAX_BODY_BYTES

CONFIG_ENV = "ADFUSION_SERVE_CONFIG"


@dataclass(frozen=True)
class ServeConfig:
    """Settings of one server process.

    Attributes:
        model: Bundle directory or a packaged size (``small``, ``nano``); None = the default (``small``).
        device: ``auto``, ``cpu``, ``cuda`` or ``jetson``.
        threads: Inference (and OCR) intra-op threads per worker process.
        ocr: Read the text of creatives sent without one (False: they are read as text-less).
        max_batch, max_wait_us, max_queue: Text lane (text given, the RTB path) micro-batching:
            most ads per model call, longest wait for company, most requests waiting.
        ocr_max_batch, ocr_max_wait_us, ocr_max_queue: The same for the OCR lane.
        max_inflight: Most scoring requests inside the app at once (reading their body, queued,
            running, answering); more are refused with 503 before their body is read. With the
            defaults this (64) is the bound that acts under overload, before a lane's
            ``max_queue`` (128) fills: the lane bound is a backstop for a raised ``max_inflight``.
        deadline_ms: Default deadline of a text-lane request (overridden by ``deadline_ms`` in it).
        ocr_deadline_ms: Default deadline of an OCR-lane request.
        batch_deadline_ms: Default deadline of each item of a ``/v1/analyze/batch`` call.
        cache_items, cache_ttl_s: Creative cache size (0 disables it) and time to live.
        max_body_bytes: Largest request body accepted (413 above).
        log_sample: Share of requests logged as one JSON line (1.0 = all, 0 = none).
        warmup: Run the warm-up before reporting ready (tests of readiness turn it off).
    """

    model: str | None = None
    device: str = "auto"
    threads: int = 1
    ocr: bool = True
    max_batch: int = 8
    max_wait_us: int = 500
    max_queue: int = 128
    ocr_max_batch: int = 4
    ocr_max_wait_us: int = 5000
    ocr_max_queue: int = 32
    max_inflight: int = 64
    deadline_ms: float = 50.0
    ocr_deadline_ms: float = 5000.0
    batch_deadline_ms: float = 10000.0
    cache_items: int = 10_000
    cache_ttl_s: float = 600.0
    max_body_bytes: int = MAX_BODY_BYTES
    log_sample: float = 1.0
    warmup: bool = True

    def __post_init__(self) -> None:
        for name in ("threads", "max_batch", "max_queue", "ocr_max_batch", "ocr_max_queue", "max_inflight",
                     "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_wait_us", "cache_items"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("deadline_ms", "ocr_deadline_ms", "batch_deadline_ms", "cache_ttl_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 <= self.log_sample <= 1.0:
            raise ConfigError(f"log_sample must be in [0, 1], got {self.log_sample}")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        data = json.loads(text)
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown server settings: {', '.join(sorted(unknown))}")
        return cls(**data)

    @classmethod
    def from_env(cls) -> ServeConfig:
        """The settings ``adfusion-edge serve`` put in the environment (defaults when unset)."""
        text = os.environ.get(CONFIG_ENV)
        return cls.from_json(text) if text else cls()
