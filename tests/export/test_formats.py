import pytest

from adfusion_edge.errors import UnknownFormatError
from adfusion_edge.export.formats import FORMATS, OPTIONS, get_format
from adfusion_edge.runtimes.auto import backend_for_file


def test_table_lists_the_three_formats():
    assert set(FORMATS) == {"onnx", "torchscript", "tensorrt"}
    for f in FORMATS.values():
        assert f.options <= set(OPTIONS), f.name
        assert f.suffix.startswith(".")


def test_get_format_is_case_insensitive_and_exact():
    assert get_format("ONNX").name == "onnx"
    with pytest.raises(UnknownFormatError) as e:
        get_format("onx")  # no silent "did you mean"
    assert "onnx, torchscript, tensorrt" in str(e.value)


def test_unknown_option_lists_the_allowed_ones():
    with pytest.raises(UnknownFormatError, match="unknown option: quantum.*onnx accepts: calib"):
        get_format("onnx").validate_options({"quantum": True})


def test_option_of_another_format_is_refused():
    with pytest.raises(UnknownFormatError, match="not supported by format 'torchscript'"):
        get_format("torchscript").validate_options({"int8": True})
    with pytest.raises(UnknownFormatError, match="dla_core"):
        get_format("onnx").validate_options({"dla_core": 0})


def test_unset_options_are_ignored_and_set_ones_returned():
    got = get_format("onnx").validate_options({"int8": True, "fp16": False, "calib": None, "opset": 17})
    assert got == {"int8": True, "opset": 17}


def test_required_packages_checked_without_importing():
    assert get_format("onnx").missing_packages() == []
    trt = get_format("tensorrt")
    assert "tensorrt" in trt.packages and trt.gpu


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_writer_suffix_is_what_the_runtime_dispatches_on(name):
    f = get_format(name)
    assert backend_for_file("m" + f.suffix) == f.backend
