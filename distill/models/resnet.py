"""ResNet-18 with torchvision's exact parameter names, so ImageNet weights load without torchvision.

torchvision cannot be installed here, and a hub download is impossible anyway; what we need is
that a ``resnet18`` state dict saved elsewhere (``.pth`` or ``.safetensors``) loads key for key.
The module tree therefore mirrors ``torchvision.models.resnet.ResNet`` exactly: ``conv1``, ``bn1``,
``layer1``..``layer4`` of ``BasicBlock`` (``conv1``/``bn1``/``conv2``/``bn2``/``downsample.0``/
``downsample.1``) and, optionally, ``fc``.

``forward`` returns the layer2/3/4 maps (strides 8/16/32) for multiscale fusion. ``width`` scales
every channel count for CPU-scale training; only ``width=1.0`` can take ImageNet weights.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch
from torch import nn

from adfusion_edge.errors import ConfigError

BASE_CHANNELS = (64, 128, 256, 512)


class BasicBlock(nn.Module):
    """torchvision's BasicBlock: two 3x3 convs + identity (or 1x1 conv/BN downsample) shortcut."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """ResNet-18 trunk returning multiscale feature maps.

    Args:
        width: Channel multiplier (1.0 = real ResNet-18: 64/128/256/512 channels).
        with_fc: Keep torchvision's 1000-way ``fc`` (only useful to round-trip full state dicts;
            our models never call it, so it is off by default to avoid dead parameters).
    """

    def __init__(self, width: float = 1.0, with_fc: bool = False):
        super().__init__()
        if not (0.0 < width <= 4.0):
            raise ConfigError(f"resnet width must be in (0, 4], got {width}")
        self.width = float(width)
        # Multiples of 8 keep convolutions vectorisation-friendly at reduced widths.
        ch = tuple(c if width == 1.0 else max(8, int(round(c * width / 8)) * 8) for c in BASE_CHANNELS)
        self.channels: tuple[int, int, int, int] = ch  # type: ignore[assignment]
        self.conv1 = nn.Conv2d(3, ch[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(ch[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._stage(ch[0], ch[0], 1)
        self.layer2 = self._stage(ch[0], ch[1], 2)
        self.layer3 = self._stage(ch[1], ch[2], 2)
        self.layer4 = self._stage(ch[2], ch[3], 2)
        self.fc = nn.Linear(ch[3], 1000) if with_fc else None
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @staticmethod
    def _stage(in_ch: int, out_ch: int, stride: int) -> nn.Sequential:
        return nn.Sequential(BasicBlock(in_ch, out_ch, stride), BasicBlock(out_ch, out_ch, 1))

    @property
    def feature_channels(self) -> tuple[int, int, int]:
        """Channels of the (layer2, layer3, layer4) maps."""
        return self.channels[1], self.channels[2], self.channels[3]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Normalised NCHW float image -> (layer2, layer3, layer4) maps at strides 8, 16, 32."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        c2 = self.layer2(self.layer1(x))
        c3 = self.layer3(c2)
        c4 = self.layer4(c3)
        return c2, c3, c4


def feature_sizes(image_size: int) -> tuple[int, int, int]:
    """Spatial side of the layer2/3/4 maps for a square input (same arithmetic as the convs)."""

    def down(s: int) -> int:  # any k=3,p=1 / k=7,p=3 / k=1,p=0 stride-2 op: floor((s - 1) / 2) + 1
        return (s - 1) // 2 + 1

    s = down(down(image_size))  # conv1 + maxpool -> layer1
    c2 = down(s)
    c3 = down(c2)
    return c2, c3, down(c3)


def _read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ImageNet weights not found: {path}")
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    sd = torch.load(path, map_location="cpu", weights_only=True)  # no pickle code execution
    if isinstance(sd, Mapping) and "state_dict" in sd and isinstance(sd["state_dict"], Mapping):
        sd = sd["state_dict"]
    if not isinstance(sd, Mapping):
        raise ConfigError(f"{path}: expected a state dict, found {type(sd).__name__}")
    return dict(sd)


def load_imagenet_weights(model: ResNet18, path: str | os.PathLike | Mapping[str, torch.Tensor]) -> list[str]:
    """Load a torchvision ``resnet18`` state dict into ``model`` (strict on every backbone key).

    Args:
        model: A ResNet18 built with ``width=1.0``.
        path: A ``.pth``/``.pt`` (read with ``torch.load(weights_only=True)``) or ``.safetensors``
            file, or an already loaded state dict. A leading ``module.`` (DataParallel) is stripped.

    Returns:
        The keys of the file that were not loaded (``fc.*`` when the model has no ``fc``).

    Raises:
        ConfigError: missing, unexpected or wrongly shaped backbone keys, listing them.
        FileNotFoundError: ``path`` does not exist.
    """
    sd = dict(path) if isinstance(path, Mapping) else _read_state_dict(path)
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    own = model.state_dict()
    ignored = sorted(k for k in sd if k.startswith("fc.") and k not in own)
    backbone = {k: v for k, v in sd.items() if k not in ignored}
    missing = sorted(set(own) - set(backbone))
    unexpected = sorted(set(backbone) - set(own))
    wrong = sorted(
        f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in backbone.items() if k in own and v.shape != own[k].shape
    )
    if missing or unexpected or wrong:
        hint = "" if model.width == 1.0 else f" (model width is {model.width}; ImageNet weights need width=1.0)"
        raise ConfigError(
            "not a torchvision resnet18 state dict" + hint
            + "".join(f"\n  {title}: {', '.join(keys[:8])}{' ...' if len(keys) > 8 else ''}"
                      for title, keys in (("missing", missing), ("unexpected", unexpected), ("shape", wrong)) if keys)
        )
    model.load_state_dict(backbone, strict=True)
    return ignored
