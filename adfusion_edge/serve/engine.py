"""The scoring side of one server process: the Analyzer, its two lanes, the cache and warm-up.

Two lanes, each a :class:`MicroBatcher` with its own thread and queue, share one Analyzer (its
ONNX Runtime session is thread-safe): ``text`` for creatives sent with their text (the RTB path,
milliseconds) and ``ocr`` for those that need OCR (hundreds of milliseconds), so a burst of OCR
work never sits in front of a bid request.

Loading runs in a background thread: ``/healthz`` answers at once, ``/readyz`` turns true after
the bundle is verified and loaded and both paths (including the OCR engine, whose first call loads
its models for seconds) have run once. A bundle that fails to load leaves the engine not ready,
with the reason.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from adfusion_edge.errors import AdFusionError
from adfusion_edge.fileops import sha256_file
from adfusion_edge.report import AdError, AdReport
from adfusion_edge.report_cache import ReportCache
from adfusion_edge.serve.batcher import MicroBatcher
from adfusion_edge.serve.cache import cache_key
from adfusion_edge.serve.config import ServeConfig
from adfusion_edge.serve.metrics import ServeMetrics


class NotReady(Exception):
    """The model is not loaded (yet, or it failed to load: the message says which)."""


class CreativeError(Exception):
    """The creative itself is bad (not an image, too large, bad text): an HTTP 422."""

    def __init__(self, error: str, message: str):
        self.error, self.message = error, message
        super().__init__(f"{error}: {message}")


@dataclass
class Answer:
    """A scored creative; the timings (ms) say where a lane answer's time went, for Server-Timing."""

    report: dict[str, Any]
    cached: bool
    lane: str
    timings: dict[str, float] = field(default_factory=dict)


def warmup_image() -> bytes:
    """A small PNG ad with printed text, made here (no file shipped): OCR finds text in it, so the
    warm-up runs detection and recognition both."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (320, 160), (250, 250, 245))
    d = ImageDraw.Draw(img)
    d.rectangle([10, 100, 150, 145], fill=(200, 30, 30))
    d.text((20, 20), "SUMMER SALE 50% OFF", fill=(10, 10, 10), font_size=24)
    d.text((25, 112), "Shop Now", fill=(255, 255, 255), font_size=20)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


class Engine:
    """Analyzer + lanes + cache of one worker process.

    Args:
        config: Server settings.
        metrics: Where to report queue depth, batch sizes and cache counts.
    """

    def __init__(self, config: ServeConfig, metrics: ServeMetrics):
        self.config, self.metrics = config, metrics
        self.cache = ReportCache(config.cache_items, config.cache_ttl_s)
        self.analyzer = None
        self.lanes: dict[str, MicroBatcher] = {}
        self.bundle: dict[str, str] = {}
        self.ready = False
        self.reason = "loading the model bundle"
        self._thread = threading.Thread(target=self._load, name="engine-load", daemon=True)

    def start(self) -> None:
        """Load in the background (``ready`` / ``reason`` tell how it went)."""
        self._thread.start()

    def wait_loaded(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return self.ready

    def _run_batch(self, images, texts) -> list[AdReport | AdError]:
        return self.analyzer.run_batch(images, texts, on_error="skip", batch_size=len(images))

    def _on_batch(self, lane: str, n: int, seconds: float) -> None:
        self.metrics.batch_size.labels(lane).observe(n)
        self.metrics.queue_depth.labels(lane).set(self.lanes[lane].depth)

    def _load(self) -> None:
        from adfusion_edge.analyzer import Analyzer

        cfg = self.config
        try:
            self.analyzer = Analyzer(cfg.model, device=cfg.device, threads=cfg.threads, ocr=cfg.ocr)
            b = self.analyzer.bundle
            digest = sha256_file(b.path / "bundle.json")
            self.bundle = {"id": digest[:16], "sha256": digest, "precision": b.precision, "path": str(b.path)}
            self.lanes = {
                "text": MicroBatcher(self._run_batch, cfg.max_batch, cfg.max_wait_us, cfg.max_queue, "text",
                                     self._on_batch),
                "ocr": MicroBatcher(self._run_batch, cfg.ocr_max_batch, cfg.ocr_max_wait_us, cfg.ocr_max_queue,
                                    "ocr", self._on_batch, initial_item_s=0.5),
            }
            if cfg.warmup:
                self._warmup()
            for lane in self.lanes.values():
                lane.start()
        except Exception as e:  # noqa: BLE001 - any load failure must leave a reason, not a dead thread
            self.reason = f"{type(e).__name__}: {e}"
            self.metrics.ready.set(0)
            return
        self.ready, self.reason = True, "ready"
        self.metrics.ready.set(1)

    def _warmup(self) -> None:
        """Run each path once so the first real request is not the slow one, and seed each lane's
        time-per-ad estimate (its admission control) with a measured time."""
        img = warmup_image()
        # Sizes 1 and max_batch, each run twice and the second (warm) run recorded: the batch-cost
        # line of the text lane then knows what batching saves before the first request.
        for n in dict.fromkeys((1, self.config.max_batch)):
            for run in range(2):
                t0 = time.perf_counter()
                self._check(self._run_batch([img] * n, ["SUMMER SALE 50% OFF"] * n))
                if run:
                    self.lanes["text"].cost.observe(n, time.perf_counter() - t0)
        if self.config.ocr:
            t0 = time.perf_counter()
            self._check(self._run_batch([img], [None]))
            self.lanes["ocr"].cost.observe(1, time.perf_counter() - t0)

    @staticmethod
    def _check(results: list) -> None:
        bad = [r for r in results if isinstance(r, AdError)]
        if bad:
            raise RuntimeError(f"warm-up failed: {bad[0]}")

    def lane_for(self, text: str | None) -> str:
        return "text" if text is not None or not self.config.ocr else "ocr"

    def default_deadline_ms(self, text: str | None) -> float:
        return self.config.deadline_ms if self.lane_for(text) == "text" else self.config.ocr_deadline_ms

    async def analyze(self, image: bytes, text: str | None, creative_id: str | None,
                      deadline: float) -> Answer:
        """Score one creative: from the cache, or through its lane before ``deadline`` (perf_counter s).

        Raises:
            NotReady: the model is not loaded. Overloaded (QueueFull / DeadlineUnmeetable /
            DeadlineExpired): refused. CreativeError: bad image or text.
        """
        if not self.ready:
            raise NotReady(self.reason)
        # With the cache off, no key: hashing every image cost the event loop ~5 % of its time
        # under overload (measured with py-spy), for nothing.
        key = cache_key(image, text, creative_id) if self.cache.size else None
        hit = self.cache.get(key) if key is not None else None
        if hit is not None:
            self.metrics.cache_hits.inc()
            return Answer(hit, True, "cache")
        self.metrics.cache_misses.inc()
        lane_name = self.lane_for(text)
        lane = self.lanes[lane_name]
        job = lane.submit_job(image, text, deadline)
        self.metrics.queue_depth.labels(lane_name).set(lane.depth)
        result = await job.future
        back = time.perf_counter()
        if isinstance(result, AdError):
            raise CreativeError(result.error, result.message)
        if isinstance(result, AdFusionError):
            raise CreativeError(type(result).__name__, str(result))
        report = result.to_dict()
        if key is not None:
            self.cache.put(key, report)
        self.metrics.cache_items.set(len(self.cache))
        # queue: admitted to its batch's start; model: the batch call; handback: batch end to this
        # coroutine running again (the event loop's delay); late: answer minus the admission's prediction.
        timings = {"queue": job.started - job.enqueued, "model": job.finished - job.started,
                   "handback": back - job.finished, "late": back - job.predicted}
        return Answer(report, False, lane_name, {k: 1e3 * v for k, v in timings.items()})

    def close(self) -> None:
        for lane in self.lanes.values():
            lane.stop()


__all__ = ["Answer", "CreativeError", "Engine", "NotReady", "warmup_image"]
