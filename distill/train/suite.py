"""The whole experiments section in one call: train every baseline, the teacher, the ablations and
an alpha/beta/gamma sweep on one corpus and budget, evaluate them, write the report.

Runs (each in ``<runs_dir>/<name>``, resumable: re-running the suite finishes what a kill stopped
and only re-validates finished runs):

* Table 1: resnet18_image, vit_image, distilbert_text, roberta_text, early_fusion, late_fusion,
  clip_dual (two phases: ITC pre-training ``clip_dual_itc``, then a linear probe on frozen
  encoders initialised from it, as CLIP is used), adfusionnet (the teacher; also Table 2 "full").
* Text initialisation: the teacher once more with its text encoder initialised from the
  pretrained all-MiniLM-L6-v2 (``adfusionnet_minilm``, its own bert-base-uncased vocabulary) next
  to the from-scratch DistilBERT of ``adfusionnet``; both rows go to Table 1.
* Table 2: adfusionnet.ABLATION_PRESETS (no_xattn, no_multiscale, no_itc, no_mi).
* Figure 2: the teacher with one of alpha / beta / gamma changed (SWEEP_VALUES).

Scale presets: "cpu" (adfusionnet.CPU_SCALE widths and matching baseline widths: minutes per run
on 2 cores at image 96-160) or "paper" (the registered defaults: ResNet-18 + DistilBERT-base).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adfusion_edge.distill.train.config import TrainConfig

TABLE1_MODELS: tuple[str, ...] = ("resnet18_image", "vit_image", "distilbert_text", "roberta_text",
                                  "early_fusion", "late_fusion", "clip_dual", "adfusionnet")
# One changed value per weight next to the teacher's (alpha 1, beta 0.1, gamma 0.1): three more
# teacher runs is what a 2-core machine affords; pass more values on a GPU.
SWEEP_VALUES: dict[str, tuple[float, ...]] = {"alpha": (0.5,), "beta": (1.0,), "gamma": (1.0,)}
_TEXT_KEYS = ("text_dim", "text_layers", "text_heads", "text_ffn", "max_positions")


def scale_preset(preset: str) -> dict[str, dict[str, Any]]:
    """Model config overrides per registry name for a scale preset ("cpu" or "paper")."""
    if preset == "paper":
        return {}
    if preset != "cpu":
        from adfusion_edge.errors import ConfigError

        raise ConfigError(f"preset must be 'cpu' or 'paper', got {preset!r}")
    from adfusion_edge.distill.models.adfusionnet import CPU_SCALE

    text = {k: CPU_SCALE[k] for k in _TEXT_KEYS}
    width = {"resnet_width": CPU_SCALE["resnet_width"]}
    return {
        "adfusionnet": dict(CPU_SCALE), "adfusionnet_no_xattn": dict(CPU_SCALE),
        "adfusionnet_no_multiscale": dict(CPU_SCALE),
        "resnet18_image": width,
        "vit_image": {"vit_dim": 192, "vit_layers": 6, "vit_heads": 3, "vit_ffn": 384},
        "distilbert_text": text, "roberta_text": text,
        "early_fusion": {**text, **width, "d_model": CPU_SCALE["d_model"]},
        "late_fusion": {**text, **width},
        "clip_dual": {**text, **width, "embed_dim": CPU_SCALE["d_model"]},
    }


@dataclass(frozen=True)
class SuiteConfig:
    """Budget and scope of a suite run (see scripts/train_all.py for the command line)."""

    corpus: str
    runs_dir: str = "runs/suite"
    report_dir: str = "reports/teacher"
    preset: str = "cpu"
    image_size: int = 160
    max_tokens: int = 64
    max_steps: int = 0
    epochs: int = 3
    batch_size: int = 32
    lr: float = 3e-4
    device: str = "auto"
    seed: int = 0
    models: tuple[str, ...] = TABLE1_MODELS
    ablations: bool = True
    sweep: bool = True
    pretrained_text: bool = True
    splits: tuple[str, ...] = ("test", "shift")
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    num_workers: int = 0
    model_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


def _base(s: SuiteConfig, name: str, model: str, config: dict[str, Any], tags: dict[str, Any],
          loss: dict[str, Any] | None = None, init_from: str | None = None) -> TrainConfig:
    steps_hint = s.max_steps or 1000
    return TrainConfig.from_dict({
        "name": name,
        "model": {"name": model, "config": {**config, **s.model_overrides.get(model, {})}, "init_from": init_from},
        "preprocess": {"image_size": s.image_size, "max_tokens": s.max_tokens},
        "data": {"corpus": s.corpus, "max_train_samples": s.max_train_samples,
                 "max_val_samples": s.max_eval_samples, "num_workers": s.num_workers},
        "optim": {"lr": s.lr, "warmup_steps": max(1, min(200, steps_hint // 10))},
        "loss": loss or {},
        "epochs": s.epochs, "max_steps": s.max_steps, "batch_size": s.batch_size,
        "eval_every": max(1, min(500, steps_hint // 4)), "checkpoint_every": max(1, min(200, steps_hint // 4)),
        "log_every": 10,
        "seed": s.seed, "device": s.device, "out_dir": str(Path(s.runs_dir) / name), "tags": tags,
    })


def plan(s: SuiteConfig) -> list[TrainConfig]:
    """Every TrainConfig of the suite, in training order (clip_dual's ITC phase before its probe)."""
    from adfusion_edge.distill.models.adfusionnet import ABLATION_PRESETS
    from adfusion_edge.distill.models.baselines import CLIP_PRETRAIN_WEIGHTS

    scale = scale_preset(s.preset)
    runs: list[TrainConfig] = []
    for m in s.models:
        cfg = dict(scale.get(m, {}))
        if m == "clip_dual":
            itc = _base(s, "clip_dual_itc", m, cfg, {"table1": False, "phase": "itc"}, dict(CLIP_PRETRAIN_WEIGHTS))
            runs.append(itc)
            runs.append(_base(s, m, m, {**cfg, "freeze_encoders": True}, {"table1": True},
                              init_from=str(Path(itc.out_dir) / "last")))
        elif m == "adfusionnet":
            runs.append(_base(s, m, m, cfg, {"table1": True, "ablation": "full"}))
            if s.pretrained_text:
                runs.append(_base(s, "adfusionnet_minilm", m, {**cfg, "text_encoder": "minilm"},
                                  {"table1": True, "text_init": "minilm"}))
        else:
            runs.append(_base(s, m, m, cfg, {"table1": True}))
    if s.ablations:
        for key, (model, overrides, loss) in ABLATION_PRESETS.items():
            if key != "full":
                runs.append(_base(s, f"ablation_{key}", model, {**scale.get(model, {}), **overrides},
                                  {"ablation": key}, dict(loss)))
    if s.sweep:
        for w, values in SWEEP_VALUES.items():
            for v in values:
                runs.append(_base(s, f"sweep_{w}_{v:g}", "adfusionnet", dict(scale.get("adfusionnet", {})),
                                  {"sweep": w, "value": v}, {w: v}))
    return runs


def run_suite(s: SuiteConfig, command: str = "", progress: bool = True) -> Path:
    """Train (or resume) every run of :func:`plan`, evaluate, write ``<report_dir>/REPORT.md``."""
    from adfusion_edge.distill.evaluate.cli import evaluate_all
    from adfusion_edge.distill.train.loop import train
    from adfusion_edge.distill.train.suite_report import write_report

    configs = plan(s)
    trained: list[dict[str, Any]] = []
    for cfg in configs:
        t0 = time.perf_counter()
        print(f"suite: training {cfg.name} ({cfg.model.name}) -> {cfg.out_dir}", flush=True)
        res = train(cfg, resume="auto", progress=progress)
        entry = {"name": cfg.name, "model": cfg.model.name, "out_dir": cfg.out_dir, "steps": res.steps,
                 "samples_per_s": res.samples_per_s, "wall_s": time.perf_counter() - t0,
                 "best_score": res.best_score}
        if not res.samples_per_s:  # finished earlier: report the training that did the work
            entry.update(_trained_summary(Path(cfg.out_dir)))
        trained.append(entry)
    evaluated = [c.out_dir for c in configs if c.tags.get("phase") != "itc"]
    runs = evaluate_all(evaluated, s.corpus, s.splits, s.report_dir, max_samples=s.max_eval_samples,
                        device=s.device, num_workers=s.num_workers, reuse=True)
    (Path(s.report_dir) / "training.json").write_text(json.dumps(trained, indent=2))
    return write_report(s, configs, trained, runs, command or _default_command(s))


def _trained_summary(out_dir: Path) -> dict[str, float]:
    """Throughput and training seconds of the last training session that did steps (metrics.jsonl)."""
    found: dict[str, float] = {}
    try:
        lines = (out_dir / "metrics.jsonl").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("kind") == "summary" and rec.get("samples_per_s"):
            found = {"samples_per_s": float(rec["samples_per_s"]), "wall_s": float(rec.get("train_s", 0.0))}
    return found


def _default_command(s: SuiteConfig) -> str:
    args = [f"--corpus {s.corpus}", f"--runs-dir {s.runs_dir}", f"--report-dir {s.report_dir}",
            f"--preset {s.preset}", f"--image-size {s.image_size}", f"--batch-size {s.batch_size}",
            f"--steps {s.max_steps}" if s.max_steps else f"--epochs {s.epochs}"]
    return "python scripts/train_all.py " + " ".join(args)


def suite_from_args(values: dict[str, Any]) -> SuiteConfig:
    """SuiteConfig from parsed command-line values (None = default)."""
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if v is not None}
    return SuiteConfig(**kw)
