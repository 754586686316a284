"""Real ads for INT8 calibration and the parity gate, through the runtime's own preprocessing.

Every sample goes through ``prepare_image`` + ``AdTokenizer`` exactly as ``Analyzer`` feeds the
model, so the calibrated activation ranges are the ones the runtime meets.

Sources:
    * a shard corpus directory (``manifest.json``, see distill/data/shards.py): calibration reads
      the ``calib`` or ``train`` split, the parity gate the ``val`` / ``test`` split (labelled, so
      the overall Table 1 score is compared too);
    * a folder of images, or image paths: the text is ``<image>.txt`` beside the image if present,
      else OCR (slow: keep such folders small). First half calibrates, second half is held out.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adfusion_edge import io_contract
from adfusion_edge.errors import ConfigError
from adfusion_edge.preprocess import PreprocessConfig, prepare_image
from adfusion_edge.tokenizer import AdTokenizer

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
CALIB_SPLITS = ("calib", "train")
HOLDOUT_SPLITS = ("val", "validation", "test")


@dataclass
class AdSet:
    """Preprocessed ads: model inputs, texts, and targets when labels are known.

    Attributes:
        feeds: ``image`` uint8 (N,S,S,3), ``input_ids`` / ``attention_mask`` int64 (N,L).
        texts: The ad texts.
        targets: ``y/<head>`` / ``m/<head>`` arrays (distill/data/targets.py) or None.
    """

    feeds: dict[str, np.ndarray]
    texts: list[str]
    targets: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def batches(self, batch_size: int) -> list[dict[str, np.ndarray]]:
        """The feeds cut into batches (for the calibrator and for batched inference)."""
        n = len(self)
        return [{k: v[i:i + batch_size] for k, v in self.feeds.items()} for i in range(0, n, batch_size)]


def _records_adset(records: Sequence, tok: AdTokenizer, pre: PreprocessConfig) -> AdSet:
    from adfusion_edge.distill.data.targets import encode_batch

    batch = encode_batch(records, None, tok, pre)
    feeds = io_contract.feeds_of(batch)
    targets = {k: v for k, v in batch.items() if k.startswith(("y/", "m/"))}
    return AdSet(feeds, [r.text for r in records], targets)


def _corpus(root: Path, splits: Sequence[str], limit: int, tok: AdTokenizer, pre: PreprocessConfig,
            skip: int = 0) -> AdSet:
    from itertools import islice

    from adfusion_edge.distill.data.shards import iter_split, load_manifest

    available = load_manifest(root)["splits"]
    split = next((s for s in splits if s in available), None)
    if split is None:
        raise ConfigError(f"{root}: needs one of the splits {', '.join(splits)}; has {', '.join(available)}")
    records = list(islice(iter_split(root, split), skip, skip + limit))
    if not records:
        raise ConfigError(f"{root}: split {split!r} has no ads" + (f" after the first {skip}" if skip else ""))
    return _records_adset(records, tok, pre)


def _image_files(source: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if p.is_dir():
            return sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        return [p]
    return [Path(s) for s in source]


def _images_adset(files: Sequence[Path], tok: AdTokenizer, pre: PreprocessConfig) -> AdSet:
    texts = []
    ocr = None
    for f in files:
        side = f.with_suffix(".txt")
        if side.is_file():
            texts.append(side.read_text(encoding="utf-8").strip())
            continue
        if ocr is None:
            from adfusion_edge.ocr import OcrEngine

            # The text the deployed model sees: Analyzer's default budget (max tokens less [CLS]/[SEP]).
            ocr = OcrEngine.for_model(tok.path, tok.max_tokens - 2)
        texts.append(ocr.read(f).text)
    images = np.stack([prepare_image(f, pre.image_size) for f in files])
    tb = tok.encode(texts)
    return AdSet({io_contract.IMAGE: images, io_contract.INPUT_IDS: tb.input_ids,
                  io_contract.ATTENTION_MASK: tb.attention_mask}, texts)


def load_probe(source: str | os.PathLike | Sequence[str | os.PathLike], tokenizer: AdTokenizer,
               preprocess: PreprocessConfig, skip: int, limit: int) -> AdSet | None:
    """Calibration-split ads after the first ``skip`` (those calibrate): the INT8 sensitivity probe.

    Returns:
        The ads, or None when the source is not a corpus or its calibration split has no ads
        beyond ``skip`` (then the search probes the calibration ads themselves).
    """
    if not isinstance(source, (str, os.PathLike)) or not (Path(source) / "manifest.json").is_file():
        return None
    try:
        return _corpus(Path(source), CALIB_SPLITS, limit, tokenizer, preprocess, skip=skip)
    except ConfigError:  # no ads left after the calibration ones
        return None


def load_ads(source: str | os.PathLike | Sequence[str | os.PathLike], tokenizer: AdTokenizer,
             preprocess: PreprocessConfig, limit: int = 128) -> tuple[AdSet, AdSet]:
    """Calibration ads and held-out ads from ``source``.

    Args:
        source: Corpus directory, image folder, or a list of image paths.
        tokenizer: The model's tokenizer (max_tokens = preprocess.max_tokens).
        preprocess: The model's preprocessing.
        limit: Most ads per set.

    Returns:
        (calibration set, held-out set). For an image folder each gets half of the images.

    Raises:
        ConfigError: no usable ads.
        FileNotFoundError: the source does not exist.
    """
    if isinstance(source, (str, os.PathLike)):
        root = Path(source)
        if not root.exists():
            raise FileNotFoundError(f"calibration source not found: {root}")
        if (root / "manifest.json").is_file():
            return (_corpus(root, CALIB_SPLITS, limit, tokenizer, preprocess),
                    _corpus(root, HOLDOUT_SPLITS, limit, tokenizer, preprocess))
    files = _image_files(source)
    if len(files) < 2:
        raise ConfigError(f"calibration needs at least 2 ad images, found {len(files)} in {source}")
    half = len(files) // 2
    return (_images_adset(files[:half][:limit], tokenizer, preprocess),
            _images_adset(files[half:][:limit], tokenizer, preprocess))
