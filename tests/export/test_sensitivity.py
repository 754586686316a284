"""The INT8 sensitive-node search (export/sensitivity.py) on the trained tiny model: real ORT quantization."""

from __future__ import annotations

import numpy as np
import pytest
from bundle_fixtures import tiny_artifacts  # noqa: F401 - fixture

from adfusion_edge import schema
from adfusion_edge.export.calibration import load_ads
from adfusion_edge.export.onnx_tools import ort_outputs
from adfusion_edge.export.onnx_writer import export_onnx
from adfusion_edge.export.quantize import QuantConfig
from adfusion_edge.export.sensitivity import keep_sensitive_in_float, probe_score
from adfusion_edge.tokenizer import AdTokenizer


def _single_heads() -> list:
    return [h for h in schema.HEADS if h.kind != "multi"]


def test_probe_score_is_total_variation_and_top1_agreement() -> None:
    rng = np.random.default_rng(0)
    fp32 = {h.name: rng.dirichlet(np.ones(h.num_labels), 10) for h in _single_heads()}
    assert probe_score(fp32, fp32).error == 0 and probe_score(fp32, fp32).min_agreement == 1
    flipped = dict(fp32)
    head = _single_heads()[0]
    p = fp32[head.name].copy()
    p[0] = np.roll(p[0], 1)  # one ad's distribution moves: its top-1 changes
    flipped[head.name] = p
    score = probe_score(fp32, flipped)
    assert score.agreement[head.name] == pytest.approx(0.9)
    tv = 0.5 * np.abs(fp32[head.name][0] - p[0]).sum() / 10  # one ad of ten, one head of all
    assert score.error == pytest.approx(tv / len(_single_heads()))


@pytest.fixture(scope="module")
def search_inputs(tiny_artifacts, tmp_path_factory):  # noqa: F811
    model = tiny_artifacts["model"]
    tmp = tmp_path_factory.mktemp("sens")
    fp32 = export_onnx(model, tmp / "m.onnx")
    tok = AdTokenizer(tiny_artifacts["tokenizer"], model.preprocess.max_tokens)
    calib, _ = load_ads(tiny_artifacts["corpus"], tok, model.preprocess, limit=48)
    return fp32, calib, ort_outputs(fp32, calib.feeds), tmp


def test_no_search_when_the_recipe_already_agrees(search_inputs) -> None:
    fp32, calib, ref, tmp = search_inputs
    q, report = keep_sensitive_in_float(fp32, QuantConfig(), calib.batches(8), calib.feeds, ref, tmp / "a",
                                        ort_outputs, probe_agreement=0.0)
    assert report.quantizations == 1 and report.ranking == [] and report.kept_float == []
    assert q.path.is_file() and report.final == report.base


def test_unreachable_target_ranks_every_quantized_node_and_keeps_the_best(search_inputs) -> None:
    fp32, calib, ref, tmp = search_inputs
    seen: list[str] = []
    q, report = keep_sensitive_in_float(fp32, QuantConfig(), calib.batches(8), calib.feeds, ref, tmp / "b",
                                        ort_outputs, seen.append, probe_agreement=1.01)
    ranked = [n for n, _ in report.ranking]
    assert ranked and set(ranked) <= set(q.static_nodes) | set(q.dynamic_nodes) | set(report.kept_float)
    gains = [g for _, g in report.ranking]
    assert gains == sorted(gains, reverse=True)
    assert len(seen) >= len(ranked)  # one progress message per leave-one-out quantization
    # What it keeps in float comes from the top of the ranking, and is really excluded.
    assert report.kept_float == ranked[:len(report.kept_float)]
    assert set(report.kept_float) <= set(q.excluded) and not set(report.kept_float) & set(q.static_nodes)
    # The returned model scores at least as well as the recipe as given (agreement first, then error).
    final = probe_score(ref, ort_outputs(q.path, calib.feeds))
    assert (final.min_agreement, -final.error) >= (report.base.min_agreement, -report.base.error)
    assert final == report.final
    assert report.quantizations >= 1 + len(ranked)
