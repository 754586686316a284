"""Write tests/fixtures/face/blazeface_reference.npz: BlazeFace outputs from the TFLite interpreter itself.

tests/distill/test_face_detector.py checks that distill/models/tflite_graph.py replays the .tflite
graph exactly by comparing with these. Run it where the LiteRT interpreter installs (it is not a
project dependency):

    pip install --target /tmp/litert ai-edge-litert
    PYTHONPATH=/tmp/litert python3 scripts/face_reference.py

Inputs (kept in the file as uint8): a real face (matplotlib's sample photo of Grace Hopper, resized
to 128 x 128 bilinear) and seeded uniform noise. Outputs: the 896 anchor scores and the first four
box coordinates of each anchor.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "distill/models/face/face_detection_short_range.tflite"
OUT = ROOT / "tests/fixtures/face/blazeface_reference.npz"


def inputs() -> np.ndarray:
    import matplotlib
    from PIL import Image

    photo = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    face = np.asarray(Image.open(photo).convert("RGB").resize((128, 128), Image.Resampling.BILINEAR))
    noise = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    return np.stack([face, noise]).astype(np.uint8)


def main() -> None:
    from ai_edge_litert.interpreter import Interpreter

    images = inputs()
    it = Interpreter(model_path=os.fspath(MODEL))
    it.allocate_tensors()
    (inp,) = it.get_input_details()
    outs = {d["name"]: d["index"] for d in it.get_output_details()}
    scores, boxes = [], []
    for img in images:
        it.set_tensor(inp["index"], (img.astype(np.float32) / 127.5 - 1.0)[None])
        it.invoke()
        scores.append(it.get_tensor(outs["classificators"])[0, :, 0])
        boxes.append(it.get_tensor(outs["regressors"])[0, :, :4])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, images=images, scores=np.stack(scores), boxes=np.stack(boxes))
    print(f"wrote {OUT}: max scores {np.stack(scores).max(1)}")


if __name__ == "__main__":
    main()
