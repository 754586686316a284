"""``adfusion-edge analyze``: bad files reported per file, the others still analysed."""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))
from bundle_fixtures import ad_png, fp32_bundle, tiny_artifacts  # noqa: E402, F401 - fixtures

from adfusion_edge.cli import main  # noqa: E402


def test_good_and_bad_files(fp32_bundle, tmp_path, capsys):  # noqa: F811
    good = tmp_path / "good.png"
    good.write_bytes(ad_png("red", np.random.default_rng(0)))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    rc = main(["analyze", "--model", str(fp32_bundle), str(good), str(bad), str(tmp_path / "missing.png"),
               "--text", "Hot pizza 50% OFF today only! Order Now", "--json", "--device", "cpu"])
    out, err = capsys.readouterr()
    assert rc == 1
    lines = out.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["file"] == str(good)
    assert json.loads(lines[0])["monetary"]["text"] == "50% OFF"
    assert f"{bad}: error: InvalidImageError" in err and "missing.png: error: ImageNotFoundError" in err


def test_text_report_and_exit_zero(fp32_bundle, tmp_path, capsys):  # noqa: F811
    good = tmp_path / "good.png"
    good.write_bytes(ad_png("blue", np.random.default_rng(1)))
    assert main(["analyze", "--model", str(fp32_bundle), str(good), "--text", "Vote for change. Support Us"]) == 0
    out = capsys.readouterr().out
    assert "CPUExecutionProvider" in out and "Theme: " in out and "Likelihood of Shares: " in out


def test_setup_errors_exit_2(fp32_bundle, tmp_path, capsys):  # noqa: F811
    img = tmp_path / "a.png"
    img.write_bytes(ad_png("red", np.random.default_rng(0)))
    assert main(["analyze", "--model", str(tmp_path / "nobundle"), str(img), "--text", "x"]) == 2
    assert "model bundle not found" in capsys.readouterr().err
    assert main(["analyze", "--model", str(fp32_bundle), str(img), "--device", "tpu", "--text", "x"]) == 2
    assert "unknown device" in capsys.readouterr().err
    assert main(["analyze", "--model", str(fp32_bundle), str(img), str(img), "--text", "a", "--text", "b",
                 "--text", "c"]) == 2
