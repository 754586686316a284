"""Tables 1/2, figures, the evaluate CLI and the suite, on hand-made metrics and tiny real runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from model_fixtures import TINY
from PIL import Image
from train_fixtures import make_corpus, one_thread, tiny_config  # noqa: F401 (fixture)

from adfusion_edge import schema
from adfusion_edge.cli import main as cli_main
from adfusion_edge.distill.evaluate.metrics import summary_scores
from adfusion_edge.distill.evaluate.plots import figure1, figure2, sweep_points
from adfusion_edge.distill.evaluate.tables import RunResult, table1, table2, write_tables
from adfusion_edge.distill.train.suite import SuiteConfig, plan, run_suite

pytestmark = pytest.mark.usefixtures("one_thread")


def _metrics(sent_f1: float, emo_f1: float, theme: float, eng: tuple[float, float, float]) -> dict:
    heads = {h.name: ({"micro_f1": 0.5} if h.kind == "multi" else {"accuracy": 0.5}) for h in schema.HEADS}
    heads["sentiment"] = {"accuracy": 0.5, "macro_f1": sent_f1}
    heads["emotion"] = {"accuracy": 0.5, "macro_f1": emo_f1}
    heads["theme"] = {"accuracy": theme}
    for name, acc in zip(schema.ENGAGEMENT_HEADS, eng, strict=True):
        heads[name] = {"accuracy": acc}
    return {"heads": heads, **summary_scores(heads)}


def _runs() -> list[RunResult]:
    base_loss = {"alpha": 1.0, "beta": 0.1, "gamma": 0.1, "label_smoothing": 0.1}
    cfg = {"d_model": 32}
    m = _metrics
    return [
        RunResult("resnet18_image", "resnet18_image", {"table1": True}, base_loss, {},
                  {"test": m(0.621, 0.583, 0.647, (0.5, 0.559, 0.618))}),
        RunResult("adfusionnet", "adfusionnet", {"table1": True, "ablation": "full"}, base_loss, cfg,
                  {"test": m(0.8, 0.7, 0.9, (0.6, 0.6, 0.6)), "shift": m(0.7, 0.6, 0.8, (0.5, 0.5, 0.5))}),
        RunResult("ablation_no_itc", "adfusionnet", {"ablation": "no_itc"}, {**base_loss, "beta": 0.0}, cfg,
                  {"test": m(0.75, 0.7, 0.9, (0.6, 0.6, 0.6))}),
        RunResult("ablation_no_xattn", "adfusionnet_no_xattn", {"ablation": "no_xattn"}, base_loss, cfg,
                  {"test": m(0.7, 0.7, 0.9, (0.6, 0.6, 0.6))}),
        RunResult("sweep_beta_1", "adfusionnet", {"sweep": "beta", "value": 1.0}, {**base_loss, "beta": 1.0}, cfg,
                  {"test": m(0.6, 0.6, 0.6, (0.6, 0.6, 0.6))}),
        RunResult("sweep_alpha_2", "adfusionnet", {"sweep": "alpha", "value": 2.0}, {**base_loss, "alpha": 2.0},
                  cfg, {"test": m(0.9, 0.9, 0.9, (0.9, 0.9, 0.9))}),
    ]


def test_table1_rows_formula_and_paper_reference(tmp_path):
    rows = table1(_runs(), "test")
    assert [r["run"] for r in rows] == ["resnet18_image", "adfusionnet"]  # ablations/sweeps excluded
    r = rows[0]
    assert r["label"] == "ResNet-18 (Image Only)"
    assert r["engagement_accuracy"] == pytest.approx((0.5 + 0.559 + 0.618) / 3)
    assert r["overall"] == pytest.approx((0.621 + 0.583 + 0.647 + 0.559) / 4)
    assert r["paper"]["overall"] == 60.2 and r["paper"]["sentiment_macro_f1"] == 62.1
    assert [row["run"] for row in table1(_runs(), "shift")] == ["adfusionnet"]
    paths = write_tables(_runs(), ["test", "shift"], tmp_path)
    md = paths["markdown"].read_text()
    assert "| ResNet-18 (Image Only) | 62.1 | 58.3 | 64.7 | 55.9 | 60.2 |" in md  # ours == paper here
    assert "Reference only" in md and "Split `shift`" in md
    data = json.loads(paths["json"].read_text())
    assert set(data) == {"test", "shift"} and len(data["test"]["table2"]) == 3


def test_table2_order_and_values():
    rows = table2(_runs(), "test")
    assert [r["ablation"] for r in rows] == ["full", "no_xattn", "no_itc"]  # the paper's order
    assert rows[2]["sentiment_macro_f1"] == 0.75 and rows[2]["paper_sentiment_f1"] == 73.2
    assert rows[0]["overall"] == pytest.approx((0.8 + 0.7 + 0.9 + 0.6) / 4)


def test_figures_are_valid_pngs_and_sweep_points(tmp_path):
    pts = sweep_points(_runs(), "test")
    # beta line: no_itc (0.0), base (0.1), sweep (1.0); alpha line: base (1.0), sweep (2.0);
    # gamma has only the base point -> no line. The no_xattn model never counts.
    assert [p[0] for p in pts["beta"]] == [0.0, 0.1, 1.0] and [p[0] for p in pts["alpha"]] == [1.0, 2.0]
    assert "gamma" not in pts
    for fn, name in ((figure1, "f1.png"), (figure2, "f2.png")):
        path = fn(_runs(), "test", tmp_path / name)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as img:
            img.verify()
            assert img.size[0] > 300
    assert figure2(_runs(), "shift", tmp_path / "none.png") is None  # no sweep runs on shift


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"), {"train": 16, "val": 8, "test": 8, "shift": 8})


def test_evaluate_cli_writes_metrics_tables_predictions(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path / "run", model="resnet18_image", max_steps=2, eval_every=0)
    cfg.save(tmp_path / "c.json")
    assert cli_main(["train", "--config", str(tmp_path / "c.json"), "--no-progress"]) == 0
    out = tmp_path / "eval"
    assert cli_main(["evaluate", "--checkpoints", str(tmp_path / "run"), "--corpus", str(corpus),
                     "--splits", "test", "shift", "--out", str(out), "--batch-size", "4"]) == 0
    m = json.loads((out / "tiny" / "test.metrics.json").read_text())
    assert m["n_samples"] == 8 and 0 <= m["overall"] <= 1 and "span_exact_match" in m["heads"]["monetary"]
    preds = [json.loads(x) for x in (out / "tiny" / "shift.predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 8 and preds[0]["id"] == "shift-0000"
    assert preds[0]["theme"] in schema.head("theme").labels and "monetary_text" in preds[0]
    assert "ResNet-18 (Image Only) [tiny]" in (out / "tables.md").read_text()
    assert (out / "figure1_test.png").is_file()
    # Re-rendering with reuse reads the evaluation back instead of running it again.
    from adfusion_edge.distill.evaluate.cli import evaluate_all

    before = (out / "tiny" / "test.metrics.json").stat().st_mtime_ns
    runs = evaluate_all([str(tmp_path / "run")], str(corpus), ["test"], out, batch_size=4, log=False, reuse=True)
    assert (out / "tiny" / "test.metrics.json").stat().st_mtime_ns == before
    assert runs[0].splits["test"]["overall"] == m["overall"]


def test_suite_plan_and_tiny_end_to_end(corpus, tmp_path):
    full = plan(SuiteConfig(corpus=str(corpus)))
    names = [c.name for c in full]
    assert names.index("clip_dual_itc") < names.index("clip_dual")
    assert {"ablation_no_xattn", "ablation_no_multiscale", "ablation_no_itc", "ablation_no_mi",
            "sweep_beta_1", "adfusionnet"} <= set(names)
    no_mi = next(c for c in full if c.name == "ablation_no_mi")
    assert no_mi.loss.gamma == 0.0 and no_mi.model.config["unimodal_heads"] is False
    minilm = next(c for c in full if c.name == "adfusionnet_minilm")
    assert minilm.model.name == "adfusionnet" and minilm.model.config["text_encoder"] == "minilm"
    assert minilm.tags["table1"] is True
    assert "adfusionnet_minilm" not in [c.name for c in plan(SuiteConfig(corpus=str(corpus), pretrained_text=False))]

    s = SuiteConfig(corpus=str(corpus), runs_dir=str(tmp_path / "runs"), report_dir=str(tmp_path / "rep"),
                    image_size=32, max_tokens=16, max_steps=2, batch_size=8, device="cpu",
                    models=("resnet18_image", "adfusionnet"), ablations=False, sweep=False, pretrained_text=False,
                    splits=("test",),
                    model_overrides={k: TINY[k] for k in ("resnet18_image", "adfusionnet")})
    report = run_suite(s, progress=False).read_text()
    assert "adfusion-edge train --config" in report and "python scripts/train_all.py" in report
    assert "Ours (AdFusionNet)" in report and "samples/s" in report
    assert "## Checks: does the teacher beat every baseline" in report and "- `test`: the teacher (Overall" in report
    assert (tmp_path / "rep" / "figure1_test.png").is_file()


def test_sweep_ignores_runs_without_loss_weights():
    # A checkpoint evaluated without its run config (no loss weights) must not crash Figure 2.
    from adfusion_edge.distill.evaluate.tables import RunResult

    runs = list(_runs()) + [RunResult(name="bare", model="adfusionnet", splits={"test": {"overall": 0.5}})]
    assert sweep_points(runs, "test") == sweep_points(_runs(), "test")


def test_cached_metrics_only_for_the_same_checkpoint_state(tmp_path):
    import json
    import os

    from adfusion_edge.distill.evaluate.cli import _cached_metrics

    ckpt = tmp_path / "best"
    ckpt.mkdir()
    (ckpt / "model.safetensors").write_bytes(b"w")
    path = tmp_path / "test.metrics.json"
    metrics = {"checkpoint": str(ckpt), "corpus": "c", "max_samples": None, "text_source": "gt", "overall": 0.5}
    path.write_text(json.dumps(metrics))
    os.utime(ckpt / "model.safetensors", (1, 1))  # checkpoint older than the metrics
    assert _cached_metrics(path, str(ckpt), "c", None, "gt") == metrics
    assert _cached_metrics(path, str(ckpt), "other", None, "gt") is None      # another corpus
    assert _cached_metrics(path, str(ckpt), "c", 100, "gt") is None           # another sample cap
    assert _cached_metrics(path, str(tmp_path), "c", None, "gt") is None      # another checkpoint
    os.utime(path, (0, 0))  # the checkpoint was rewritten after the evaluation
    assert _cached_metrics(path, str(ckpt), "c", None, "gt") is None
    assert _cached_metrics(tmp_path / "missing.json", str(ckpt), "c", None, "gt") is None


def test_trained_summary_reports_the_session_that_trained(tmp_path):
    import json

    from adfusion_edge.distill.train.suite import _trained_summary

    lines = [{"kind": "train", "step": 1},
             {"kind": "summary", "step": 300, "samples_per_s": 40.0, "train_s": 240.0},
             {"kind": "summary", "step": 300, "samples_per_s": 0.0, "train_s": 0.0}]  # a later no-op resume
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert _trained_summary(tmp_path) == {"samples_per_s": 40.0, "wall_s": 240.0}
    assert _trained_summary(tmp_path / "missing") == {}
