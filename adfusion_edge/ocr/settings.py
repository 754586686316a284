"""OCR engine settings: today's reference and the shipped default, chosen by a recipe race.

RapidOCR runs PP-OCR ONNX models on ONNX Runtime; the package ships one detector and one
recogniser (PP-OCRv6 small), so the model version is not a choice here without a download.
What can be chosen: the detector's input size, the recogniser's batch size and minimum input
width, the ONNX Runtime threads of each model, and the token budget of the prominence-ordered
recognition (adfusion_edge/ocr/order.py).

How DEFAULT was chosen (``python benchmarks/ocr_race.py``): every candidate ran interleaved
with REFERENCE, ad by ad in one process, on AdSynth-style ads rendered by the benchmark and on the
unlabelled pixels of the real-ad dev images. A candidate is scored by its paired time ratio to
REFERENCE and by its *agreement* with what REFERENCE reads (the share of REFERENCE's words, within
the model's token budget, that the candidate also reads); no label of any image is used, so the
dev images' labels stay an evaluation set. The fastest candidate whose agreement stays within
two points of the best candidate's wins. Labelled recall (text hints, monetary and CTA strings)
of REFERENCE and DEFAULT is reported afterwards by benchmarks/test_bench_ocr_real.py as a check,
never as a selection criterion. The race's figures are in reports/ocr_race.md (round 2, the
deciding one), reports/ocr_race_round1.md (the wide sweep that set round 2's candidates) and
reports/ocr_race_round3.md (one early-stop option on top of the winner).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from adfusion_edge.errors import ConfigError


@dataclass(frozen=True)
class OcrSettings:
    """How the OCR engine runs.

    Attributes:
        det_max_side: Detector input limit, longest side in pixels (larger images are scaled down).
        rec_batch: Text boxes per recogniser call.
        rec_width: Minimum recogniser input width at height 48 (boxes are padded up to it).
        det_threads: ONNX Runtime intra-op threads of the detector (None: ORT's default).
        rec_threads: ONNX Runtime intra-op threads of the recogniser (None: ORT's default).
        rec_workers: Recogniser calls run in parallel (each on ``rec_threads`` threads).
        rec_model: Path of another recogniser ONNX file (e.g. an INT8 copy); None: the shipped one.
        min_score: Drop recognised boxes whose confidence is below this.
        prioritise: Recognise boxes in prominence order and stop once the token budget is full;
            False recognises every box (the reference behaviour).
        max_misses: With a budget, also stop after this many boxes in a row did not fit in what
            was left (None: keep trying every remaining box).
    """

    det_max_side: int = 640
    rec_batch: int = 6
    rec_width: int = 320
    det_threads: int | None = None
    rec_threads: int | None = None
    rec_workers: int = 1
    rec_model: str | None = None
    min_score: float = 0.5
    prioritise: bool = True
    max_misses: int | None = None

    def __post_init__(self) -> None:
        if not 32 <= self.det_max_side <= 4096:
            raise ConfigError(f"det_max_side must be in [32, 4096], got {self.det_max_side}")
        if self.rec_batch < 1:
            raise ConfigError(f"rec_batch must be >= 1, got {self.rec_batch}")
        if not 16 <= self.rec_width <= 2048:
            raise ConfigError(f"rec_width must be in [16, 2048], got {self.rec_width}")
        for name in ("det_threads", "rec_threads"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ConfigError(f"{name} must be >= 1 or None, got {v}")
        if not 1 <= self.rec_workers <= 16:
            raise ConfigError(f"rec_workers must be in [1, 16], got {self.rec_workers}")
        if self.max_misses is not None and self.max_misses < 1:
            raise ConfigError(f"max_misses must be >= 1 or None, got {self.max_misses}")
        if not 0.0 <= self.min_score <= 1.0:
            raise ConfigError(f"min_score must be in [0, 1], got {self.min_score}")

    def with_threads(self, threads: int | None) -> OcrSettings:
        """The same settings with both models on ``threads`` intra-op threads (None: unchanged)."""
        return self if threads is None else replace(self, det_threads=int(threads), rec_threads=int(threads))


# What the SDK ran before the race: detector at 640 px (longest side), RapidOCR's recogniser
# defaults (batch 6, width 320), ORT's default threads, every box recognised.
REFERENCE = OcrSettings(det_max_side=640, rec_batch=6, rec_width=320, prioritise=False)

# The race winner (round 2, reports/ocr_race.md): detector unchanged at 640 px, one box per
# recogniser call at the reference width, one ORT thread per model, prominence order + budget.
# In that run (8 AdSynth val ads + 40 dev images' pixels, shared 2-core machine) it was 1.53x the
# legacy engine with 98.3 % agreement; narrower recogniser input (160 / 48 px) or a smaller detector
# (576-384 px) were 2.2-4.2x but fell below 90 % agreement (they read some boxes differently), and
# two ORT threads per model were slower than one on the loaded machine (0.86x vs 1.53x). A
# dynamic-INT8 (MatMul) recogniser was 1.86x vs 1.62x for FP32 at the same round-1 settings with
# the same agreement (76.4 vs 76.6 %); it is not shipped because the package would have to build
# and carry a second recogniser file, which this race did not settle. Round 3
# (reports/ocr_race_round3.md): stopping after three boxes in a row that no longer fit
# (``max_misses=3``) gained nothing in total (1.41x vs 1.42x), so it stays off.
# Those speed-ups were measured while other jobs loaded both cores. Round 2 repeated on an idle
# machine (reports/ocr_race_round2_quiet.md) picks the same winner by the same rule, but at 0.96x
# the legacy engine: on idle cores these settings buy the prominence order and the budget (what the
# model reads), not speed. Re-run the race on the machine you deploy to.
DEFAULT = OcrSettings(det_max_side=640, rec_batch=1, rec_width=320, det_threads=1, rec_threads=1, prioritise=True)
