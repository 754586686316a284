"""Image preprocessing shared by training loaders, INT8 calibration and the runtime.

One function turns any image source into the model's image input: a uint8 HxWx3 array at the
configured square size. Normalisation (mean/std) happens inside the model graph, so there is no
float host-side pass and no way for train and serve to disagree on constants. Parity between the
training loader and the runtime is tested, not hoped for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from adfusion_edge.errors import ConfigError
from adfusion_edge.image_io import ImageSource, decode_image

# ImageNet statistics: the ResNet-18 teacher can start from ImageNet weights, and the constants are
# baked into every exported graph (see PreprocessConfig.mean/std).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class PreprocessConfig:
    """Everything that turns raw inputs into model inputs; stored in checkpoints and bundles.

    Attributes:
        image_size: Square side the image is resized to (stretching; ads are not cropped
            because a crop can cut off the price badge or the CTA).
        max_tokens: Token sequence length (truncate / pad).
        mean: Per-channel mean in [0, 1], applied inside the model graph.
        std: Per-channel std, applied inside the model graph.
    """

    image_size: int = 160
    max_tokens: int = 64
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        if not (16 <= self.image_size <= 1024):
            raise ConfigError(f"image_size must be in [16, 1024], got {self.image_size}")
        if not (4 <= self.max_tokens <= 512):
            raise ConfigError(f"max_tokens must be in [4, 512], got {self.max_tokens}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ConfigError("mean and std need 3 channels and std > 0")
        object.__setattr__(self, "mean", tuple(float(x) for x in self.mean))
        object.__setattr__(self, "std", tuple(float(x) for x in self.std))

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> PreprocessConfig:
        known = {k: d[k] for k in ("image_size", "max_tokens", "mean", "std") if k in d}
        return cls(**known)


def resize_image(img: Image.Image, size: int) -> np.ndarray:
    """RGB PIL image -> uint8 array (size, size, 3), bilinear with antialiasing."""
    if img.size != (size, size):
        # reducing_gap lets PIL shrink big images by box-filtering first: same result quality,
        # much faster for a 4K creative than a full-resolution bilinear pass.
        img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(img, dtype=np.uint8)


def prepare_image(source: ImageSource, size: int) -> np.ndarray:
    """Decode + validate + resize: the model's ``image`` input for one ad (uint8, HxWx3)."""
    return resize_image(decode_image(source, draft_size=size), size)


def prepare_images(sources: Sequence[ImageSource], size: int) -> np.ndarray:
    """Batch of :func:`prepare_image`: uint8 (N, size, size, 3)."""
    return np.stack([prepare_image(s, size) for s in sources]) if sources else np.zeros(
        (0, size, size, 3), np.uint8
    )


def normalize_reference(images_u8: np.ndarray, cfg: PreprocessConfig) -> np.ndarray:
    """Reference numpy normalisation (NHWC uint8 -> NCHW float32), the same maths the graph does.

    Used by tests to check the in-graph normalisation, and by tools that feed float models.
    """
    x = images_u8.astype(np.float32) / 255.0
    x = (x - np.asarray(cfg.mean, np.float32)) / np.asarray(cfg.std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
