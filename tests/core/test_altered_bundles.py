"""The altered-bundle set, generated at test time from the tiny FP32 / INT8 bundles: every
alteration is refused at load with a BundleError naming the file and what differs, except the
harmless ones listed in HARMLESS, which load and answer exactly as the original does."""

import hashlib
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).parents[1]))
from bundle_fixtures import ad_png, fp32_bundle, int8_bundle, tiny_artifacts  # noqa: E402, F401 - fixtures

from adfusion_edge import Analyzer, schema  # noqa: E402
from adfusion_edge.bundle import expected_outputs  # noqa: E402
from adfusion_edge.errors import BundleError  # noqa: E402


def _meta(b: Path) -> dict:
    return json.loads((b / "bundle.json").read_text())


def _write_meta(b: Path, meta: dict) -> None:
    (b / "bundle.json").write_text(json.dumps(meta, indent=1))


def _rehash(b: Path, *names: str) -> None:
    meta = _meta(b)
    for n in names:
        data = (b / n).read_bytes()
        meta["files"][n] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    _write_meta(b, meta)


def _edit(fn: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(b: Path) -> None:
        meta = _meta(b)
        fn(meta)
        _write_meta(b, meta)
    return apply


def constant_model(path: Path, image_size: int, tokens: int, theme_classes: int = 12, rename: str | None = None,
                   extra_input: bool = False, value: float | None = None, theme_row: list | None = None) -> None:
    """A valid ONNX model with the bundle's signature whose answers ignore the inputs."""
    inputs = [helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", image_size, image_size, 3]),
              helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", tokens]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", tokens])]
    if extra_input:
        inputs.append(helper.make_tensor_value_info("pixel_mask", TensorProto.INT64, ["batch"]))
    nodes = [helper.make_node("Shape", ["image"], ["batch_dim"], start=0, end=1)]
    outputs, inits = [], []
    for name, rest in expected_outputs(tokens).items():
        rest = (theme_classes,) if name == "theme" else rest
        n = int(np.prod(rest)) if rest else 1
        if value is not None:
            row = np.full(n, value, np.float32)
        elif name == "theme":
            row = np.asarray(theme_row if theme_row is not None else
                             [0.99 if i == theme_classes - 1 else 0.01 / (theme_classes - 1)
                              for i in range(theme_classes)], np.float32)
        elif name in schema.HEAD_NAMES and schema.head(name).kind != "multi":
            row = np.full(n, 1.0 / n, np.float32)
        else:
            row = np.full(n, 0.5 if not rest else 1.0 / rest[-1], np.float32)
        inits.append(helper.make_tensor(f"c_{name}", TensorProto.FLOAT, [1, *rest], row.tolist()))
        inits.append(helper.make_tensor(f"r_{name}", TensorProto.INT64, [len(rest)], list(rest)))
        nodes.append(helper.make_node("Concat", ["batch_dim", f"r_{name}"], [f"s_{name}"], axis=0))
        out = rename if (rename and name == "theme") else name
        if not rest:
            nodes.append(helper.make_node("Reshape", [f"c_{name}", "batch_dim_1d"], [f"f_{name}"]))
            nodes.append(helper.make_node("Expand", [f"f_{name}", f"s_{name}"], [out]))
        else:
            nodes.append(helper.make_node("Expand", [f"c_{name}", f"s_{name}"], [out]))
        outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, ["batch", *rest]))
    inits.append(helper.make_tensor("batch_dim_1d", TensorProto.INT64, [1], [1]))
    graph = helper.make_graph(nodes, "constant", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def _swap_model(**kw) -> Callable[[Path], None]:
    def apply(b: Path) -> None:
        pre = _meta(b)["preprocess"]
        args = {"image_size": pre["image_size"], "tokens": pre["max_tokens"], **kw}
        constant_model(b / "model.onnx", **args)
        _rehash(b, "model.onnx")
    return apply


def _flip_byte(name: str, at: int = 100) -> Callable[[Path], None]:
    def apply(b: Path) -> None:
        data = bytearray((b / name).read_bytes())
        data[at] ^= 1
        (b / name).write_bytes(bytes(data))
    return apply


def _resize_file(name: str, delta: int) -> Callable[[Path], None]:
    def apply(b: Path) -> None:
        data = (b / name).read_bytes()
        (b / name).write_bytes(data[:delta] if delta < 0 else data + b"\0" * delta)
    return apply


def _replace_file(name: str, data: bytes, rehash: bool = True) -> Callable[[Path], None]:
    def apply(b: Path) -> None:
        (b / name).write_bytes(data)
        if rehash:
            _rehash(b, name)
    return apply


def _external_data(location: str = "weights.bin", list_it: bool = False, zero_it: bool = False):
    def apply(b: Path) -> None:
        m = onnx.load(str(b / "model.onnx"))
        onnx.save(m, str(b / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                  location="weights.bin", size_threshold=64)
        if location != "weights.bin":  # a crafted location (ORT itself refuses paths outside the dir)
            m = onnx.load(str(b / "model.onnx"), load_external_data=False)
            for t in m.graph.initializer:
                for kv in t.external_data:
                    if kv.key == "location":
                        kv.value = location
            (b / "model.onnx").write_bytes(m.SerializeToString())  # onnx.save's checker refuses ".."
        _rehash(b, "model.onnx", *(["weights.bin"] if list_it else []))
        if zero_it:
            w = b / "weights.bin"
            w.write_bytes(b"\0" * w.stat().st_size)
    return apply


def _bigger_tokenizer(b: Path) -> None:
    from adfusion_edge.distill.data.tokenizer_train import train_wordpiece

    rng = np.random.default_rng(0)
    words = ["".join(chr(97 + int(c)) for c in rng.integers(0, 26, 6)) for _ in range(3000)]
    train_wordpiece([" ".join(words[i:i + 30]) for i in range(0, 3000, 30)], b / "tokenizer.json",
                    vocab_size=2000, min_frequency=1)
    _rehash(b, "tokenizer.json")


def _schema_theme_5(meta: dict) -> None:
    meta["schema"]["heads"][0]["labels"] = meta["schema"]["heads"][0]["labels"][:5]


def _output_shape(name: str, shape: list) -> Callable[[dict], None]:
    def fn(meta: dict) -> None:
        next(o for o in meta["outputs"] if o["name"] == name)["shape"] = shape
    return fn


# name -> (alteration, bundle ("fp32" / "int8"), message part)
REFUSED: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "model_byte_flipped": (_flip_byte("model.onnx"), "fp32", "model.onnx: sha256 mismatch"),
    "model_truncated": (_resize_file("model.onnx", -10), "fp32", "model.onnx: truncated"),
    "model_grown": (_resize_file("model.onnx", 3), "fp32", "larger than recorded"),
    "model_missing": (lambda b: (b / "model.onnx").unlink(), "fp32", "model.onnx: missing from bundle"),
    "tokenizer_edited": (_flip_byte("tokenizer.json", 10), "fp32", "tokenizer.json: sha256 mismatch"),
    "bundle_json_garbage": (lambda b: (b / "bundle.json").write_text("{not json"), "fp32", "unreadable"),
    "bundle_json_list": (lambda b: (b / "bundle.json").write_text("[]"), "fp32", "not a JSON object"),
    "bundle_json_missing": (lambda b: (b / "bundle.json").unlink(), "fp32", "bundle.json missing"),
    "key_missing": (_edit(lambda m: m.pop("preprocess")), "fp32", "missing keys: preprocess"),
    "key_unknown": (_edit(lambda m: m.update(precision_override="fp32")), "fp32", "unknown keys: precision_override"),
    "format_version_true": (_edit(lambda m: m.update(format_version=True)), "fp32", "format_version True"),
    "format_version_string": (_edit(lambda m: m.update(format_version="1")), "fp32", "format_version '1'"),
    "format_version_2": (_edit(lambda m: m.update(format_version=2)), "fp32", "format_version 2"),
    "precision_unknown": (_edit(lambda m: m["model"].update(precision="int4")), "fp32", "unknown precision 'int4'"),
    "precision_int8_lie": (_edit(lambda m: m["model"].update(precision="int8")), "fp32", "no quantized operators"),
    "precision_fp32_lie": (_edit(lambda m: m["model"].update(precision="fp32")), "int8", "has quantized operators"),
    "precision_fp16_onnx": (_edit(lambda m: m["model"].update(precision="fp16")), "fp32", "fp16 is only written"),
    "precision_not_string": (_edit(lambda m: m["model"].update(precision=8)), "fp32", "'model' must be exactly"),
    "format_suffix_lie": (_edit(lambda m: m["model"].update(format="tensorrt")), "fp32", "not a tensorrt file"),
    "format_unknown": (_edit(lambda m: m["model"].update(format="tflite")), "fp32", "unknown model format"),
    "model_key_extra": (_edit(lambda m: m["model"].update(quant="x")), "fp32", "'model' must be exactly"),
    "preprocess_empty": (_edit(lambda m: m.update(preprocess={})), "fp32", "no defaults are assumed"),
    "preprocess_partial": (_edit(lambda m: m["preprocess"].pop("max_tokens")), "fp32", "no defaults are assumed"),
    "preprocess_extra": (_edit(lambda m: m["preprocess"].update(crop=True)), "fp32", "no defaults are assumed"),
    "preprocess_string_size": (_edit(lambda m: m["preprocess"].update(image_size="64")), "fp32", "wrong types"),
    "preprocess_bool_tokens": (_edit(lambda m: m["preprocess"].update(max_tokens=True)), "fp32", "wrong types"),
    "preprocess_out_of_range": (_edit(lambda m: m["preprocess"].update(image_size=4)), "fp32", "image_size must be"),
    "preprocess_other_size": (_edit(lambda m: m["preprocess"].update(image_size=96)), "fp32", "input 'image'"),
    "preprocess_other_tokens": (_edit(lambda m: m["preprocess"].update(max_tokens=24)), "fp32", "input 'input_ids'"),
    "schema_theme_5_classes": (_edit(_schema_theme_5), "fp32", "another label schema"),
    "schema_fingerprint": (_edit(lambda m: m.update(schema_fingerprint="0" * 64)), "fp32", "another label schema"),
    "output_theme_5_declared": (_edit(_output_shape("theme", ["batch", 5])), "fp32", "output 'theme' is float32"),
    "output_renamed_declared": (_edit(lambda m: m["outputs"][0].update(name="topic")), "fp32", "differ from the"),
    "output_missing_declared": (_edit(lambda m: m["outputs"].pop(3)), "fp32", "differ from the schema"),
    "input_dtype_declared": (_edit(lambda m: m["inputs"][0].update(dtype="float32")), "fp32", "input 'image'"),
    "input_fixed_batch": (_edit(lambda m: m["inputs"][0]["shape"].__setitem__(0, 1)), "fp32", "input 'image'"),
    "inputs_not_list": (_edit(lambda m: m.update(inputs={})), "fp32", "'inputs' must be a non-empty list"),
    "files_empty": (_edit(lambda m: m.update(files={})), "fp32", "'files' must list"),
    "file_entry_bad_sha": (_edit(lambda m: m["files"]["model.onnx"].update(sha256="xyz")), "fp32", "entry for"),
    "file_entry_bool_size": (_edit(lambda m: m["files"]["model.onnx"].update(size=True)), "fp32", "entry for"),
    "file_entry_extra_key": (_edit(lambda m: m["files"]["model.onnx"].update(path="/etc")), "fp32", "entry for"),
    "file_name_traversal": (_edit(lambda m: m["files"].update({"../x": m["files"]["model.onnx"]})), "fp32",
                            "invalid file name"),
    "model_name_traversal": (_edit(lambda m: m["model"].update(file="../model.onnx")), "fp32", "invalid file name"),
    "tokenizer_unlisted": (_edit(lambda m: m["files"].pop("tokenizer.json")), "fp32", "not listed in 'files'"),
    "tokenizer_garbage": (_replace_file("tokenizer.json", b'{"model": 1}'), "fp32", "tokenizer.json: .*not a valid"),
    "tokenizer_bigger_than_model": (_bigger_tokenizer, "fp32", "smoke inference on Analyzer's inputs failed"),
    "model_not_onnx": (_replace_file("model.onnx", b"\x08\x07" + bytes(range(256)) * 4), "fp32",
                       "not a valid ONNX model"),
    "external_data_unlisted": (_external_data(), "fp32", "external data 'weights.bin'.*does not list"),
    "external_data_zeroed": (_external_data(list_it=True, zero_it=True), "fp32", "weights.bin: sha256 mismatch"),
    "external_data_outside": (_external_data(location="../weights.bin"), "fp32", "invalid file name"),
    "batch_independent_lie": (_edit(lambda m: m.update(batch_independent=True)), "int8", "batch-mixing nodes"),
    "batch_independent_not_bool": (_edit(lambda m: m.update(batch_independent="yes")), "fp32", "true or false"),
    "ctr_thresholds_decreasing": (_edit(lambda m: m.update(ctr_thresholds=[0.007, 0.004])), "fp32", "ctr_thresholds"),
    "ctr_thresholds_one_value": (_edit(lambda m: m.update(ctr_thresholds=[0.004])), "fp32", "ctr_thresholds"),
    "ctr_thresholds_not_numbers": (_edit(lambda m: m.update(ctr_thresholds=["low", True])), "fp32", "ctr_thresholds"),
    "swapped_constant_model": (_swap_model(), "fp32", "do not depend on its inputs"),
    "swapped_theme_5_classes": (_swap_model(theme_classes=5), "fp32", "output 'theme' is float32 \\['batch', 5\\]"),
    "swapped_output_renamed": (_swap_model(rename="topic"), "fp32", "declares output 'theme'"),
    "swapped_other_image_size": (_swap_model(image_size=32), "fp32", "input 'image' is uint8 \\['batch', 32"),
    "swapped_other_token_count": (_swap_model(tokens=8), "fp32", "input 'input_ids' is int64 \\['batch', 8\\]"),
    "swapped_extra_input": (_swap_model(extra_input=True), "fp32", "needs inputs bundle.json does not declare"),
    "swapped_nan_outputs": (_swap_model(value=float("nan")), "fp32", "is not a probability"),
}


def _drop_provenance(meta: dict) -> None:
    meta.pop("provenance")


def _extra_listed_file(b: Path) -> None:
    (b / "NOTES.txt").write_text("exported for the spring campaign\n")
    _rehash(b, "NOTES.txt")


# Harmless: bundle.json's free-form or conservative parts, formatting, files nothing loads.
HARMLESS: dict[str, tuple[Callable[[Path], None], str]] = {
    "provenance_edited": (_edit(lambda m: m["provenance"].update(command="edited by hand")), "fp32"),
    "provenance_removed": (_edit(_drop_provenance), "fp32"),
    "json_reformatted": (lambda b: (b / "bundle.json").write_text(json.dumps(_meta(b), indent=None,
                                                                             sort_keys=True)), "fp32"),
    "extra_listed_file": (_extra_listed_file, "fp32"),
    "extra_unlisted_file": (lambda b: (b / "README.md").write_text("not loaded by anything"), "fp32"),
    "batch_independent_false_on_fp32": (_edit(lambda m: m.update(batch_independent=False)), "fp32"),
    "batch_independent_removed": (_edit(lambda m: m.pop("batch_independent", None)), "int8"),
    "batch_independent_false_on_int8": (_edit(lambda m: m.update(batch_independent=False)), "int8"),
}


@pytest.fixture(scope="module")
def bundles(fp32_bundle, int8_bundle):  # noqa: F811
    return {"fp32": fp32_bundle, "int8": int8_bundle}


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "bundle"
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_altered_bundle_is_refused_at_load(bundles, tmp_path, name):
    alter, which, msg = REFUSED[name]
    b = _copy(bundles[which], tmp_path)
    alter(b)
    with pytest.raises(BundleError, match=msg):
        Analyzer(b, device="cpu", threads=1, ocr=False)


def _answers(a: Analyzer) -> list:
    rng = np.random.default_rng(4)
    ads = [ad_png(c, rng) for c in ("red", "blue", "green")]
    out = a.run_batch(ads, ["Hot pizza 50% OFF", "", "Book Now"])
    return [r.to_dict() | {"timings": None, "model": None, "fallback": None} for r in out]


def _alike(a: object, b: object, tol: float = 1e-5) -> bool:
    """Equal labels and texts; probabilities equal up to float reassociation (batched vs one by one)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_alike(a[k], b[k], tol) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_alike(x, y, tol) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= tol
    return a == b


@pytest.mark.parametrize("name", sorted(HARMLESS))
def test_harmless_alteration_loads_and_answers_alike(bundles, tmp_path, name):
    alter, which = HARMLESS[name]
    original = _answers(Analyzer(bundles[which], device="cpu", threads=1, ocr=False))
    b = _copy(bundles[which], tmp_path)
    alter(b)
    assert _alike(_answers(Analyzer(b, device="cpu", threads=1, ocr=False)), original)


def test_the_set_is_what_the_issue_names():
    # Every kind of alteration found by hand is in the set; nothing is both refused and harmless.
    assert len(REFUSED) >= 58 and not set(REFUSED) & set(HARMLESS)


def test_ctr_thresholds_in_bundle_json_drive_the_reported_bucket(bundles, tmp_path):
    """A bundle that records its CTR bucket edges reports the bucket its own estimate falls in."""
    b = _copy(bundles["fp32"], tmp_path)
    _edit(lambda m: m.update(ctr_thresholds=[0.0042, 0.007]))(b)
    a = Analyzer(b, device="cpu", threads=1, ocr=False)
    assert a.bundle.ctr_thresholds == (0.0042, 0.007)
    rng = np.random.default_rng(4)
    ads = [ad_png(c, rng) for c in ("red", "blue", "green")]
    for r in a.run_batch(ads, ["Hot pizza 50% OFF", "", "Book Now"]):
        want = ("low", "medium", "high")[int(np.searchsorted([0.0042, 0.007], r.ctr.estimate, side="right"))]
        assert r.ctr.bucket.label == want, r.ctr
