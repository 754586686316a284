"""A real person signal for the objects head: MediaPipe's BlazeFace face detector inside the graph.

ImageNet has no person class, so before this the head's ``person`` came only from ImageNet classes
that imply someone wearing them (suits, jerseys, ...) and from a detector trained on AdSynth's
emoji people. BlazeFace short range (``face/README.md``: Apache-2.0, copied from the mediapipe
0.10.14 wheel) finds real faces at 128 x 128, the student's own input size, from the same
``(x - 127.5) / 127.5`` pixels the trunk reads: about 0.1 M parameters, float16 in the file.

Only "is there a face" is needed, so the 896 anchor scores are reduced to their maximum; no box
decoding or non-maximum suppression (which only remove overlapping boxes, never change the
maximum). The score is clipped to +-100 as MediaPipe's ``score_clipping_thresh`` does.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from adfusion_edge.distill.models.tflite_graph import TFLiteGraph
from adfusion_edge.errors import ConfigError

FACE_DIR = Path(__file__).with_name("face")
DETECTORS = {"blazeface_short_range": FACE_DIR / "face_detection_short_range.tflite"}
INPUT_SIZE = 128  # BlazeFace short range's anchors are laid out for 128 x 128


class FaceDetector(nn.Module):
    """forward(pixels (B, 3, 128, 128) in [-1, 1]) -> (B,) logit of the most confident face.

    Args:
        name: One of ``DETECTORS``.

    Raises:
        ConfigError: Unknown detector name, or its file is missing.
    """

    def __init__(self, name: str = "blazeface_short_range"):
        super().__init__()
        if name not in DETECTORS:
            raise ConfigError(f"unknown face detector {name!r}; known: {sorted(DETECTORS)}")
        self.graph = TFLiteGraph(DETECTORS[name], channel_multiple=16)  # ORT's blocked convolutions
        self.graph.requires_grad_(False)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        if tuple(pixels.shape[-2:]) != (INPUT_SIZE, INPUT_SIZE):
            raise ConfigError(f"the face detector reads {INPUT_SIZE}x{INPUT_SIZE} pixels, got "
                              f"{tuple(pixels.shape[-2:])}")
        _, scores = self.graph(pixels, channels_first=True)  # (B, 896, 1) raw scores
        return scores.amax(dim=(1, 2)).clamp(-100.0, 100.0)
