"""End to end through the CLI: tiny teacher -> cached outputs -> distil -> prune -> KD fine-tune -> reload."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from model_fixtures import TINY, make_batch, run
from student_fixtures import TINY_STUDENT
from train_fixtures import make_corpus

from adfusion_edge import schema
from adfusion_edge.cli import main
from adfusion_edge.distill.kd.teacher_cache import CACHE_DIRNAME
from adfusion_edge.distill.models import registry
from adfusion_edge.distill.models.checkpoint import load_model, load_train_state, save_model
from adfusion_edge.preprocess import PreprocessConfig

PRE = PreprocessConfig(image_size=32, max_tokens=16)



def _config(corpus, out, **top):
    return {
        "name": "distil-tiny", "model": {"name": "student", "config": TINY_STUDENT},
        "preprocess": PRE.to_dict(), "data": {"corpus": str(corpus)},
        "optim": {"lr": 2e-3, "warmup_steps": 1}, "batch_size": 8, "max_steps": 4, "eval_every": 4,
        "checkpoint_every": 2, "log_every": 1, "device": "cpu", "out_dir": str(out),
        "distill": {"temperature": 2.0, "kd": 1.0, "hint": 1.0, "task": 0.5, "attention": 0.5}, **top,
    }


def test_teacher_to_pruned_student(tmp_path, tokenizer_file):
    corpus = make_corpus(tmp_path / "corpus", {"train": 24, "val": 8})
    torch.manual_seed(0)
    teacher = registry.create_model("adfusionnet", PRE, **TINY["adfusionnet"])
    save_model(teacher, tmp_path / "teacher", tokenizer=corpus / "tokenizer.json")
    cfg_file = tmp_path / "distill.yaml"
    cfg_file.write_text(yaml.safe_dump(_config(corpus, tmp_path / "student")))

    # 1. Distil with cached teacher outputs.
    assert main(["distill", "--teacher", str(tmp_path / "teacher"), "--config", str(cfg_file), "--no-progress"]) == 0
    run_dir = tmp_path / "student"
    assert (run_dir / "last" / "model.safetensors").is_file() and (run_dir / "distill.json").is_file()
    assert list((corpus / CACHE_DIRNAME).glob("*/train.safetensors"))
    logs = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    train_logs = [r for r in logs if r.get("kind") == "train"]
    assert len(train_logs) == 4
    for key in ("loss/kd", "loss/hint", "loss/attention", "loss/gt", "loss/kd/monetary_span"):
        assert all(r[key] > 0 for r in train_logs), key
    assert any(r.get("kind") == "val" for r in logs)
    state = load_train_state(run_dir / "last")
    assert state["extra"]["hint_proj"]["proj.weight"].shape == (TINY["adfusionnet"]["d_model"], TINY_STUDENT["fused_dim"])
    student_params = len(list(load_model(run_dir / "last").parameters()))
    optimized = sum(len(g["params"]) for g in state["optimizer"]["param_groups"])
    assert optimized == student_params + 2  # + the hint projection's weight and bias

    # 2. Resume to more steps: the hint projection and its optimizer state come back.
    assert main(["distill", "--teacher", str(tmp_path / "teacher"), "--config", str(cfg_file), "--no-progress",
                 "--set", "max_steps=6"]) == 0
    assert load_train_state(run_dir / "last")["step"] == 6

    # 3. Prune to 70% of the parameters, then KD fine-tune from the unpruned student.
    out = tmp_path / "pruned"
    assert main(["prune", "--model", str(run_dir / "last"), "--target", "params=0.7", "--out", str(out),
                 "--finetune-steps", "2", "--config", str(cfg_file), "--step", "0.1", "--no-progress"]) == 0
    report = json.loads((out / "prune_report.json").read_text())
    assert report["reached"] and report["history"][-1]["params"] <= 0.7 * report["history"][0]["params"]
    pruned = load_model(out / "pruned")
    assert pruned.config.text_dim < TINY_STUDENT["text_dim"] or pruned.config.block_out != TINY_STUDENT["block_out"]
    assert pruned.num_parameters() == report["history"][-1]["params"]
    assert (out / "finetune" / "last" / "tokenizer.json").is_file()

    # 4. The fine-tuned pruned student reloads from config + safetensors alone, bit-exactly.
    a, b = load_model(out / "finetune" / "last"), load_model(out / "finetune" / "last")
    assert a.config == pruned.config
    assert not torch.equal(a.fuse.weight, pruned.fuse.weight)  # fine-tuning changed it
    batch = make_batch(tokenizer_file, n=3)
    batch = {**batch, "image": torch.nn.functional.interpolate(
        batch["image"].permute(0, 3, 1, 2).float(), size=(32, 32)).round().to(torch.uint8).permute(0, 2, 3, 1)}
    oa, ob = run(a, batch), run(b, batch)
    for k in schema.output_names():
        assert torch.equal(oa[k], ob[k]), k


def test_live_teacher_at_another_image_size(tmp_path):
    from adfusion_edge.distill.kd.distiller import DistillConfig, distill
    from adfusion_edge.distill.kd.losses import DistillWeights
    from adfusion_edge.distill.train.config import TrainConfig

    corpus = make_corpus(tmp_path / "corpus", {"train": 16})
    torch.manual_seed(0)
    teacher = registry.create_model("student", PreprocessConfig(image_size=64, max_tokens=16),
                                    **{**TINY_STUDENT, "fused_dim": 40})
    data = _config(corpus, tmp_path / "run", max_steps=2, eval_every=0, checkpoint_every=0)
    data.pop("distill")
    cfg = TrainConfig.from_dict(data)
    dcfg = DistillConfig(DistillWeights(task=0.0, attention=1.0), cache=False)
    result = distill(cfg, dcfg, teacher, progress=False)
    assert result.steps == 2
    assert not list(corpus.glob(f"{CACHE_DIRNAME}/*"))  # live: nothing cached
    logs = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["loss/kd"] > 0 and r["loss/hint"] > 0 and r["loss/gt"] == 0 for r in logs if r["kind"] == "train")


def test_incompatible_teacher_and_bad_config_are_refused(tmp_path):
    from adfusion_edge.distill.kd.distiller import check_compatible, load_distill_config
    from adfusion_edge.distill.train.config import TrainConfig
    from adfusion_edge.errors import ConfigError

    corpus = make_corpus(tmp_path / "corpus", {"train": 8})
    data = _config(corpus, tmp_path / "run")
    data.pop("distill")
    cfg = TrainConfig.from_dict(data)
    teacher = registry.create_model("student", PreprocessConfig(image_size=32, max_tokens=32),
                                    **{**TINY_STUDENT, "max_positions": 32})
    with pytest.raises(ConfigError, match="max_tokens"):
        check_compatible(teacher, cfg)
    ok = registry.create_model("student", PRE, **TINY_STUDENT)
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "tokenizer.json").write_text("{}")
    with pytest.raises(ConfigError, match="tokenizer"):
        check_compatible(ok, cfg, tmp_path / "t")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**data, "distill": {"temprature": 2.0}}))
    with pytest.raises(ConfigError, match="temprature"):
        load_distill_config(bad)
    cfg2, dcfg = load_distill_config(None, ["distill.temperature=4", f"data.corpus={corpus}"])
    assert cfg2.model.name == "student" and dcfg.weights.temperature == 4.0
    assert cfg2.preprocess.image_size == 128  # the student's measured default (STUDENT_PREPROCESS)
