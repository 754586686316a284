"""Prometheus metrics of one server process (own registry, so several apps can live in one
process, as the tests make them).

Names follow the Prometheus conventions (``_total`` counters, ``_seconds`` histograms). With
``--workers N`` every worker process has its own registry: a scrape of ``/metrics`` answers for the
worker that took the connection.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# Latency buckets cover the RTB budget (single-digit ms) up to the OCR path (seconds).
LATENCY_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class ServeMetrics:
    """Every metric the server exports.

    Attributes:
        requests: ``adfusion_requests_total{endpoint,status}``.
        latency: ``adfusion_request_latency_seconds{endpoint}`` (all answers, overload included).
        queue_depth: ``adfusion_queue_depth{lane}`` (requests waiting for a batch).
        batch_size: ``adfusion_batch_size{lane}`` (ads per model call).
        cache_hits, cache_misses: ``adfusion_cache_{hits,misses}_total``; cache_items: its size.
        ready: ``adfusion_ready`` (1 once the model is loaded and warmed up).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("adfusion_requests", "Requests answered, by endpoint and HTTP status",
                                ("endpoint", "status"), registry=r)
        self.latency = Histogram("adfusion_request_latency_seconds", "Time from request to answer",
                                 ("endpoint",), buckets=LATENCY_BUCKETS, registry=r)
        self.queue_depth = Gauge("adfusion_queue_depth", "Requests waiting for a batch", ("lane",), registry=r)
        self.batch_size = Histogram("adfusion_batch_size", "Ads per model call", ("lane",),
                                    buckets=BATCH_BUCKETS, registry=r)
        self.cache_hits = Counter("adfusion_cache_hits", "Creative cache hits", registry=r)
        self.cache_misses = Counter("adfusion_cache_misses", "Creative cache misses", registry=r)
        self.cache_items = Gauge("adfusion_cache_items", "Creatives in the cache", registry=r)
        self.ready = Gauge("adfusion_ready", "1 when the model is loaded and warmed up", registry=r)

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        """The text format body and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
