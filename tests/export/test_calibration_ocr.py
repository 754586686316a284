"""INT8 calibration from an image folder reads each ad's text the way the deployed model does: the
most prominent text first, within the model's token budget (not every box on the page)."""

import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from test_ocr import HEADLINE, poster  # noqa: E402 - the OCR tests' rendered poster

from adfusion_edge.analyzer import default_bundle  # noqa: E402
from adfusion_edge.export.calibration import load_ads  # noqa: E402
from adfusion_edge.preprocess import PreprocessConfig  # noqa: E402
from adfusion_edge.tokenizer import AdTokenizer  # noqa: E402


def test_image_folder_calibration_reads_within_the_model_token_budget(tmp_path):
    for i in range(2):
        Image.fromarray(poster()).save(tmp_path / f"ad{i}.png")
    tokenizer_file = Path(default_bundle()) / "tokenizer.json"
    # 5 tokens = [CLS] + 3 word pieces + [SEP]: room for the headline, none for the fine print.
    tok = AdTokenizer(tokenizer_file, 5)
    calib, held = load_ads(tmp_path, tok, PreprocessConfig(image_size=64, max_tokens=5), limit=4)
    texts = calib.texts + held.texts
    assert texts == [HEADLINE, HEADLINE], texts
