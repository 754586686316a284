"""``adfusion-edge export`` on a real checkpoint of the registered student (tiny widths)."""

import pytest
from bundle_fixtures import tiny_artifacts, tiny_student  # noqa: F401 - fixtures

from adfusion_edge.bundle import load_bundle
from adfusion_edge.cli import main


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, tokenizer_file):
    from adfusion_edge.distill.models.checkpoint import save_model

    path = tmp_path_factory.mktemp("ckpt") / "best"
    save_model(tiny_student(), path, info={"step": 123}, tokenizer=tokenizer_file)
    return path


def test_export_onnx_fp32_and_next_command(checkpoint, tmp_path, capsys):
    out = tmp_path / "bundle"
    assert main(["export", "--model", str(checkpoint), "--format", "onnx", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert f"adfusion-edge analyze --model {out} ad.png" in stdout
    b = load_bundle(out)
    assert b.precision == "fp32" and b.meta["provenance"]["checkpoint"] == str(checkpoint)
    assert b.meta["provenance"]["steps"] == 123


def test_export_int8_with_fallback_records_what_shipped(checkpoint, tiny_artifacts, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "b8"
    rc = main(["export", "--model", str(checkpoint), "--format", "onnx", "--int8", "--calib",
               str(tiny_artifacts["corpus"]), "--out", str(out), "--fallback", "--no-measure", "--calib-limit", "32"])
    assert rc == 0
    stdout = capsys.readouterr().out
    b = load_bundle(out)
    assert f"wrote {b.precision} bundle" in stdout
    gate = b.meta["provenance"]["metrics"]["export"]["parity_int8"]
    # An untrained student may or may not pass: what matters is that the bundle says which.
    assert (b.precision == "int8") == gate["ok"]
    assert ("parity gate" in stdout) == (not gate["ok"])


def test_export_errors_are_reported(checkpoint, tmp_path, capsys):
    assert main(["export", "--model", str(checkpoint), "--format", "onnx", "--int8", "--out", str(tmp_path / "x")]) == 2
    assert "--int8 needs --calib" in capsys.readouterr().err
    assert main(["export", "--model", str(tmp_path / "none"), "--format", "onnx"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "--model", str(checkpoint), "--format", "coreml"])
