"""The student report on tiny real checkpoints, a real evaluation directory and a real bundle."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from model_fixtures import build
from PIL import Image
from student_fixtures import tiny_student
from train_fixtures import make_corpus, one_thread, tiny_config  # noqa: F401 (fixture)

from adfusion_edge import schema
from adfusion_edge.distill.compare.plot import pareto_front
from adfusion_edge.distill.compare.run import HEAD_GOAL, OVERALL_GOAL, CompareConfig, goals, parse_named
from adfusion_edge.distill.compare.scores import find_metrics, head_scores
from adfusion_edge.distill.compare.timing import MIN_RUNS, TimedItem, _plan_runs
from adfusion_edge.distill.models.checkpoint import find_checkpoint, save_checkpoint
from adfusion_edge.errors import ConfigError

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "student_report.py"


def _script():
    spec = importlib.util.spec_from_file_location("student_report", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def setup(tmp_path_factory, one_thread):  # noqa: F811 (fixture)
    """Corpus, teacher (run dir) / student / pruned checkpoints, an FP32 bundle, an evaluation dir."""
    from adfusion_edge.distill.evaluate.cli import evaluate_all
    from adfusion_edge.export.exporter import export_bundle

    root = tmp_path_factory.mktemp("compare")
    corpus = make_corpus(root / "corpus", {"test": 8, "shift": 8})
    tok = corpus / "tokenizer.json"
    save_checkpoint(root / "teacher" / "best", build("adfusionnet"), tokenizer=tok)
    # A run directory carries its resolved config (name, loss weights) like a trained one does.
    tiny_config(corpus, root / "teacher", name="teacher").save(root / "teacher" / "config.json")
    student = tiny_student()
    save_checkpoint(root / "student", student, tokenizer=tok)
    save_checkpoint(root / "pruned", tiny_student(seed=1, fusion_ffn=32, text_ffn=(32, 32)), tokenizer=tok)
    export_bundle(student, "onnx", root / "bundle", tok)
    # The usual workflow: teacher and student evaluated by `adfusion-edge evaluate`; pruned is not.
    evaluate_all([root / "teacher", root / "student"], corpus, ["test", "shift"], root / "eval", batch_size=8,
                 device="cpu", log=False)
    return root


@pytest.fixture(scope="module")
def report(setup):
    """The CLI run once (few timing runs, 1 thread); returns (exit code, out dir, compare.json)."""
    out = setup / "report"
    code = _script().main([
        "--model", f"teacher={setup / 'teacher'}", "--model", f"student={setup / 'student'}",
        "--model", f"pruned={setup / 'pruned'}", "--bundle", f"student_fp32={setup / 'bundle'}",
        "--eval-dir", str(setup / "eval"), "--corpus", str(setup / "corpus"), "--out", str(out),
        "--threads", "1", "--runs", "12", "--big-batch", "4", "--big-runs", "3", "--rounds", "3",
        "--time-budget", "3", "--batch-size", "8", "--no-progress"])
    return code, out, json.loads((out / "compare.json").read_text())


def test_outputs_are_well_formed(report):
    code, out, res = report
    assert code == 0
    assert [m["name"] for m in res["models"]] == ["teacher", "student", "pruned", "student_fp32"]
    with Image.open(out / "pareto.png") as img:
        img.verify()
    md = (out / "REPORT.md").read_text()
    assert "python scripts/student_report.py --model teacher=" in md  # the exact command
    assert "adfusion-edge evaluate --checkpoints" in md and "load average" in md and "CPU:" in md
    for split in ("test", "shift"):
        assert f"## Per-head scores, split `{split}`" in md
    for m in res["models"]:
        assert m["name"] in md
        ort = m["latency"]["ort"]
        assert ort["b1"]["runs"] == 12 and ort["big"]["runs"] == 3 and ort["big"]["batch"] == 4  # within budget
        assert 0 < ort["b1"]["p50_ms"] <= ort["b1"]["p99_ms"]
        assert ort["big"]["samples_per_s"] == pytest.approx(1e3 * 4 / ort["big"]["p50_ms"])
        assert ("torch" in m["latency"]) == (m["kind"] == "checkpoint")
    teacher, student, pruned, bundle = res["models"]
    assert teacher["params"] > student["params"] > 0 and teacher["macs"] > student["macs"] > 0
    assert student["safetensors_bytes"] == (find_checkpoint(student["checkpoint"]) / "model.safetensors").stat().st_size
    assert bundle["onnx_bytes"] == (Path(bundle["bundle"]) / "model.onnx").stat().st_size
    assert bundle["parity"]["fp32"] == "ok" and bundle["params"] is None
    assert res["timing"]["load_start"] and res["timing"]["load_end"] and res["environment"]["cpu"]


def test_scores_match_evaluation_files(report, setup):
    _, _, res = report
    teacher, student, pruned, bundle = res["models"]
    for split in ("test", "shift"):
        for m, how in ((teacher, "found"), (student, "found"), (pruned, "computed"), (bundle, "computed")):
            sc = m["scores"][split]
            assert sc["how"] == how and sc["n_samples"] == 8 and not sc["stale"]
            metrics = json.loads(Path(sc["file"]).read_text())
            assert sc["overall"] == metrics["overall"] and sc["heads"] == head_scores(metrics)
        # the pruned result is now in the evaluation directory, where the next report finds it
        assert find_metrics(setup / "eval", pruned["checkpoint"], split) == Path(pruned["scores"][split]["file"])
        # the FP32 bundle runs the student's graph: through ORT its scores are the student's
        for h in schema.HEADS:
            assert bundle["scores"][split]["heads"][h.name] == pytest.approx(student["scores"][split]["heads"][h.name])


def test_ratios_and_goals_computed_from_scores(report):
    _, out, res = report
    teacher = res["models"][0]
    assert teacher["goals"] is None and teacher["ratios"]["latency"]["ort_b1_p50_ms"] == pytest.approx(1.0)
    for m in res["models"][1:]:
        lat = m["ratios"]["latency"]["ort_b1_p50_ms"]
        assert lat == pytest.approx(m["latency"]["ort"]["b1"]["p50_ms"] / teacher["latency"]["ort"]["b1"]["p50_ms"])
        for split in res["splits"]:
            ref, sc, r = teacher["scores"][split], m["scores"][split], m["ratios"]["scores"][split]
            # random tiny models can score 0 on something: then the ratio is undefined (None), never inf
            assert r["overall"] == (None if not ref["overall"] else pytest.approx(sc["overall"] / ref["overall"]))
            for h, v in sc["heads"].items():
                expect = None if not ref["heads"][h] else v / ref["heads"][h]
                assert r["heads"][h] == (None if expect is None else pytest.approx(expect))
            g = m["goals"][split]
            assert g["overall"]["met"] == (None if r["overall"] is None else r["overall"] >= OVERALL_GOAL)
            assert g["every_head"]["failing"] == sorted(h for h, v in r["heads"].items() if v is not None and v < HEAD_GOAL)
    md = (out / "REPORT.md").read_text()
    assert ("**NOT met**" in md) == any(
        g[k]["met"] is False for m in res["models"][1:] for g in m["goals"].values() for k in g)


def test_goals_and_helpers():
    r = {"overall": 0.98, "all_heads": 0.9, "heads": {"a": 1.0, "b": 0.94, "c": None}}
    g = goals(r)
    assert g["overall"]["met"] is True and g["every_head"]["met"] is False
    assert g["every_head"]["failing"] == ["b"] and g["every_head"]["undefined"] == ["c"]
    assert g["every_head"]["worst_head"] == "b"
    assert goals({**r, "heads": {"a": 0.96, "c": None}})["every_head"]["met"] is None  # open, not "met"
    assert goals(None)["overall"]["met"] is None
    assert pareto_front([(1, 50), (2, 40), (3, 60), (0.5, 30), (4, 55)]) == [(0.5, 30), (1, 50), (3, 60)]
    items = [TimedItem("fast", "ort", 1, lambda: None, 200), TimedItem("slow", "ort", 64, lambda: None, 10),
             TimedItem("slow", "ort", 1, lambda: None, 200)]
    runs = _plan_runs(items, [1.0, 1000.0, 100.0], budget_s=8.0)  # the slow items alone would need 30 s
    assert runs[0] == 200 and 3 <= runs[1] <= 5 and MIN_RUNS[1] <= runs[2] < 200
    assert parse_named("a=b=c") == ("a", "b=c")
    with pytest.raises(ConfigError):
        parse_named("teacher")
    with pytest.raises(ConfigError):
        CompareConfig(models=(("a", "x"), ("a", "y")))
    with pytest.raises(ConfigError):
        CompareConfig(models=(("a", "x"),), reference="b")


def test_cli_reports_bad_input(tmp_path, capsys):
    assert _script().main(["--model", f"t={tmp_path / 'nothing'}", "--out", str(tmp_path / "o")]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_evaluation_older_than_the_weights_is_redone(setup, tmp_path):
    """A run still training rewrites its checkpoint: its old evaluation must not be reported as current."""
    from adfusion_edge.distill.compare.run import entry_scores, load_checkpoint_entry

    e = load_checkpoint_entry("student", str(setup / "student"), threads=1)
    e.stamp = Path(find_metrics(setup / "eval", e.source, "test")).stat().st_mtime + 10
    base = dict(models=(("student", str(setup / "student")),), eval_dir=str(setup / "eval"), splits=("test",),
                batch_size=8, progress=False)
    kept = entry_scores(e, CompareConfig(**base), print)["test"]
    assert kept["how"] == "found" and kept["stale"]  # nothing to evaluate with: used, and flagged
    redone = entry_scores(e, CompareConfig(**base, corpus=str(setup / "corpus"), out=str(tmp_path)), print)["test"]
    assert redone["how"] == "computed" and redone["overall"] == kept["overall"]
