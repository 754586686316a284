"""ImageNet agreement of the INT8 ONNX EfficientNet-Lite classifier with its FP32 torch original.

Does the project's INT8 recipe keep what was pretrained? The same reading as the LwF check
(``real_dev_vision.imagenet_agreement``), on the quantized copy. This module uses the export
package (quantize_onnx), so it sits above the evaluation helpers it reads.

    python -m adfusion_edge.distill.compare.lite_int8_agreement --adsynth runs/synth_vis \\
        --dev ../shared/realdata/images/dev --size 128 --out reports/real_ads/int8_agreement_128.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from adfusion_edge.distill.evaluate.real_dev_vision import (
    imagenet_agreement,
    imagenet_probs,
    load_adsynth,
    load_dev,
)
from adfusion_edge.distill.models.efficientnet_lite import LiteImageNet, pretrained_lite
from adfusion_edge.preprocess import prepare_image


def int8_probs(model: torch.nn.Module, size: int, calib: Sequence, images: Sequence, tmp: str | Path) -> np.ndarray:
    """ImageNet probabilities of ``model`` exported to ONNX and quantized with the project's INT8
    recipe (export/quantize.py defaults, calibrated on ``calib``), run in ONNX Runtime."""
    import onnxruntime as ort

    from adfusion_edge.export.quantize import quantize_onnx

    fp32, int8 = Path(tmp) / f"lite_{size}.onnx", Path(tmp) / f"lite_{size}_int8.onnx"
    torch.onnx.export(model, (torch.zeros(1, size, size, 3, dtype=torch.uint8),), str(fp32), input_names=["image"],
                      output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                      opset_version=17, dynamo=False)
    quantize_onnx(fp32, int8, [{"image": prepare_image(im, size)[None]} for im in calib])
    sess = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"])
    logits = np.concatenate([sess.run(None, {"image": prepare_image(im, size)[None]})[0] for im in images])
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--adsynth", required=True, help="AdSynth corpus: 32 val ads calibrate, test is read")
    ap.add_argument("--dev", required=True, help="real-ad dev folder (read only)")
    ap.add_argument("--variant", default="efficientnet_lite0")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    model = LiteImageNet(pretrained_lite(a.variant)).eval()
    calib = load_adsynth(a.adsynth, "val", limit=32)[0]
    sets = {"adsynth_test": load_adsynth(a.adsynth, "test")[0], "dev": load_dev(a.dev)[0]}
    results: dict[str, object] = {"variant": a.variant, "size": a.size}
    with tempfile.TemporaryDirectory() as tmp:
        for name, images in sets.items():
            ref = imagenet_probs(model, images, a.size, desc=name)
            results[name] = imagenet_agreement(ref, int8_probs(model, a.size, calib, images, tmp))
            print(name, results[name])
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
