"""Training loop, config and CLI: real tiny models on a real tiny shard corpus, on CPU."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from train_fixtures import make_corpus, one_thread, tiny_config  # noqa: F401 (fixture)

from adfusion_edge import schema
from adfusion_edge.cli import main as cli_main
from adfusion_edge.distill.models import checkpoint as ckpt
from adfusion_edge.distill.train.config import TrainConfig, apply_overrides, load_config
from adfusion_edge.distill.train.data import ResumableSampler, steps_per_epoch
from adfusion_edge.distill.train.distributed import lr_factor
from adfusion_edge.distill.train.loop import Trainer, train
from adfusion_edge.errors import CheckpointError, ConfigError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


def _records(out: Path, kind: str) -> list[dict]:
    return [r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if r["kind"] == kind]


class Killed(Exception):
    """Stands for SIGKILL: the process stops between two checkpoints."""


class KillAtStep5(Trainer):
    def on_step_end(self, losses):
        if self.step == 5:
            raise Killed


def test_resume_after_kill_ends_with_identical_weights(corpus, tmp_path):
    # 3 steps per epoch; checkpoints at 2, 4, 6; killed after step 5 -> resumes mid-epoch 1 from
    # step 4. OCR noise and dropout make the data order, per-sample noise and RNG state matter.
    cfg = tiny_config(corpus, tmp_path / "full", data={"ocr_noise": 0.5})
    full = train(cfg, progress=False)
    assert full.steps == 6 and (tmp_path / "full" / "best").is_dir()

    cut = apply_overrides(cfg, [f"out_dir={json.dumps(str(tmp_path / 'cut'))}"])
    with pytest.raises(Killed):
        train(cut, trainer_cls=KillAtStep5, progress=False)
    assert ckpt.read_meta(tmp_path / "cut" / "last")["info"]["step"] == 4
    resumed = train(cut, progress=False)  # resume="auto" picks up cut/last
    assert resumed.steps == 6

    a = load_file(tmp_path / "full" / "last" / ckpt.WEIGHTS)
    b = load_file(tmp_path / "cut" / "last" / ckpt.WEIGHTS)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:5]
    sa = ckpt.load_train_state(tmp_path / "full" / "last")
    sb = ckpt.load_train_state(tmp_path / "cut" / "last")
    for pa, pb in zip(sa["optimizer"]["state"].values(), sb["optimizer"]["state"].values(), strict=True):
        assert torch.equal(pa["exp_avg_sq"], pb["exp_avg_sq"])
    # The log of the resumed run has each step once, with the uninterrupted run's losses.
    la, lb = _records(tmp_path / "full", "train"), _records(tmp_path / "cut", "train")
    assert [r["step"] for r in lb] == [1, 2, 3, 4, 5, 6]
    assert [r["loss/total"] for r in la] == [r["loss/total"] for r in lb]
    assert [r["overall"] for r in _records(tmp_path / "full", "val")] == [
        r["overall"] for r in _records(tmp_path / "cut", "val")]


def test_cli_trains_logs_and_writes_loadable_checkpoints(corpus, tmp_path, capsys):
    cfg = tiny_config(corpus, tmp_path / "run", model="early_fusion", optim={"lr": 3e-3})
    cfg_file = tmp_path / "cfg.yaml"
    cfg.save(cfg_file)
    rc = cli_main(["train", "--config", str(cfg_file), "--set", "max_steps=12", "--set", "eval_every=6",
                   "--set", "data.max_train_samples=8", "--out", str(tmp_path / "run"), "--no-progress"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 12 and summary["samples_per_s"] > 0
    out = tmp_path / "run"
    saved = TrainConfig.from_dict(json.loads((out / "config.json").read_text()))
    assert saved.max_steps == 12 and saved.model.config["vocab_size"] == 300  # resolved, not just given
    train_recs = _records(out, "train")
    # Real optimisation: 8 samples seen 12 times, the loss must fall clearly.
    assert train_recs[-1]["loss/total"] < 0.8 * train_recs[0]["loss/total"]
    assert {"loss/task", "loss/itc", "loss/mi", "lr", "samples_per_s"} <= train_recs[0].keys()
    val = _records(out, "val")
    assert [r["step"] for r in val] == [6, 12] and 0.0 <= val[-1]["overall"] <= 1.0
    assert "span_exact_match" in val[-1]["heads"]["monetary"]
    model = ckpt.load_model(out)  # best/
    assert model.describe()["config"]["vocab_size"] == 300 and not model.training
    assert (out / "last" / ckpt.TOKENIZER).is_file()


def test_resume_refuses_changed_model_and_respects_flags(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path / "r", model="resnet18_image", max_steps=2, eval_every=0)
    with pytest.raises(CheckpointError, match="last"):
        train(cfg, resume=True, progress=False)
    train(cfg, progress=False)
    with pytest.raises(CheckpointError, match="exists"):
        train(cfg, resume=False, progress=False)
    wider = apply_overrides(cfg, ["model.config.resnet_width=0.25"])
    with pytest.raises(CheckpointError, match="model differs"):
        train(wider, progress=False)


def test_a_run_saved_before_a_model_config_field_existed_still_resumes(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path / "r", model="resnet18_image", max_steps=2, eval_every=0)
    train(cfg, progress=False)
    saved_path = tmp_path / "r" / "config.json"
    saved = json.loads(saved_path.read_text())
    fields = saved["model"]["config"]
    assert fields["dropout"] == 0.1  # the field's default
    old = {k: v for k, v in fields.items() if k != "dropout"}  # as if the field came later
    saved_path.write_text(json.dumps({**saved, "model": {**saved["model"], "config": old}}))
    train(apply_overrides(cfg, ["max_steps=3"]), progress=False)  # the field holds its default: resumes
    saved_path.write_text(json.dumps({**saved, "model": {**saved["model"], "config": old}}))
    with pytest.raises(CheckpointError, match="model differs"):  # a new field away from its default
        train(apply_overrides(cfg, ["max_steps=4", "model.config.dropout=0.2"]), progress=False)


class WithExtraModule(Trainer):
    """A distillation-style extension: an extra trainable module in the loss, saved for resume."""

    initial: torch.Tensor | None = None

    def build_extras(self):
        self.proj = torch.nn.Linear(schema.head("theme").num_labels, 1).to(self.rt.device)
        WithExtraModule.initial = self.proj.weight.detach().clone()
        return [self.proj]

    def compute_loss(self, outputs, batch):
        losses = dict(super().compute_loss(outputs, batch))
        losses["extra"] = self.proj(outputs["theme"]).pow(2).mean()
        losses["total"] = losses["total"] + losses["extra"]
        return losses

    def extra_state(self):
        return {"proj": {k: v.detach().cpu() for k, v in self.proj.state_dict().items()}}


def test_build_extras_are_optimized_and_saved(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path / "e", model="resnet18_image", max_steps=2, eval_every=0)
    train(cfg, trainer_cls=WithExtraModule, progress=False)
    saved = ckpt.load_train_state(tmp_path / "e" / "last")["extra"]["proj"]["weight"]
    assert not torch.equal(saved, WithExtraModule.initial)
    assert "loss/extra" in _records(tmp_path / "e", "train")[0]


def test_missing_tokenizer_and_split_are_config_errors(corpus, tmp_path):
    cfg = tiny_config(corpus, tmp_path / "x", data={"tokenizer": str(tmp_path / "nope.json")})
    with pytest.raises(ConfigError, match="data.tokenizer"):
        train(cfg, progress=False)
    cfg = tiny_config(corpus, tmp_path / "y", data={"train_split": "nosuch"})
    with pytest.raises(ConfigError, match="data.train_split"):
        train(cfg, progress=False)


# ---- config ------------------------------------------------------------------------------------

@pytest.mark.parametrize("override, field", [
    ("optim.lr=-1", "optim.lr"), ("optim.betas=[0.9]", "optim.betas"), ("batch_size=0", "batch_size"),
    ("loss.beta=-0.5", "loss.beta"), ("loss.label_smoothing=1", "loss.label_smoothing"),
    ("data.ocr_noise=1.5", "data.ocr_noise"), ("device=tpu", "device"), ("amp=fp8", "amp"),
    ("preprocess.image_size=8", "preprocess"), ("epochs=2.5", "epochs"), ("optim.lrr=1", "optim.lrr"),
    ("deterministic=maybe", "deterministic"),
])
def test_config_errors_name_the_field(override, field):
    with pytest.raises(ConfigError) as e:
        load_config(None, [override])
    assert str(e.value).startswith(field) or field in str(e.value)


def test_config_yaml_json_round_trip_and_overrides(tmp_path):
    cfg = load_config(None, ["optim.lr=1e-3", "model.config.d_model=64", 'name="x y"', "data.corpus=/c",
                             "loss.extra.value_loss=mse", "tags.sweep=beta", "optim.betas=[0.8, 0.9]"])
    assert cfg.optim.lr == 1e-3 and cfg.model.config == {"d_model": 64} and cfg.optim.betas == (0.8, 0.9)
    assert cfg.loss.extra == {"value_loss": "mse"} and cfg.name == "x y"
    for suffix in ("yaml", "json"):
        cfg.save(tmp_path / f"c.{suffix}")
        assert load_config(tmp_path / f"c.{suffix}") == cfg
    assert yaml.safe_load((tmp_path / "c.yaml").read_text())["optim"]["lr"] == 1e-3
    assert load_config(tmp_path / "c.yaml", ["batch_size=4"], out_dir="/o").out_dir == "/o"
    with pytest.raises(ConfigError, match="key=value"):
        load_config(None, ["batch_size"])
    (tmp_path / "bad.yaml").write_text("optim: [1, 2")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(tmp_path / "bad.yaml")


# ---- schedule and data order -------------------------------------------------------------------

def test_lr_schedule_warmup_then_cosine():
    assert lr_factor(0, 4, 14, "cosine", 0.0) == pytest.approx(0.2)
    assert lr_factor(3, 4, 14, "cosine", 0.0) == pytest.approx(0.8)
    assert lr_factor(4, 4, 14, "cosine", 0.0) == pytest.approx(1.0)
    assert lr_factor(9, 4, 14, "cosine", 0.0) == pytest.approx(0.5)
    assert lr_factor(14, 4, 14, "cosine", 0.1) == pytest.approx(0.1)
    assert lr_factor(10, 4, 14, "constant", 0.0) == 1.0


class _Blocks(torch.utils.data.Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return i

    def blocks(self):
        return [range(0, 4), range(4, 8), range(8, 10)]


def test_resumable_sampler_shards_skips_and_keeps_blocks():
    ds = _Blocks()
    full = list(ResumableSampler(ds, 1, 0, seed=3))
    assert sorted(full) == list(range(10))
    # Rows of one block stay together (row-group locality of the shard cache).
    block_of = [0] * 4 + [1] * 4 + [2] * 2
    assert sum(block_of[a] != block_of[b] for a, b in itertools.pairwise(full)) == 2
    assert list(ResumableSampler(ds, 1, 0, seed=3, skip=4)) == full[4:]
    ranks = [list(ResumableSampler(ds, 3, r, seed=3)) for r in range(3)]
    assert all(len(r) == 4 for r in ranks) and set(sum(ranks, [])) == set(range(10))
    s = ResumableSampler(ds, 1, 0, seed=3)
    s.set_epoch(1)
    assert list(s) != full
    assert steps_per_epoch(10, 4, 1) == 2 and steps_per_epoch(3, 4, 1) == 1


def test_a_fine_tune_of_a_checkpoint_builds_its_model_and_trains_only_the_named_parameters(corpus, tmp_path):
    base = tiny_config(corpus, tmp_path / "base", model="resnet18_image", max_steps=2, eval_every=0)
    train(base, progress=False)
    tune = TrainConfig.from_dict({**base.to_dict(), "out_dir": str(tmp_path / "tune"), "model": {
        "name": "resnet18_image", "init_from": str(tmp_path / "base"), "trainable": ["heads.heads.theme"]}})
    train(tune, progress=False)
    # config.json records the checkpoint's own model config, so the run resumes and exports as it.
    saved = json.loads((tmp_path / "tune" / "config.json").read_text())["model"]
    assert saved["config"] == json.loads((tmp_path / "base" / "config.json").read_text())["model"]["config"]
    assert saved["trainable"] == ["heads.heads.theme"]
    a = load_file(tmp_path / "base" / "last" / ckpt.WEIGHTS)
    b = load_file(tmp_path / "tune" / "last" / ckpt.WEIGHTS)
    moved = sorted(k for k in a if not torch.equal(a[k], b[k]))
    assert moved and all(k.startswith("heads.heads.theme") for k in moved), moved
    assert not any(k.startswith("trunk") or "sentiment" in k for k in moved)


def test_a_fine_tune_names_what_does_not_fit(corpus, tmp_path):
    base = tiny_config(corpus, tmp_path / "base", model="resnet18_image", max_steps=1, eval_every=0)
    train(base, progress=False)

    def tune(**model):
        return TrainConfig.from_dict({**base.to_dict(), "out_dir": str(tmp_path / "t"),
                                      "model": {"init_from": str(tmp_path / "base"), **model}})

    with pytest.raises(ConfigError, match="names no trainable parameter"):
        train(tune(name="resnet18_image", trainable=["heads.heads.themes_typo"]), progress=False)
    with pytest.raises(ConfigError, match="holds a 'resnet18_image' model"):
        train(tune(name="adfusionnet"), progress=False)
    with pytest.raises(ConfigError, match="model.trainable"):
        tune(name="resnet18_image", trainable=[""])
