"""Distillation training: the student learns from teacher outputs through the shared training loop.

``distill(cfg, dcfg, teacher)`` reuses distill/train/loop.py (checkpoints, resume, validation,
logging) with :class:`DistillTrainer`, whose loss is distill_losses.distill_losses. Teacher outputs
come from the cache (teacher_cache.py: computed once, read per batch by the collate as ``t/<name>``
tensors) or, with ``cache: false``, from a live teacher forward per batch.

Config file = a TrainConfig (YAML/JSON) plus an optional ``distill:`` section::

    name: student
    model: {name: student, config: {}}        # default when absent
    preprocess: {image_size: 128}              # default for the student: STUDENT_PREPROCESS
    data: {corpus: /data/adsynth100k}
    distill: {temperature: 2.0, kd: 1.0, hint: 1.0, task: 1.0, cache: true}
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from adfusion_edge import io_contract
from adfusion_edge.distill.kd.losses import FUSED, DistillWeights, HintProjection, distill_losses
from adfusion_edge.distill.kd.teacher_cache import TeacherCollate, ensure_teacher_cache
from adfusion_edge.distill.models.student import STUDENT_PREPROCESS
from adfusion_edge.distill.train.config import TrainConfig, read_config_data
from adfusion_edge.distill.train.loop import Trainer, TrainResult, train
from adfusion_edge.errors import ConfigError

_CACHE_FIELDS = ("cache", "cache_dir", "cache_batch_size")


@dataclass(frozen=True)
class DistillConfig:
    """The ``distill:`` section.

    Attributes:
        weights: Loss weights and temperature (DistillWeights fields sit flat in the section).
        cache: Use cached teacher outputs (built on first use) instead of a live teacher.
        cache_dir: Cache root; None = ``<corpus>/teacher_outputs``.
        cache_batch_size: Batch size of the one-off teacher pass.
    """

    weights: DistillWeights = field(default_factory=DistillWeights)
    cache: bool = True
    cache_dir: str | None = None
    cache_batch_size: int = 64

    def __post_init__(self) -> None:
        if self.cache_batch_size < 1:
            raise ConfigError(f"distill.cache_batch_size must be >= 1, got {self.cache_batch_size}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DistillConfig:
        """Flat section dict -> DistillConfig; unknown keys raise ConfigError naming them."""
        if not isinstance(d, Mapping):
            raise ConfigError(f"distill: expected a mapping, got {d!r}")
        weight_names = {f.name for f in fields(DistillWeights)}
        unknown = sorted(set(d) - weight_names - set(_CACHE_FIELDS))
        if unknown:
            raise ConfigError(f"unknown distill key(s) {unknown}; accepted: {sorted(weight_names | set(_CACHE_FIELDS))}")
        try:
            weights = DistillWeights(**{k: v for k, v in d.items() if k in weight_names})
        except TypeError as e:
            raise ConfigError(f"distill: {e}") from None
        return cls(weights, **{k: d[k] for k in _CACHE_FIELDS if k in d})

    def to_dict(self) -> dict[str, Any]:
        return {**{f.name: getattr(self.weights, f.name) for f in fields(DistillWeights)},
                **{k: getattr(self, k) for k in _CACHE_FIELDS}}


def load_distill_config(path: str | os.PathLike | None, overrides: Sequence[str] = (),
                        **top_level: Any) -> tuple[TrainConfig, DistillConfig]:
    """Read a distillation config file (TrainConfig + ``distill:`` section) with dotted overrides.

    Raises:
        ConfigError: unreadable file, unknown key or invalid value.
    """
    data = read_config_data(path, overrides, **top_level)
    section = data.pop("distill", None) or {}
    data.setdefault("model", {"name": "student"})
    if data["model"].get("name") == "student":
        data.setdefault("preprocess", STUDENT_PREPROCESS.to_dict())
    return TrainConfig.from_dict(data), DistillConfig.from_dict(section)


def _resize_images(image: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 NHWC batch -> uint8 NHWC at ``size`` (live teacher at another input size)."""
    x = image.permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


class DistillTrainer(Trainer):
    """Trainer whose loss is the distillation objective; owns the hint projection.

    Args:
        *args: Trainer's arguments.
        dcfg: DistillConfig.
        teacher: Live teacher, or None when batches carry cached ``t/<name>`` outputs.
        teacher_dim: Width of the teacher's aux/fused (the projection's output).
    """

    def __init__(self, *args: Any, dcfg: DistillConfig, teacher: nn.Module | None, teacher_dim: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.dcfg, self.teacher, self.teacher_dim = dcfg, teacher, teacher_dim

    def build_extras(self) -> list[nn.Module]:
        """The hint projection: trained with the student, kept out of its checkpoint."""
        self.hint_proj = HintProjection(_fused_dim(self.model), self.teacher_dim).to(self.rt.device)
        return [self.hint_proj]

    def setup(self) -> None:
        if self.teacher is not None:
            self.teacher.to(self.rt.device).eval()
            for p in self.teacher.parameters():
                p.requires_grad_(False)

    @torch.no_grad()
    def teacher_outputs(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Cached ``t/<name>`` entries of the batch, or a live teacher forward."""
        cached = {k[2:]: v for k, v in batch.items() if k.startswith("t/")}
        if cached:
            return cached
        if self.teacher is None:
            raise ConfigError("batch has no cached teacher outputs (t/...) and no live teacher was given")
        image, ids, mask = io_contract.positional(batch)
        size = self.teacher.preprocess.image_size
        if image.shape[1] != size:
            image = _resize_images(image, size)
        return dict(self.teacher(image, ids, mask))

    def compute_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]
                     ) -> Mapping[str, torch.Tensor]:
        teacher = self.teacher_outputs(batch)
        return distill_losses(outputs, teacher, batch, self.dcfg.weights, self.hint_proj, self.loss_weights)

    def extra_state(self) -> dict[str, Any]:
        return {"hint_proj": {k: v.detach().cpu() for k, v in self.hint_proj.state_dict().items()}}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        if "hint_proj" in state:
            self.hint_proj.load_state_dict(state["hint_proj"])


def check_compatible(teacher: nn.Module, cfg: TrainConfig, teacher_dir: str | os.PathLike | None = None) -> None:
    """Refuse a teacher whose token positions or tokenizer differ from the student's.

    Span KD compares tags token by token, so both must read the same tokens.

    Raises:
        ConfigError: different max_tokens, or a teacher checkpoint tokenizer that is not the run's.
    """
    tp = getattr(teacher, "preprocess", None)
    if tp is not None and tp.max_tokens != cfg.preprocess.max_tokens:
        raise ConfigError(f"teacher max_tokens {tp.max_tokens} != student max_tokens {cfg.preprocess.max_tokens}: "
                          "span distillation needs the same token positions")
    tok = cfg.data.tokenizer_path()
    if teacher_dir is not None and tok and Path(tok).is_file():
        t_tok = Path(teacher_dir) / "tokenizer.json"
        if t_tok.is_file() and t_tok.read_bytes() != Path(tok).read_bytes():
            raise ConfigError(f"teacher tokenizer {t_tok} differs from the run's {tok}: the student must read "
                              "the same tokens as the teacher")


@torch.no_grad()
def _fused_dim(model: nn.Module) -> int:
    """Width of an AdModel's aux/fused, from one dummy forward."""
    p = model.preprocess
    was = model.training
    model.eval()
    try:
        dev = next(model.parameters()).device
        out = model(torch.zeros(1, p.image_size, p.image_size, 3, dtype=torch.uint8, device=dev),
                      torch.zeros(1, p.max_tokens, dtype=torch.long, device=dev),
                      torch.ones(1, p.max_tokens, dtype=torch.long, device=dev))
    finally:
        model.train(was)
    if FUSED not in out:
        raise ConfigError(f"{type(model).__name__} outputs no {FUSED}: the hint loss needs it")
    return int(out[FUSED].shape[-1])


def distill(cfg: TrainConfig, dcfg: DistillConfig, teacher: nn.Module | str | os.PathLike, *,
            model: nn.Module | None = None, resume: bool | str = "auto", progress: bool = True) -> TrainResult:
    """Distil ``teacher`` into the student of ``cfg.model`` (or into ``model``, e.g. a pruned student).

    Args:
        cfg: Training run config (model, data, optimizer, steps, out_dir, ...).
        dcfg: Distillation config.
        teacher: Teacher AdModel or checkpoint directory.
        model: Student to train instead of building ``cfg.model``.
        resume: As train(): "auto", True or False.
        progress: Progress bars.

    Returns:
        The loop's TrainResult (checkpoints in cfg.out_dir: last/, best/).

    Raises:
        ConfigError: incompatible teacher, or caching requested without a shard corpus.
    """
    from adfusion_edge.distill.models.checkpoint import find_checkpoint, load_model
    from adfusion_edge.distill.train.data import build_train_data

    teacher_dir = None
    if not isinstance(teacher, nn.Module):
        teacher_dir = find_checkpoint(teacher)
        teacher = load_model(teacher_dir)
    check_compatible(teacher, cfg, teacher_dir)
    data = build_train_data(cfg)
    live: nn.Module | None = teacher
    if dcfg.cache:
        if not cfg.data.corpus:
            raise ConfigError("distill.cache needs data.corpus (a shard corpus); set distill.cache: false for "
                              "manifest data")
        device = "cuda" if cfg.device in ("auto", "cuda") and torch.cuda.is_available() else "cpu"
        cache = ensure_teacher_cache(teacher, cfg.data.corpus, cfg.data.train_split, data.tokenizer,
                                     cfg.data.text_source, root=dcfg.cache_dir, batch_size=dcfg.cache_batch_size,
                                     device=device, progress=progress, limit=cfg.data.max_train_samples)
        data.collate_fn = TeacherCollate(data.collate_fn, cache)
        teacher_dim, live = cache.feature_dim(FUSED), None
        teacher.cpu()
    else:
        teacher_dim = _fused_dim(teacher)
    trainer_cls = functools.partial(DistillTrainer, dcfg=dcfg, teacher=live, teacher_dim=teacher_dim)
    result = train(cfg, model=model, data=data, resume=resume, progress=progress,
                   trainer_cls=trainer_cls)  # type: ignore[arg-type]
    (Path(cfg.out_dir) / "distill.json").write_text(json.dumps(
        {"distill": dcfg.to_dict(), "teacher": str(teacher_dir) if teacher_dir else None}, indent=2))
    return result
