"""The format table (adfusion_edge/formats.py): the one list export and the runtimes dispatch from."""

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from adfusion_edge.errors import UnknownFormatError
from adfusion_edge.formats import BACKENDS, BY_SUFFIX, FORMATS, OPTIONS, format_for_backend, get_format
from adfusion_edge.runtimes.auto import backend_for_file

ROOT = Path(__file__).resolve().parents[2]


def test_table_lists_the_three_formats():
    assert set(FORMATS) == {"onnx", "torchscript", "tensorrt"}
    for f in FORMATS.values():
        assert f.options <= set(OPTIONS), f.name
        assert f.suffix.startswith(".") and all(x.startswith(".") and x == x.lower() for x in f.suffixes)
    assert len(BY_SUFFIX) == sum(len(f.suffixes) for f in FORMATS.values()), "a suffix claimed by two formats"


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
    assert "tensorrt" in trt.packages and trt.gpu and "cpu" not in trt.devices
    assert not get_format("onnx").gpu


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_writer_suffix_is_what_the_runtime_dispatches_on(name):
    f = get_format(name)
    assert backend_for_file("m" + f.suffix) == f.backend


@pytest.mark.parametrize("suffix", sorted(BY_SUFFIX))
def test_every_suffix_of_the_table_dispatches_to_its_backend(suffix):
    assert backend_for_file("m" + suffix.upper()) == BY_SUFFIX[suffix].backend


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_writer_and_backend_of_each_row_exist_with_the_protocol(name):
    f = get_format(name)
    module, _, func = f.writer.partition(":")
    # The writer module is parsed, not imported: it needs torch, the table must not.
    path = ROOT / "export" / (module.rsplit(".", 1)[1] + ".py")
    funcs = {n.name: n for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)}
    assert func in funcs and [a.arg for a in funcs[func].args.args] == ["job"], f.writer
    backend = importlib.import_module(f.backend_module)  # light: runtimes import their engine lazily
    assert list(inspect.signature(backend.candidates).parameters)[:2] == ["path", "device"]
    assert format_for_backend(f.backend) is f and f.backend in BACKENDS


def test_no_other_module_lists_model_suffixes():
    """Suffix literals live in the table only (a new format must not need a second list)."""
    suffixes = {s for f in FORMATS.values() for s in f.suffixes}
    hits = []
    for folder in ("adfusion_edge", "runtimes", "export"):
        for py in (ROOT / folder).rglob("*.py"):
            if py.name == "formats.py":
                continue
            for node in ast.walk(ast.parse(py.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in suffixes:
                    hits.append(f"{py.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert not hits, "suffix lists outside adfusion_edge/formats.py:\n" + "\n".join(hits)
