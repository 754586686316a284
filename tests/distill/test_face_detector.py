"""The face detector behind ``objects: person``: the TFLite graph replayed in PyTorch equals the TFLite
interpreter's own outputs, channel padding changes nothing, it finds a real face and not noise, and
in the student it raises ``person`` only (as a max), survives ONNX export, and refuses bad settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from model_fixtures import LITE_SMALL

from adfusion_edge import schema
from adfusion_edge.distill.evaluate.face_threshold import face_threshold
from adfusion_edge.distill.models.face_detector import DETECTORS, FaceDetector
from adfusion_edge.distill.models.lite_student import LITE_PREPROCESS
from adfusion_edge.distill.models.registry import create_model
from adfusion_edge.distill.models.tflite_graph import TFLiteGraph
from adfusion_edge.errors import ConfigError

REFERENCE = Path(__file__).parents[1] / "fixtures" / "face" / "blazeface_reference.npz"
MODEL = DETECTORS["blazeface_short_range"]


@pytest.fixture(scope="module")
def reference():
    return np.load(REFERENCE)


def _pixels(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)


@pytest.mark.parametrize("multiple", [1, 16])
def test_the_replayed_graph_equals_the_tflite_interpreter(reference, multiple):
    graph = TFLiteGraph(MODEL, channel_multiple=multiple).eval()
    with torch.no_grad():
        boxes, scores = graph(_pixels(reference["images"]))
    assert boxes.shape == (2, 896, 16) and scores.shape == (2, 896, 1)
    np.testing.assert_allclose(scores[..., 0].numpy(), reference["scores"], atol=2e-3)
    np.testing.assert_allclose(boxes[..., :4].numpy(), reference["boxes"], atol=2e-3, rtol=1e-4)


def test_it_finds_the_face_in_a_photo_and_none_in_noise(reference):
    with torch.no_grad():
        logit = FaceDetector()(_pixels(reference["images"]).permute(0, 3, 1, 2))
    prob = torch.sigmoid(logit).numpy()
    assert prob[0] > 0.85 and prob[1] < 0.5, prob  # MediaPipe reports a face at 0.5


def test_bad_files_and_names_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        TFLiteGraph(tmp_path / "missing.tflite")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"\0" * 64)
    with pytest.raises(ConfigError, match="TFL3"):
        TFLiteGraph(junk)
    with pytest.raises(ConfigError, match="unknown face detector"):
        FaceDetector("retinaface")
    with pytest.raises(ConfigError, match="128x128"):
        FaceDetector()(torch.zeros(1, 3, 64, 64))


def _students():
    torch.manual_seed(0)
    plain = create_model("lite_student", LITE_PREPROCESS, vision_weights="").eval()
    faces = create_model("lite_student", LITE_PREPROCESS, vision_weights="", face_detector="blazeface_short_range",
                         face_threshold=0.6).eval()
    faces.load_state_dict(plain.state_dict(), strict=True)  # the detector adds no checkpoint weights
    return plain, faces


def _inputs(reference):
    image = torch.from_numpy(reference["images"])
    ids = torch.zeros(2, LITE_PREPROCESS.max_tokens, dtype=torch.long)
    ids[:, :3] = torch.tensor([101, 2204, 102])
    return image, ids, (ids > 0).long()


def test_in_the_student_the_face_raises_person_only_and_as_a_max(reference):
    plain, faces = _students()
    x = _inputs(reference)
    with torch.no_grad():
        a, b = plain(*x), faces(*x)
    person = schema.OBJECTS.index("person")
    for name in a:
        if name != "objects":
            assert torch.equal(a[name], b[name]), name
    others = [j for j in range(len(schema.OBJECTS)) if j != person]
    assert torch.equal(a["objects"][:, others], b["objects"][:, others])
    face = b["aux/face_logit"]
    expected = torch.maximum(a["objects"][:, person], face)
    assert torch.allclose(b["objects"][:, person], expected)
    # the threshold is where the face alone makes person 0.5: logit 0 at probability 0.6
    raw = FaceDetector()(x[0].permute(0, 3, 1, 2).float() / 127.5 - 1.0)
    assert torch.allclose(face, raw - np.log(0.6 / 0.4), atol=1e-5)
    assert torch.sigmoid(b["objects"][0, person]) > 0.5  # Grace Hopper is a person


def test_the_student_with_faces_exports_to_onnx(reference, tmp_path):
    import onnxruntime as ort

    _, faces = _students()
    x = _inputs(reference)

    class Objects(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, image, input_ids, attention_mask):
            return self.m(image, input_ids, attention_mask)["objects"]

    path = tmp_path / "faces.onnx"
    torch.onnx.export(Objects(faces), x, str(path), input_names=["image", "input_ids", "attention_mask"],
                      output_names=["objects"], opset_version=17, dynamo=False)
    faces.eval()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {n: t.numpy() for n, t in zip(["image", "input_ids", "attention_mask"], x, strict=True)})[0]
    with torch.no_grad():
        ref = faces(*x)["objects"].numpy()
    np.testing.assert_allclose(got, ref, atol=1e-3)


def test_face_settings_are_checked():
    with pytest.raises(ConfigError, match="face_threshold"):
        create_model("lite_student", LITE_PREPROCESS, vision_weights="", face_detector="blazeface_short_range",
                     face_threshold=1.0)
    small = LITE_SMALL
    with pytest.raises(ConfigError, match="image_size 128"):
        create_model("lite_student", small, vision_weights="", max_positions=16, face_detector="blazeface_short_range")


def test_the_threshold_rule_bounds_false_positives_and_keeps_mediapipes_floor():
    rng = np.random.default_rng(0)
    prob = rng.uniform(0, 1, 1000)
    person = np.zeros(1000, bool)
    person[:100] = True
    prob[:100] = 0.99  # faces on ads labelled person do not count against the detector
    t = face_threshold(prob, person, quantile=0.98)
    assert t == pytest.approx(np.quantile(prob[100:], 0.98), abs=1e-4)
    assert (prob[100:] >= t).mean() <= 0.021
    assert face_threshold(np.full(50, 0.1), np.zeros(50, bool)) == 0.5  # quiet detector: MediaPipe's 0.5
