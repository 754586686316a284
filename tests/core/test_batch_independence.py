"""One answer per ad whatever its batch: run_batch equals run() for every ad of mixed batches of 1,
2, 7 and 64 ads, label for label and within PROB_TOL on every probability, for an FP32 bundle, the
default bundle and the packaged nano bundle (whose INT8 graph mixes batch items, so the runtime runs
it ad by ad)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from bundle_fixtures import COLOURS, COPY, ad_png, fp32_bundle, int8_bundle, tiny_artifacts  # noqa: E402, F401

from adfusion_edge import Analyzer  # noqa: E402
from adfusion_edge.analyzer import DEFAULT_BUNDLE, MODEL_SIZES  # noqa: E402
from adfusion_edge.bundle import load_bundle  # noqa: E402
from adfusion_edge.report import AdReport  # noqa: E402

# Batched and single-ad float kernels may reassociate sums (~1e-6); a batch-mixing INT8 graph run
# batched moved probabilities by up to 0.14.
PROB_TOL = 1e-4
SIZES = (1, 2, 7, 64)


def mixed_ads(n: int, seed: int) -> tuple[list[bytes], list[str]]:
    """n different ads: every background colour, random shapes and sizes, all copies plus none."""
    rng = np.random.default_rng(seed)
    names = list(COLOURS)
    images = [ad_png(names[int(rng.integers(len(names)))], rng, size=int(rng.integers(48, 200))) for _ in range(n)]
    texts = [COPY[int(rng.integers(len(COPY)))][0] if rng.random() < 0.85 else "" for _ in range(n)]
    return images, texts


def _flat(r: AdReport) -> dict:
    d = r.to_dict()
    for k in ("timings", "source", "ocr_lines"):
        d.pop(k)
    return d


def differences(a: object, b: object, path: str = "") -> list[str]:
    """Where two reports differ: labels / texts exactly, probabilities beyond PROB_TOL."""
    if isinstance(a, dict):
        if a.keys() != b.keys():  # type: ignore[union-attr]
            return [f"{path}: keys differ"]
        return [d for k in a for d in differences(a[k], b[k], f"{path}.{k}")]  # type: ignore[index]
    if isinstance(a, (list, tuple)):
        if not isinstance(b, (list, tuple)) or len(a) != len(b):  # type: ignore[arg-type]
            return [f"{path}: {a} vs {b}"]
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float):
        return [] if abs(a - b) <= PROB_TOL else [f"{path}: {a} vs {b}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def _check(analyzer: Analyzer, seed: int) -> None:
    for n in SIZES:
        images, texts = mixed_ads(n, seed + n)
        singles = [analyzer.run(img, text=t) for img, t in zip(images, texts, strict=True)]
        batched = analyzer.run_batch(images, texts, batch_size=n)
        for i, (s, b) in enumerate(zip(singles, batched, strict=True)):
            diff = differences(_flat(s), _flat(b))
            assert not diff, f"batch of {n}, ad {i}: {diff[:5]}"


def test_fp32_bundle_run_batch_equals_run(fp32_bundle):  # noqa: F811
    a = Analyzer(fp32_bundle, device="cpu", threads=1, ocr=False)
    assert a.batch_independent
    _check(a, seed=10)


@pytest.fixture(scope="module")
def shipped():
    if not (MODEL_SIZES["nano"] / "bundle.json").is_file():
        pytest.skip("no nano bundle in this checkout")
    return Analyzer(MODEL_SIZES["nano"], device="cpu", threads=1, ocr=False)


def test_default_bundle_run_batch_equals_run():
    a = Analyzer(DEFAULT_BUNDLE, device="cpu", threads=1, ocr=False)
    # The default bundle is built to be batch-independent (static INT8 scales or FP32), so a server
    # that micro-batches gets the batching gain and still one answer per ad.
    assert a.batch_independent
    _check(a, seed=40)


def test_nano_int8_bundle_run_batch_equals_run(shipped):
    assert shipped.bundle.precision == "int8"
    _check(shipped, seed=20)


def test_nano_int8_graph_mixes_batches_so_the_per_ad_path_matters(shipped):
    """The check above has teeth: fed as one batch, the nano graph moves answers."""
    b = load_bundle(MODEL_SIZES["nano"])
    assert not b.batch_independent and b.batch_mixing.get("DynamicQuantizeLinear", 0) > 0
    images, texts = mixed_ads(16, seed=3)
    from adfusion_edge.preprocess import prepare_image

    pixels = np.stack([prepare_image(img, b.preprocess.image_size) for img in images])
    tb = shipped._tokenizer.encode(texts)
    feeds = {"image": pixels, "input_ids": tb.input_ids, "attention_mask": tb.attention_mask}
    together = shipped._backend.infer(feeds)
    alone = [shipped._backend.infer({k: v[i:i + 1] for k, v in feeds.items()}) for i in range(16)]
    moved = max(float(np.abs(together[k][i] - alone[i][k][0]).max()) for k in together for i in range(16))
    assert moved > PROB_TOL


def test_tiny_int8_export_records_batch_independence(tiny_artifacts, int8_bundle):  # noqa: F811
    metrics = tiny_artifacts["int8"].metrics
    for name, entry in metrics["int8_candidates"].items():
        bi = entry["batch_independence"]
        assert set(bi) == {"max_abs", "label_flips", "n", "ok", "atol"} and bi["n"] > 0, name
    b = load_bundle(int8_bundle)
    assert b.meta["batch_independent"] == (metrics["batch_independent"] and not b.batch_mixing)
    a = Analyzer(int8_bundle, device="cpu", threads=1, ocr=False)
    assert a.batch_independent == b.batch_independent
    images, texts = mixed_ads(7, seed=30)
    singles = [a.run(img, text=t) for img, t in zip(images, texts, strict=True)]
    for s, r in zip(singles, a.run_batch(images, texts), strict=True):
        assert not differences(_flat(s), _flat(r))
