"""Analyzer: the public API. An ad image (+ optional text) in, an AdReport out.

    from adfusion_edge import Analyzer
    analyzer = Analyzer()                      # the default INT8 bundle shipped in the package
    print(analyzer.run("ad.png"))              # OCR reads the text
    analyzer.run(jpeg_bytes, text="50% OFF")   # text given: OCR skipped (the RTB fast path)

Pipeline per ad: decode + validate + resize (preprocess.py) -> OCR when no text is given ->
tokenize -> backend inference (runtimes.AutoBackend) -> postprocess -> AdReport.

Threads: one Analyzer may be shared by any number of threads. Everything created at load (the
backend session, the tokenizer) is read-only afterwards; ONNX Runtime's ``run`` and the Rust
tokenizer are thread-safe; the OCR engine is created lazily under a lock; the cache has its own
lock.

Open vocabulary: ``run(img, labels={"theme": ["pet food", "insurance"]})`` also scores the caller's
own labels against the text the model read (adfusion_edge.open_vocab) into ``report.open_labels``.

Text: ``text=None`` -> OCR (or empty text when ``ocr=False``); ``text=""`` is an ad without
text and skips OCR. ``text_source`` says where the text came from: ``given``, ``ocr``,
``ocr_empty`` (OCR ran and found no text), ``ocr_failed: <reason>`` (OCR failed; the ad is
analysed image-only unless ``strict_ocr``) or ``none`` (OCR disabled). Bytes must be UTF-8 (InvalidTextError otherwise); long texts are truncated to
the model's token length.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from adfusion_edge.bundle import Bundle, load_bundle
from adfusion_edge.errors import AdFusionError, BundleError, ConfigError, OcrError
from adfusion_edge.image_io import ImageSource, decode_image
from adfusion_edge.postprocess import PostprocessConfig, decode
from adfusion_edge.preprocess import prepare_image
from adfusion_edge.report import AdError, AdReport, Timings
from adfusion_edge.tokenizer import AdTokenizer, ensure_text

DEFAULT_BUNDLE = Path(__file__).parent / "models" / "default"


def default_bundle() -> Path:
    """The INT8 bundle shipped inside the package.

    Raises:
        BundleError: not installed, with the command that builds one.
    """
    if not (DEFAULT_BUNDLE / "bundle.json").is_file():
        raise BundleError(
            f"no default model bundle at {DEFAULT_BUNDLE}. Pass model=BUNDLE_DIR, or build the default one: "
            f"adfusion-edge export --model CHECKPOINT_DIR --format onnx --int8 --calib CORPUS_DIR --out {DEFAULT_BUNDLE}"
        )
    return DEFAULT_BUNDLE


class _LRU:
    """A small thread-safe LRU cache (OrderedDict + lock)."""

    def __init__(self, size: int):
        self.size = size
        self._d: OrderedDict[str, AdReport] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: str) -> AdReport | None:
        with self._lock:
            r = self._d.get(key)
            if r is None:
                self.misses += 1
                return None
            self._d.move_to_end(key)
            self.hits += 1
            return r

    def put(self, key: str, value: AdReport) -> None:
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)


def _source_name(image: ImageSource) -> str | None:
    return str(image) if isinstance(image, (str, os.PathLike)) else None


class Analyzer:
    """Analyse ad creatives with a model bundle.

    Args:
        model: Bundle directory; None = the default bundle shipped in the package.
        device: ``auto``, ``cpu``, ``cuda`` or ``jetson`` (see runtimes/auto.py).
        backend: Force ``onnxruntime``, ``tensorrt`` or ``torchscript`` (default: by file suffix).
        ocr: Run OCR when no text is given; False means such ads are read as text-less.
        threads: Inference intra-op threads (None: runtime default). RTB servers that call from
            many threads usually want 1.
        strict: Fail instead of falling back to another device/provider.
        cache_size: LRU cache of reports keyed by sha256(image content + text); 0 disables.
        postprocess: Decision thresholds.
        dla_core: Jetson DLA core for TensorRT (None: GPU only).
        warmup: Create the OCR engine and run one small OCR + model inference now, so the first
            ``run()`` is not the slow one; the cost is in ``warmup_ms``.
        strict_ocr: Raise OcrError when OCR fails instead of analysing the ad image-only.
        ocr_tokens: Word pieces OCR fills, most prominent text first (None: the model's token
            length less [CLS]/[SEP]; 0 or less: recognise every box).
        ocr_timeout_s: Give up OCR of one ad after this long (an ``ocr_failed`` report; None: no limit).

    Raises:
        BundleError: missing / tampered / incompatible bundle.
        BackendUnavailableError: no backend can run it (or strict and the requested one cannot).
    """

    def __init__(self, model: str | os.PathLike | None = None, device: str = "auto", backend: str | None = None,
                 ocr: bool = True, threads: int | None = None, strict: bool = False, cache_size: int = 0,
                 postprocess: PostprocessConfig | None = None, dla_core: int | None = None,
                 warmup: bool = False, strict_ocr: bool = False, ocr_tokens: int | None = None,
                 ocr_timeout_s: float | None = None):
        from adfusion_edge.runtimes.auto import AutoBackend

        if cache_size < 0:
            raise ConfigError(f"cache_size must be >= 0, got {cache_size}")
        # Kept for pickling: a worker process (Ray, Spark, multiprocessing) rebuilds the Analyzer.
        self._init_kwargs = dict(model=model, device=device, backend=backend, ocr=ocr, threads=threads,
                                 strict=strict, cache_size=cache_size, postprocess=postprocess, dla_core=dla_core,
                                 warmup=warmup, strict_ocr=strict_ocr, ocr_tokens=ocr_tokens,
                                 ocr_timeout_s=ocr_timeout_s)
        self.bundle: Bundle = load_bundle(model if model is not None else default_bundle())
        self.preprocess = self.bundle.preprocess
        self._tokenizer = AdTokenizer(self.bundle.tokenizer_file, self.preprocess.max_tokens)
        self._backend = AutoBackend(self.bundle.model_file, backend=backend, device=device, threads=threads,
                                    strict=strict, precision=self.bundle.precision, dla_core=dla_core,
                                    inputs=self.bundle.inputs)
        self._post = postprocess or PostprocessConfig()
        self._use_ocr = ocr
        self._ocr_threads = threads
        self._ocr = None
        self._ocr_lock = threading.Lock()
        self._strict_ocr, self._ocr_timeout_s = strict_ocr, ocr_timeout_s
        self._ocr_tokens = self.preprocess.max_tokens - 2 if ocr_tokens is None else ocr_tokens
        self._cache = _LRU(cache_size) if cache_size else None
        self._open_vocab = None
        self.warmup_ms = 0.0
        if warmup:
            t0 = time.perf_counter()
            if ocr:
                self._ocr_engine().warmup()
            self._infer([np.zeros((self.preprocess.image_size,) * 2 + (3,), np.uint8)], [""])
            self.warmup_ms = (time.perf_counter() - t0) * 1e3

    @property
    def provider(self) -> str:
        """The execution provider that actually runs the model (e.g. CPUExecutionProvider)."""
        return self._backend.provider

    @property
    def backend_name(self) -> str:
        return self._backend.name

    @property
    def cache_info(self) -> dict[str, int]:
        c = self._cache
        return {"hits": c.hits, "misses": c.misses, "size": len(c._d)} if c else {"hits": 0, "misses": 0, "size": 0}

    def _ocr_engine(self):
        if self._ocr is None:
            with self._ocr_lock:
                if self._ocr is None:
                    from adfusion_edge.ocr import OcrEngine
                    from adfusion_edge.ocr.order import token_counter

                    budget = self._ocr_tokens if self._ocr_tokens > 0 else None
                    self._ocr = OcrEngine(threads=self._ocr_threads, token_budget=budget,
                                          count_tokens=token_counter(self.bundle.tokenizer_file),
                                          timeout_s=self._ocr_timeout_s)
        return self._ocr

    def _cache_key(self, image: ImageSource, text: object) -> str:
        h = hashlib.sha256()
        if isinstance(image, (str, os.PathLike)):
            h.update(Path(image).read_bytes())
        elif isinstance(image, (bytes, bytearray, memoryview)):
            h.update(bytes(image))
        elif isinstance(image, np.ndarray):
            h.update(f"{image.shape}{image.dtype}".encode())
            h.update(np.ascontiguousarray(image).tobytes())
        elif isinstance(image, Image.Image):
            h.update(f"{image.mode}{image.size}".encode())
            h.update(image.tobytes())
        h.update(b"\x00text:" + (b"<ocr>" if text is None else ensure_text(text).encode("utf-8")))
        return h.hexdigest()

    def _prepare(self, image: ImageSource, text: object) -> tuple[np.ndarray, str, str, tuple, float, float]:
        """Decode/resize one ad and get its text. Returns (pixels, text, text_source, ocr_lines, ms, ms)."""
        t0 = time.perf_counter()
        clean = None if text is None else ensure_text(text)
        # The model input goes through the same function as training and calibration (JPEG draft
        # decode + resize); anything else feeds the model pixels it was not trained on.
        pixels = prepare_image(image, self.preprocess.image_size)
        t1 = time.perf_counter()
        lines: tuple = ()
        ocr_ms = 0.0
        if clean is not None:
            source = "given"
        elif self._use_ocr:
            # OCR needs the full-resolution image; decoding twice costs ~1 ms next to ~200 ms of OCR.
            try:
                res = self._ocr_engine().read(np.asarray(decode_image(image)))
                clean, source = res.text, "ocr" if res.text else "ocr_empty"
                lines = tuple((ln.text, ln.score, ln.box) for ln in res.lines)
            except OcrError as e:  # image-only report, saying why (the model answers every head)
                if self._strict_ocr:
                    raise
                clean, source = "", f"ocr_failed: {e}"
            ocr_ms = (time.perf_counter() - t1) * 1e3
        else:
            clean, source = "", "none"
        return pixels, clean, source, lines, (t1 - t0) * 1e3, ocr_ms

    def _infer(self, pixels: list[np.ndarray], texts: list[str]) -> tuple[dict, object, float, float]:
        t0 = time.perf_counter()
        tb = self._tokenizer.encode(texts)
        t1 = time.perf_counter()
        feeds = {"image": np.stack(pixels) if len(pixels) > 1 else pixels[0][None],
                 "input_ids": tb.input_ids, "attention_mask": tb.attention_mask}
        outputs = self._backend.infer(feeds)
        t2 = time.perf_counter()
        return outputs, tb, (t1 - t0) * 1e3, (t2 - t1) * 1e3

    def _report(self, outputs: dict, tb, row: int, text: str, source: str, lines: tuple, timings: dict,
                name: str | None) -> AdReport:
        t0 = time.perf_counter()
        fields = decode(outputs, row, text, tb.offsets[row], tb.special[row], self._post)
        post_ms = (time.perf_counter() - t0) * 1e3
        return AdReport(**fields, text=text, text_source=source, ocr_lines=lines,
                        timings=Timings(postprocess_ms=post_ms, **timings), backend=self._backend.name,
                        provider=self._backend.provider, model=str(self.bundle.path),
                        precision=self.bundle.precision, source=name)

    def run(self, image: ImageSource, text: str | bytes | None = None,
            labels: dict[str, list[str]] | None = None) -> AdReport:
        """Analyse one ad.

        Args:
            image: Path, bytes, PIL image or numpy array (HxW[xC], uint8/uint16/float).
            text: The ad's text; None = read it with OCR (or empty text when ocr=False).
            labels: Your own labels per head, e.g. ``{"theme": ["pet food", "gaming"]}``, scored with
                no retraining into ``report.open_labels`` (adfusion_edge.open_vocab; from the text only).

        Returns:
            The AdReport.

        Raises:
            InvalidImageError / ImageTooLargeError: bad image. FileNotFoundError: missing path.
            InvalidTextError: text not str / UTF-8 bytes. OcrError: OCR failed and ``strict_ocr``.
            LabelListError: ``labels`` empty, duplicated, too long or not strings (checked first).
        """
        if labels is not None:
            from adfusion_edge.open_vocab import OpenVocabScorer, validate_label_lists

            validate_label_lists(labels)
            if self._open_vocab is None:
                with self._ocr_lock:  # created once, like the OCR engine
                    if self._open_vocab is None:
                        self._open_vocab = OpenVocabScorer()
        report = self._run_one(image, text)
        if labels is not None:
            report = replace(report, open_labels=self._open_vocab.score(report.text, labels))
        return report

    def _run_one(self, image: ImageSource, text: str | bytes | None) -> AdReport:
        key = None
        if self._cache is not None:
            key = self._cache_key(image, text)
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        pixels, clean, source, lines, dec_ms, ocr_ms = self._prepare(image, text)
        outputs, tb, tok_ms, inf_ms = self._infer([pixels], [clean])
        report = self._report(outputs, tb, 0, clean, source, lines,
                              {"decode_ms": dec_ms, "ocr_ms": ocr_ms, "tokenize_ms": tok_ms, "infer_ms": inf_ms},
                              _source_name(image))
        if key is not None:
            self._cache.put(key, report)
        return report

    def run_batch(self, images: Sequence[ImageSource], texts: Sequence[str | bytes | None] | None = None,
                  on_error: Literal["raise", "skip"] = "raise", batch_size: int = 32) -> list[AdReport | AdError]:
        """Analyse many ads with batched inference.

        Args:
            images: Image sources.
            texts: One text (or None for OCR) per image; None = OCR for all.
            on_error: ``raise``: the first bad ad raises its typed error. ``skip``: a bad ad is
                skipped and an :class:`AdError` (``ok=False``, error class, message) stands at its
                index, so results line up with the inputs; the others are still analysed.
            batch_size: Ads per inference call.

        Returns:
            One AdReport (or AdError with on_error="skip") per input, in order.
        """
        if on_error not in ("raise", "skip"):
            raise ConfigError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        if texts is not None and len(texts) != len(images):
            raise ConfigError(f"{len(images)} images but {len(texts)} texts")
        results: list[AdReport | AdError | None] = [None] * len(images)
        for start in range(0, len(images), max(1, batch_size)):
            prepared = []
            for i in range(start, min(start + batch_size, len(images))):
                text = texts[i] if texts is not None else None
                try:
                    prepared.append((i, *self._prepare(images[i], text)))
                except (AdFusionError, FileNotFoundError) as e:
                    if on_error == "raise":
                        raise
                    results[i] = AdError(i, _source_name(images[i]), type(e).__name__, str(e))
            if not prepared:
                continue
            outputs, tb, tok_ms, inf_ms = self._infer([p[1] for p in prepared], [p[2] for p in prepared])
            n = len(prepared)
            for row, (i, _px, clean, source, lines, dec_ms, ocr_ms) in enumerate(prepared):
                results[i] = self._report(outputs, tb, row, clean, source, lines,
                                          {"decode_ms": dec_ms, "ocr_ms": ocr_ms, "tokenize_ms": tok_ms / n,
                                           "infer_ms": inf_ms / n}, _source_name(images[i]))
        return results  # type: ignore[return-value]

    def close(self) -> None:
        self._backend.close()

    def __reduce__(self):
        # An ONNX Runtime session cannot be pickled: a copy is rebuilt from the constructor arguments
        # in the receiving process (bundle verified and loaded there; the cache starts empty there).
        # model=None stays None, i.e. the receiver's own default bundle.
        return (_rebuild_analyzer, (self._init_kwargs,))


def _rebuild_analyzer(kwargs: dict) -> Analyzer:
    """Unpickling hook: keyword arguments survive constructor signature changes, a positional tuple would not."""
    return Analyzer(**kwargs)


__all__ = ["Analyzer", "default_bundle"]
