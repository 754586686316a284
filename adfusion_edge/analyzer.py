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
analysed image-only unless ``strict_ocr``) or ``none`` (OCR disabled). Bytes must be UTF-8
(InvalidTextError otherwise); texts over tokenizer.MAX_TEXT_CHARS characters are cut before
tokenizing (``report.text_truncated``), and the tokenizer truncates to the model's token length.

Other languages: the words of a text that the model does not read as English are glossed word by word
into English with the installed FreeDict dictionaries (German, French, Spanish, Italian, Dutch,
Portuguese; adfusion_edge/gloss.py) where one dictionary knows enough of them, and the model reads the
gloss where it reads more of it than of the original, when ``gloss=True`` (off by default: its adoption
check, distill/evaluate/gloss_check.py, rejected it as the default). ``report.text`` stays what was read
from the ad; ``report.text_gloss`` and ``text_language`` say what the model read instead.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from adfusion_edge import gloss as glossary
from adfusion_edge import readability
from adfusion_edge.bundle import Bundle, load_bundle
from adfusion_edge.bundle_check import check_loaded_model
from adfusion_edge.errors import AdFusionError, BundleError, ConfigError, InvalidImageError, OcrError
from adfusion_edge.image_io import ImageSource, decode_image, read_image_file
from adfusion_edge.postprocess import PostprocessConfig, decode
from adfusion_edge.preprocess import resize_image
from adfusion_edge.report import AdError, AdReport, Timings, flag_unreadable
from adfusion_edge.report_cache import ReportCache, cache_key
from adfusion_edge.tokenizer import AdTokenizer, cap_text, ensure_text

_log = logging.getLogger(__name__)

DEFAULT_BUNDLE = Path(__file__).parent / "models" / "default"
# Named sizes shipped in the package (Ultralytics-style ``model="nano"``): name -> bundle directory.
#   small (the default): frozen ImageNet EfficientNet-Lite0 + MiniLM static text + zero-shot priors,
#         trained on AdSynth and real ad text: the one that is right more often on real ads.
#   nano: the 0.5 M-parameter AdSynth-only pruned student: about 5x faster, for bid deadlines of a
#         few milliseconds, but wrong on most real ads (README, "What it measures today").
MODEL_SIZES: dict[str, Path] = {
    "small": DEFAULT_BUNDLE,
    "nano": Path(__file__).parent / "models" / "nano",
}


def default_bundle() -> Path:
    """The INT8 bundle shipped inside the package (the ``small`` size).

    Raises:
        BundleError: not installed, with the command that builds one.
    """
    if not (DEFAULT_BUNDLE / "bundle.json").is_file():
        raise BundleError(
            f"no default model bundle at {DEFAULT_BUNDLE}. Pass model=BUNDLE_DIR, or build the default one: "
            f"bash scripts/build_default_model.sh"
        )
    return DEFAULT_BUNDLE


def resolve_model(model: str | os.PathLike | None) -> Path:
    """A bundle directory for ``model``: None = the default, a size name (``MODEL_SIZES``) or a path.

    A path wins over a size name when a directory of that name exists (``./nano``).

    Raises:
        BundleError: a size name whose bundle is not installed.
    """
    if model is None:
        return default_bundle()
    if isinstance(model, str) and model in MODEL_SIZES and not Path(model).is_dir():
        path = MODEL_SIZES[model]
        if not (path / "bundle.json").is_file():
            raise BundleError(f"model size {model!r} is not installed at {path} (sizes: {', '.join(MODEL_SIZES)})")
        return path
    return Path(model)


def _source_name(image: object) -> str | None:
    return os.fsdecode(os.fspath(image)) if isinstance(image, (str, os.PathLike)) else None


def _check_flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, got {value!r}")
    return value


def _check_count(value: object, name: str, low: int, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{name} must be an integer >= {low}{' or None' if allow_none else ''}, got {value!r}")
    return int(value)


def _check_name(value: object, name: str, allow_none: bool = False) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string{' or None' if allow_none else ''}, got {value!r}")
    return value.strip().lower()  # "CUDA", " cpu" mean what they say


def _as_list(items: object, name: str, what: str) -> list:
    # A str / bytes / path / array / PIL image is one item, not a sequence of them: iterating it
    # would analyse characters, bytes or pixel rows.
    if isinstance(items, (str, bytes, bytearray, memoryview, os.PathLike, np.ndarray, Image.Image)):
        raise ConfigError(f"{name} must be a list of {what}, got one {type(items).__name__} "
                          f"(wrap it: [{name[:-1]}])")
    try:
        return list(items)  # type: ignore[call-overload]
    except TypeError:
        raise ConfigError(f"{name} must be a list of {what}, got {type(items).__name__}") from None


class Analyzer:
    """Analyse ad creatives with a model bundle.

    Args:
        model: Bundle directory, or a packaged size: "small" (= None, the default) or "nano" (MODEL_SIZES).
        device: ``auto``, ``cpu``, ``cuda`` or ``jetson`` (any case; see runtimes/auto.py).
        backend: Force ``onnxruntime``, ``tensorrt`` or ``torchscript`` (default: by file suffix).
        ocr: Run OCR when no text is given; False means such ads are read as text-less.
        threads: Inference intra-op threads, >= 1 (None: runtime default). RTB servers that call
            from many threads usually want 1.
        strict: Fail instead of falling back to another device/provider. Without it a fallback
            from the requested device is warned about (``logging`` and ``warnings``) and named in
            every report's ``fallback``.
        cache_size: LRU cache of reports keyed by a digest of image content + text
            (report_cache.py); 0 disables.
        postprocess: Decision thresholds.
        dla_core: Jetson DLA core for TensorRT (None: GPU only).
        warmup: Create the OCR engine and run one small OCR + model inference now, so the first
            ``run()`` is not the slow one; the cost is in ``warmup_ms``.
        strict_ocr: Raise OcrError when OCR fails instead of analysing the ad image-only.
        ocr_tokens: Word pieces OCR fills, most prominent text first (None: the model's token
            length less [CLS]/[SEP]; 0: recognise every box).
        ocr_timeout_s: Give up OCR of one ad after this long (an ``ocr_failed`` report; None: no limit).
        gloss: Opt in: read text the model cannot read through a word-by-word English gloss where a dictionary
            for its language is installed (module docstring; adfusion_edge/gloss.py). Only for bundles
            with the English vocabulary (``small``); the dictionaries load at the first such text, or
            at ``warmup``.

    A model whose graph mixes the ads of a batch (dynamic INT8 quantization computes one
    activation scale over the whole batch) is run one ad at a time by :meth:`run_batch`, so every
    ad's report is the one :meth:`run` gives it; ``batch_independent`` says which case applies
    (and the load logs it).

    Raises:
        ConfigError: an argument of the wrong type or out of range.
        BundleError: missing / tampered / incompatible bundle, or a model that does not match it.
        BackendUnavailableError: no backend can run it (or strict and the requested one cannot).
    """

    def __init__(self, model: str | os.PathLike | None = None, device: str = "auto", backend: str | None = None,
                 ocr: bool = True, threads: int | None = None, strict: bool = False, cache_size: int = 0,
                 postprocess: PostprocessConfig | None = None, dla_core: int | None = None,
                 warmup: bool = False, strict_ocr: bool = False, ocr_tokens: int | None = None,
                 ocr_timeout_s: float | None = None, gloss: bool = False):
        from adfusion_edge.runtimes.auto import AutoBackend

        device = _check_name(device, "device")  # type: ignore[assignment]
        backend = _check_name(backend, "backend", allow_none=True)
        ocr, strict = _check_flag(ocr, "ocr"), _check_flag(strict, "strict")
        threads = _check_count(threads, "threads", 1, allow_none=True)
        cache_size = _check_count(cache_size, "cache_size", 0)  # type: ignore[assignment]
        dla_core = _check_count(dla_core, "dla_core", 0, allow_none=True)
        warmup, strict_ocr = _check_flag(warmup, "warmup"), _check_flag(strict_ocr, "strict_ocr")
        gloss = _check_flag(gloss, "gloss")
        ocr_tokens = _check_count(ocr_tokens, "ocr_tokens", 0, allow_none=True)
        if ocr_timeout_s is not None and (isinstance(ocr_timeout_s, bool) or not isinstance(ocr_timeout_s, (int, float))
                                          or not ocr_timeout_s >= 0):
            raise ConfigError(f"ocr_timeout_s must be a number of seconds >= 0 or None, got {ocr_timeout_s!r}")
        if model is not None and not isinstance(model, (str, os.PathLike)):
            raise ConfigError(f"model must be a bundle directory path, a size name ({', '.join(MODEL_SIZES)}) or None, "
                              f"got {type(model).__name__}")
        if postprocess is not None and not isinstance(postprocess, PostprocessConfig):
            raise ConfigError(f"postprocess must be a PostprocessConfig, got {type(postprocess).__name__}")
        # Kept for pickling: a worker process (Ray, Spark, multiprocessing) rebuilds the Analyzer.
        self._init_kwargs = dict(model=model, device=device, backend=backend, ocr=ocr, threads=threads,
                                 strict=strict, cache_size=cache_size, postprocess=postprocess, dla_core=dla_core,
                                 warmup=warmup, strict_ocr=strict_ocr, ocr_tokens=ocr_tokens,
                                 ocr_timeout_s=ocr_timeout_s, gloss=gloss)
        self.bundle: Bundle = load_bundle(resolve_model(model))
        self.preprocess = self.bundle.preprocess
        try:
            self._tokenizer = AdTokenizer(self.bundle.tokenizer_file, self.preprocess.max_tokens)
            self._readable = readability.classes_for_vocab(self._tokenizer.vocab())
        except (AdFusionError, OSError) as e:
            raise BundleError(f"{self.bundle.tokenizer_file}: {e}") from None
        self._backend = AutoBackend(self.bundle.model_file, backend=backend, device=device, threads=threads,
                                    strict=strict, precision=self.bundle.precision, dla_core=dla_core,
                                    inputs=self.bundle.inputs)
        try:
            check_loaded_model(self.bundle, self._backend, self._tokenizer)
        except BundleError:
            self._backend.close()
            raise
        self.batch_independent = self.bundle.batch_independent
        if not self.batch_independent:
            _log.info("%s mixes the ads of a batch (%s): run_batch runs it one ad at a time", self.bundle.model_file,
                      ", ".join(f"{n} {op}" for op, n in (self.bundle.batch_mixing or {}).items()) or "bundle.json")
        self._post = postprocess or PostprocessConfig()
        self._use_ocr = ocr
        self._ocr_threads = threads
        self._ocr = None
        self._ocr_lock = threading.Lock()
        self._strict_ocr, self._ocr_timeout_s = strict_ocr, ocr_timeout_s
        self._ocr_tokens = self.preprocess.max_tokens - 2 if ocr_tokens is None else ocr_tokens
        self._cache = ReportCache(cache_size) if cache_size else None
        self._open_vocab = None
        # Glossing needs the readability table (the English vocabulary) to know what the model reads.
        self._glossary = glossary.default_glossary() if gloss and self._readable is not None else None
        self._english_words = frozenset(readability.load_words()) if self._glossary is not None else frozenset()
        self.warmup_ms = 0.0
        if warmup:
            t0 = time.perf_counter()
            if ocr:
                self._ocr_engine().warmup()
            if self._glossary is not None:
                self._glossary.tables()  # the dictionaries, read (or parsed and cached) now
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
    def fallback(self) -> str | None:
        """What was asked for and what runs instead, when the model fell back; None otherwise."""
        return self._backend.fallback

    @property
    def cache_info(self) -> dict[str, int]:
        c = self._cache
        return {"hits": c.hits, "misses": c.misses, "size": len(c)} if c else {"hits": 0, "misses": 0, "size": 0}

    def _ocr_engine(self):
        if self._ocr is None:
            with self._ocr_lock:
                if self._ocr is None:
                    from adfusion_edge.ocr import OcrEngine

                    self._ocr = OcrEngine.for_model(self.bundle.tokenizer_file, self._ocr_tokens,
                                                    threads=self._ocr_threads, timeout_s=self._ocr_timeout_s)
        return self._ocr

    @staticmethod
    def _read(image: ImageSource) -> tuple[object, str | None]:
        """(what to decode, its name): a path is read once here, by the reading rule, into bytes."""
        if isinstance(image, (str, os.PathLike)):
            name = _source_name(image)
            return read_image_file(name), name  # type: ignore[arg-type]
        return image, None

    def _key(self, data: object, text: str | None) -> str:
        try:
            return cache_key(data, text)  # type: ignore[arg-type]
        except (TypeError, ValueError, OSError, AttributeError, BufferError):
            # An unsupported source type or a PIL image that cannot load its pixels: the decoder
            # names the problem with its typed error.
            decode_image(data)  # type: ignore[arg-type]
            raise InvalidImageError(f"cannot read the image source {type(data).__name__}") from None

    def _prepare(self, data: object, name: str | None, clean: str | None) -> tuple:
        """Decode/resize one ad and get its text. Returns (pixels, text, text_source, ocr_lines, ms, ms)."""
        t0 = time.perf_counter()
        # The model input goes through the same function as training and calibration (JPEG draft
        # decode + resize); anything else feeds the model pixels it was not trained on.
        pixels = resize_image(decode_image(data, draft_size=self.preprocess.image_size, name=name),  # type: ignore[arg-type]
                              self.preprocess.image_size)
        t1 = time.perf_counter()
        lines: tuple = ()
        ocr_ms = 0.0
        if clean is not None:
            source = "given"
        elif self._use_ocr:
            # OCR needs the full-resolution image; decoding twice costs ~1 ms next to ~200 ms of OCR.
            try:
                res = self._ocr_engine().read(np.asarray(decode_image(data, name=name)))  # type: ignore[arg-type]
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

    def _readability(self, tb) -> np.ndarray:
        """Per row of a token batch, the share of English words (NaN: no letters); all NaN without the table."""
        if self._readable is None:
            return np.full(len(tb.input_ids), np.nan)
        return readability.readability(self._readable, tb.input_ids, tb.attention_mask)

    def _glossed(self, texts: list[str], tb) -> tuple[list[glossary.Gloss | None], object, np.ndarray]:
        """The rows the model cannot read, glossed where the gloss reads better (module docstring).

        Returns (gloss per row or None, the token batch the model reads, its readability per row).
        Texts the model reads cost one numpy reading of the batch already tokenized.
        """
        readable = self._readability(tb)
        glosses: list[glossary.Gloss | None] = [None] * len(texts)
        if self._glossary is None:
            return glosses, tb, readable
        # Any text with words the model does not read is a candidate (NaN: no letters, compares False):
        # a German line with "Hotel" and "Euro" in it reads two thirds English and is still German.
        todo = [i for i, r in enumerate(readable) if r < 1.0 and texts[i]]
        if not todo or not self._glossary.languages:
            return glosses, tb, readable
        english = self._english_words
        tried = {i: g for i in todo
                 if (g := self._glossary.gloss(texts[i], keep=lambda w: glossary.fold(w) in english)) is not None}
        if not tried:
            return glosses, tb, readable
        tg = self._tokenizer.encode([g.text for g in tried.values()])
        for (i, g), r in zip(tried.items(), self._readability(tg), strict=True):
            if r > readable[i]:
                glosses[i] = g
        if not any(glosses):
            return glosses, tb, readable
        tb = self._tokenizer.encode([g.text if g else t for g, t in zip(glosses, texts, strict=True)])
        return glosses, tb, self._readability(tb)

    def _infer(self, pixels: list[np.ndarray], texts: list[str]) -> tuple[dict, object, float, float, list, np.ndarray]:
        t0 = time.perf_counter()
        tb = self._tokenizer.encode(texts)
        glosses, tb, readable = self._glossed(texts, tb)
        t1 = time.perf_counter()
        feeds = {"image": np.stack(pixels) if len(pixels) > 1 else pixels[0][None],
                 "input_ids": tb.input_ids, "attention_mask": tb.attention_mask}
        if self.batch_independent or len(pixels) == 1:
            outputs = self._backend.infer(feeds)
        else:  # one ad at a time: this graph's outputs for one ad depend on the others in its batch
            rows = [self._backend.infer({k: v[i:i + 1] for k, v in feeds.items()}) for i in range(len(pixels))]
            outputs = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
        t2 = time.perf_counter()
        return outputs, tb, (t1 - t0) * 1e3, (t2 - t1) * 1e3, glosses, readable

    def _report(self, outputs: dict, tb, row: int, text: str, source: str, lines: tuple, timings: dict,
                name: str | None, truncated: bool, gloss: glossary.Gloss | None, readable: float) -> AdReport:
        t0 = time.perf_counter()
        read = gloss.text if gloss else text  # what was tokenized: the spans are cut from it
        fields = decode(outputs, row, read, tb.offsets[row], tb.special[row], self._post, self.bundle.ctr_thresholds)
        r = None if np.isnan(readable) else round(float(readable), 4)
        fields = flag_unreadable(fields, r, glossed=gloss is not None)
        post_ms = (time.perf_counter() - t0) * 1e3
        return AdReport(**fields, text=text, text_source=source, ocr_lines=lines,
                        timings=Timings(postprocess_ms=post_ms, **timings), backend=self._backend.name,
                        provider=self._backend.provider, model=str(self.bundle.path),
                        precision=self.bundle.precision, source=name, text_truncated=truncated,
                        fallback=self._backend.fallback, text_readable=r,
                        text_gloss=gloss.text if gloss else None, text_language=gloss.language if gloss else None)

    def run(self, image: ImageSource, text: str | bytes | None = None,
            labels: dict[str, list[str]] | None = None) -> AdReport:
        """Analyse one ad.

        Args:
            image: Path, bytes, PIL image or numpy array (pixel rules: image_io.py).
            text: The ad's text; None = read it with OCR (or empty text when ocr=False). Texts
                over tokenizer.MAX_TEXT_CHARS characters are cut (``report.text_truncated``).
            labels: Your own labels per head, e.g. ``{"theme": ["pet food", "gaming"]}``, scored with
                no retraining into ``report.open_labels`` (adfusion_edge.open_vocab; from the text only).

        Returns:
            The AdReport.

        Raises:
            InvalidImageError (ImageNotFoundError for a missing path, ImageTooLargeError): bad
            image. InvalidTextError: text not str / UTF-8 bytes. OcrError: OCR failed and
            ``strict_ocr``. The cache never changes which error is raised.
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
        clean, truncated = (None, False) if text is None else cap_text(ensure_text(text))
        data, name = self._read(image)
        key = None
        if self._cache is not None:
            key = self._key(data, clean)
            hit = self._cache.get(key)
            if hit is not None:
                return hit if hit.source == name else dataclasses.replace(hit, source=name)
        pixels, clean, source, lines, dec_ms, ocr_ms = self._prepare(data, name, clean)
        if source == "ocr":
            clean, truncated = cap_text(clean)
        outputs, tb, tok_ms, inf_ms, glosses, readable = self._infer([pixels], [clean])
        report = self._report(outputs, tb, 0, clean, source, lines,
                              {"decode_ms": dec_ms, "ocr_ms": ocr_ms, "tokenize_ms": tok_ms, "infer_ms": inf_ms},
                              name, truncated, glosses[0], readable[0])
        if key is not None:
            self._cache.put(key, report)
        return report

    def run_batch(self, images: Sequence[ImageSource], texts: Sequence[str | bytes | None] | None = None,
                  on_error: Literal["raise", "skip"] = "raise", batch_size: int = 32) -> list[AdReport | AdError]:
        """Analyse many ads with batched inference.

        Every ad gets the report :meth:`run` would give it (labels equal; probabilities equal up
        to float reassociation), whatever else is in its batch: a model that mixes batch items
        is run one ad at a time (see the class docstring). The cache is not used here.

        Args:
            images: A list (or other iterable) of image sources; a single source is refused.
            texts: One text (or None for OCR) per image; None = OCR for all.
            on_error: ``raise``: the first bad ad raises its typed error. ``skip``: every ad that
                fails is skipped and an :class:`AdError` (``ok=False``, error class, message)
                stands at its index, so results line up with the inputs; the others are still
                analysed.
            batch_size: Ads per inference call, >= 1.

        Returns:
            One AdReport (or AdError with on_error="skip") per input, in order.

        Raises:
            ConfigError: bad arguments (images / texts not lists, lengths differ, batch_size < 1,
                unknown on_error).
        """
        if on_error not in ("raise", "skip"):
            raise ConfigError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        batch_size = _check_count(batch_size, "batch_size", 1)  # type: ignore[assignment]
        images = _as_list(images, "images", "image sources")
        if texts is not None:
            texts = _as_list(texts, "texts", "texts (str, UTF-8 bytes or None)")
            if len(texts) != len(images):
                raise ConfigError(f"{len(images)} images but {len(texts)} texts")
        results: list[AdReport | AdError | None] = [None] * len(images)
        for start in range(0, len(images), batch_size):
            prepared = []
            for i in range(start, min(start + batch_size, len(images))):
                text = texts[i] if texts is not None else None
                try:
                    clean, truncated = (None, False) if text is None else cap_text(ensure_text(text))
                    data, name = self._read(images[i])
                    p = self._prepare(data, name, clean)
                    if p[2] == "ocr":
                        capped, truncated = cap_text(p[1])
                        p = (p[0], capped, *p[2:])
                    prepared.append((i, name, truncated, *p))
                except Exception as e:  # every per-item failure is recorded under "skip"
                    if on_error == "raise":
                        raise
                    results[i] = AdError(i, _source_name(images[i]), type(e).__name__, str(e) or repr(e))
            if not prepared:
                continue
            outputs, tb, tok_ms, inf_ms, glosses, readable = self._infer([p[3] for p in prepared],
                                                                         [p[4] for p in prepared])
            n = len(prepared)
            for row, (i, name, truncated, _px, clean, source, lines, dec_ms, ocr_ms) in enumerate(prepared):
                results[i] = self._report(outputs, tb, row, clean, source, lines,
                                          {"decode_ms": dec_ms, "ocr_ms": ocr_ms, "tokenize_ms": tok_ms / n,
                                           "infer_ms": inf_ms / n}, name, truncated, glosses[row], readable[row])
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


__all__ = ["MODEL_SIZES", "Analyzer", "default_bundle", "resolve_model"]
