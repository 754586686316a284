"""The training loop: ``train(cfg) -> TrainResult`` for the teacher, baselines and ablations.

One process or many (``torchrun --nproc_per_node=N -m adfusion_edge train ...``: DDP, one GPU per
rank, DistributedSampler order, only rank 0 logs and writes). AdamW + warm-up/cosine LR, gradient
clipping, AMP on CUDA (bf16, or fp16 with a GradScaler), periodic validation that keeps ``best/``
by the paper's overall score, ``last/`` for resuming, ``metrics.jsonl`` and throughput.

Outputs in ``cfg.out_dir``: config.json (resolved), metrics.jsonl, last/, best/ (checkpoint.py).

Resuming (``resume="auto"`` resumes when ``last/`` exists) restores weights, optimizer, scheduler,
scaler, step, epoch, position inside the epoch and the python/numpy/torch RNG states, so a resumed
run ends with the same weights as an uninterrupted one (bit-exact on CPU with num_workers=0;
on CUDA also with cfg.deterministic; augmentation in worker processes must draw from per-sample
seeds for exactness, which is the dataset's job).

Extension points (distillation reuses this loop):

* ``train(cfg, loss_fn=fn)``: ``fn(outputs, batch) -> {"total": tensor, ...}``, called inside
  autocast on this rank's device; every entry is logged as ``loss/<key>``. Default:
  ``distill.train.losses.compute_losses(outputs, batch, LossWeights(...cfg.loss))``.
* ``train(cfg, model=m)``: train a model built elsewhere (e.g. a pruned student); it must follow
  the AdModel contract so ``describe()`` can rebuild it from the checkpoint.
* Subclass :class:`Trainer` for stateful extensions: ``setup()`` (runs once the device is known:
  move a frozen teacher there), ``build_extras()`` (extra trainable modules, e.g. a hint
  projection, optimized with the model), ``compute_loss()``, ``extra_state()`` / ``load_extra_state()``
  (saved in train_state.pt; plain tensors/numbers only), ``on_validation(metrics)`` and
  ``on_step_end(losses)``; then
  ``train(cfg, trainer_cls=MyTrainer)``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from adfusion_edge import io_contract
from adfusion_edge.distill.evaluate.evaluator import evaluate_model
from adfusion_edge.distill.models import checkpoint as ckpt
from adfusion_edge.distill.models.text_encoders import SCRATCH_ENCODERS, vocab_size_of
from adfusion_edge.distill.train.config import ModelSection, TrainConfig
from adfusion_edge.distill.train.data import (
    TrainData,
    build_train_data,
    eval_loader,
    steps_per_epoch,
    train_loader,
)
from adfusion_edge.distill.train.distributed import (
    Runtime,
    lr_factor,
    seed_everything,
    setup_runtime,
    teardown_runtime,
)
from adfusion_edge.errors import CheckpointError, ConfigError
from adfusion_edge.preprocess import PreprocessConfig

LossFn = Callable[[Mapping[str, torch.Tensor], Mapping[str, Any]], Mapping[str, torch.Tensor]]


@dataclass
class TrainResult:
    """What a finished run produced.

    Attributes:
        out_dir: The run directory.
        last_dir / best_dir: Checkpoint directories (best_dir None without validation data).
        steps: Optimizer steps done in total (including before a resume).
        best_score: Best validation ``overall`` (or ``all_heads`` when overall is undefined).
        val_metrics: Metrics of the last validation.
        samples_per_s: Mean training throughput of this process group (samples/s, all ranks).
        wall_s: Wall time of this invocation.
    """

    out_dir: Path
    last_dir: Path
    best_dir: Path | None
    steps: int
    best_score: float | None
    val_metrics: dict[str, Any] | None
    samples_per_s: float
    wall_s: float
    history: list[dict[str, Any]] = field(default_factory=list)


def score_of(metrics: Mapping[str, Any]) -> float | None:
    """Model-selection score: the Table 1 ``overall``, else ``all_heads``."""
    for key in ("overall", "all_heads"):
        if metrics.get(key) is not None:
            return float(metrics[key])
    return None


class Trainer:
    """One training run; see the module docstring for the override points."""

    def __init__(self, cfg: TrainConfig, loss_fn: LossFn | None = None, model: nn.Module | None = None,
                 data: TrainData | None = None, resume: bool | str = "auto", progress: bool = True):
        self.cfg, self.loss_fn, self.data = cfg, loss_fn, data
        self._given_model, self.resume, self.progress = model, resume, progress
        self.out = Path(cfg.out_dir)
        self.history: list[dict[str, Any]] = []
        # Running label frequencies for LossWeights.logit_adjust, made on the first loss that needs them
        # (not saved: after a resume they are re-estimated from the batches that follow).
        self._label_priors: Any = None
        # MiniLM for LossWeights.text_distill, loaded on the first loss that needs it (memo not saved).
        self._text_teacher: Any = None

    # ---- override points ---------------------------------------------------------------------

    def setup(self) -> None:
        """Called once the runtime, model and data exist (``self.rt``, ``self.model``)."""

    def compute_loss(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, Any]) -> Mapping[str, torch.Tensor]:
        """Loss dict with a "total" entry; default: loss_fn or distill.train.losses.compute_losses."""
        if self.loss_fn is not None:
            return self.loss_fn(outputs, batch)
        from adfusion_edge.distill.train.losses import LabelPriors, compute_losses

        weights = self.loss_weights
        if weights.logit_adjust and self._label_priors is None:
            self._label_priors = LabelPriors(tuple(h for h, _ in weights.logit_adjust))
        targets = None
        if weights.text_distill:
            if self._text_teacher is None:
                from adfusion_edge.distill.train.text_teacher import SentenceTeacher

                self._text_teacher = SentenceTeacher()
            targets = self._text_teacher(batch["input_ids"], batch["attention_mask"])
        return compute_losses(outputs, batch, weights, self._label_priors, targets)

    def build_extras(self) -> list[nn.Module]:
        """Extra trainable modules (e.g. a distillation hint projection), built on ``self.rt.device``.

        Called once the model is on its device and before the optimizer exists: the returned
        modules' trainable parameters are optimized with the model's (same LR schedule, same
        decay rule). Save their weights through :meth:`extra_state` / :meth:`load_extra_state`.
        """
        return []

    def extra_state(self) -> dict[str, Any]:
        """Additional resumable state (plain tensors / numbers / containers)."""
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`extra_state`."""

    def on_validation(self, metrics: Mapping[str, Any]) -> None:
        """Called on rank 0 after each validation."""

    def on_step_end(self, losses: Mapping[str, torch.Tensor]) -> None:
        """Called on every rank after each optimizer step (and its logging/eval/checkpoint).

        ``losses`` holds detached device tensors ("loss/<key>"); ``float()`` them only when needed
        (each conversion waits for the GPU).
        """

    # ---- construction ------------------------------------------------------------------------

    @property
    def loss_weights(self) -> Any:
        from adfusion_edge.distill.train.losses import LossWeights

        lw = self.cfg.loss
        return LossWeights(alpha=lw.alpha, beta=lw.beta, gamma=lw.gamma, label_smoothing=lw.label_smoothing,
                           **lw.extra)

    def build_model(self, vocab_size: int | None = None) -> nn.Module:
        """The model named by cfg.model; ``vocab_size`` (the tokenizer's) fills in when unset."""
        from adfusion_edge.distill.models.registry import create_model

        name, config = self.cfg.model.name, dict(self.cfg.model.config)
        if vocab_size is not None and "vocab_size" not in config:
            try:
                return create_model(name, preprocess=self.cfg.preprocess, **config, vocab_size=vocab_size)
            except ConfigError as e:
                if "vocab_size" not in str(e):
                    raise  # a model without text input takes no vocab_size: retry without it
        return create_model(name, preprocess=self.cfg.preprocess, **config)

    def _build(self) -> None:
        cfg = self.cfg
        self.rt: Runtime = setup_runtime(cfg)
        seed_everything(cfg.seed, cfg.deterministic)
        if cfg.model.init_from and not cfg.model.config and self._given_model is None:
            self.cfg = cfg = _with_init_model(cfg)
        tok = cfg.data.tokenizer_path()
        vocab = self.data.vocab_size if self.data is not None else (
            vocab_size_of(tok) if tok and Path(tok).is_file() else None)
        model = self._given_model if self._given_model is not None else self.build_model(vocab)
        if self.data is None:
            # A pretrained text encoder brings its own vocabulary (and tokenizer file).
            self.data = build_train_data(cfg, tokenizer=getattr(model, "tokenizer_path", None))
        mcfg = getattr(model, "config", None)
        if getattr(mcfg, "text_encoder", None) in SCRATCH_ENCODERS and self.data.vocab_size and (
                mcfg.vocab_size < self.data.vocab_size):
            raise ConfigError(f"model.config.vocab_size {mcfg.vocab_size} < tokenizer vocabulary "
                              f"{self.data.vocab_size} ({self.data.tokenizer})")
        if hasattr(model, "describe"):
            # The resolved config (defaults and vocab_size filled in) is what config.json records.
            ident = model.describe()
            self.cfg = cfg = dataclasses.replace(
                cfg, model=ModelSection(ident["name"], ident["config"], cfg.model.init_from, cfg.model.trainable))
        if cfg.model.init_from:
            ckpt.load_weights(model, ckpt.find_checkpoint(cfg.model.init_from))  # _maybe_resume overrides
        if cfg.model.trainable:
            freeze_except(model, cfg.model.trainable)
        self.model = model.to(self.rt.device)
        self.ddp_model: nn.Module = self.model
        if self.rt.distributed:
            # Ablations leave some parameters without gradient (e.g. no ITC projection use).
            ids = [self.rt.local_rank] if self.rt.device.type == "cuda" else None
            self.ddp_model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids,
                                                                 find_unused_parameters=True)
        o = cfg.optim
        self.extras = self.build_extras()
        self._extra_params = [p for m in self.extras for p in m.parameters() if p.requires_grad]
        params = [p for m in [self.model, *self.extras] for p in m.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        # Norm scales and biases are not weight-decayed (standard AdamW practice).
        groups = [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        self.optimizer = torch.optim.AdamW(
            [g for g in groups if g["params"]],
            lr=o.lr, betas=o.betas, eps=o.eps, fused=self.rt.device.type == "cuda" or None)
        self.steps_per_epoch = steps_per_epoch(len(self.data.train), cfg.batch_size, self.rt.world_size)
        self.total_steps = cfg.max_steps or cfg.epochs * self.steps_per_epoch
        warm, total = o.warmup_steps, self.total_steps
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(s, warm, total, o.schedule, o.min_lr_ratio))
        self.scaler = torch.amp.GradScaler(self.rt.device.type, enabled=self.rt.amp_dtype == torch.float16)
        self.step = self.epoch = self.pos = 0
        self.best_score: float | None = None
        self.val_metrics: dict[str, Any] | None = None

    # ---- state -------------------------------------------------------------------------------

    def _train_state(self) -> dict[str, Any]:
        return {
            "step": self.step, "epoch": self.epoch, "batch_in_epoch": self.pos,
            "best_score": self.best_score, "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "rng": ckpt.rng_state(), "world_size": self.rt.world_size, "extra": self.extra_state(),
        }

    def _as_saved(self, section: str, saved: Any) -> Any:
        """This run's ``section`` of the config as a run saved before some model config fields existed
        would have written it: a field the saved model config lacks is left out when it holds its
        default (fields are added with the old behaviour as default), so such runs still resume."""
        current = self.cfg.to_dict()[section]
        config = getattr(self.model, "config", None)
        if section != "model" or not isinstance(saved, dict) or not dataclasses.is_dataclass(config):
            return current
        defaults = {f.name: f.default for f in dataclasses.fields(config) if f.default is not dataclasses.MISSING}
        mine, theirs = dict(current.get("config") or {}), saved.get("config") or {}
        for key in [k for k in mine if k not in theirs]:
            if key in defaults and json.loads(json.dumps(defaults[key])) == mine[key]:
                del mine[key]
        return {**current, "config": mine}

    def _maybe_resume(self) -> None:
        last = self.out / "last"
        try:
            found = ckpt.resolve_checkpoint(last)
        except CheckpointError:
            if self.resume is True:
                raise
            return
        if self.resume is False:
            raise CheckpointError(f"{last} exists; resume it, or choose a new out_dir")
        saved = json.loads((self.out / "config.json").read_text()) if (self.out / "config.json").is_file() else {}
        for section in ("model", "preprocess"):
            if saved and saved.get(section) != self._as_saved(section, saved.get(section)):
                raise CheckpointError(f"{self.out / 'config.json'}: {section} differs from the run being resumed")
        ckpt.read_meta(found)
        ckpt.load_weights(self.model, found)
        st = ckpt.load_train_state(found)
        if st.get("world_size", 1) != self.rt.world_size:
            raise CheckpointError(f"{found}: saved with world_size {st.get('world_size')}, "
                                  f"now {self.rt.world_size}: the data order would differ")
        self.optimizer.load_state_dict(st["optimizer"])
        self.scheduler.load_state_dict(st["scheduler"])
        if st.get("scaler"):
            self.scaler.load_state_dict(st["scaler"])
        self.step, self.epoch, self.pos = int(st["step"]), int(st["epoch"]), int(st["batch_in_epoch"])
        self.best_score = st.get("best_score")
        self.load_extra_state(st.get("extra", {}))
        ckpt.set_rng_state(st["rng"])

    def _save(self, name: str, with_state: bool, info: Mapping[str, Any]) -> None:
        if self.rt.is_main:
            ckpt.save_checkpoint(self.out / name, self.model, self._train_state() if with_state else None,
                                 info={"step": self.step, "run": self.cfg.name, **info},
                                 tokenizer=self.data.tokenizer)
        self.rt.barrier()

    # ---- logging -----------------------------------------------------------------------------

    def _log(self, record: dict[str, Any]) -> None:
        self.history.append(record)
        if self.rt.is_main:
            with open(self.out / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record, default=float) + "\n")

    def _truncate_log(self, step: int) -> None:
        # Records written after the checkpoint by an interrupted run will be replayed; drop them
        # (all of them on a fresh start at step 0).
        path = self.out / "metrics.jsonl"
        if path.is_file():
            keep = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln).get("step", 0) <= step]
            path.write_text("".join(ln + "\n" for ln in keep))

    # ---- the loop ----------------------------------------------------------------------------

    def _to_device(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        nb = self.rt.device.type == "cuda"
        return {k: v.to(self.rt.device, non_blocking=nb) if torch.is_tensor(v) else v for k, v in batch.items()}

    def _train_step(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        with self.rt.autocast():
            outputs = self.ddp_model(*io_contract.positional(batch))
            losses = self.compute_loss(outputs, batch)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(losses["total"]).backward()
        if self.rt.distributed and self.extras:
            # Extras live outside DDP (they are not in its forward): average their grads by hand.
            for p in self._extra_params:
                if p.grad is not None:
                    torch.distributed.all_reduce(p.grad)
                    p.grad /= self.rt.world_size
        if self.cfg.optim.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)  # clip true gradients, not scaled ones
            nn.utils.clip_grad_norm_([*self.model.parameters(), *self._extra_params], self.cfg.optim.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        # Detached device tensors: converting to floats here would sync the GPU every step.
        return {f"loss/{k}": v.detach().float() for k, v in losses.items()}

    def _skip_batch(self, batch: Mapping[str, Any] | None) -> bool:
        if not self.rt.distributed:
            return batch is None
        # All ranks must skip together, or DDP's gradient all-reduce would wait forever.
        flag = torch.tensor([float(batch is None)], device=self.rt.device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        return bool(flag.item())

    def _window_record(self, window: list[dict[str, torch.Tensor]]) -> dict[str, Any]:
        rec = {k: float(torch.stack([d[k] for d in window]).mean()) for k in window[-1]}
        if not all(map(math.isfinite, rec.values())):
            raise FloatingPointError(f"non-finite loss by step {self.step}: {rec}")
        return rec

    def validate(self) -> dict[str, Any] | None:
        """Metrics on the validation split (rank 0 only; other ranks wait)."""
        metrics = None
        if self.rt.is_main and self.data.val is not None:
            loader = eval_loader(self.data.val, self.cfg, self.data.eval_collate_fn or self.data.collate_fn)
            metrics = evaluate_model(self.model, loader, self.rt.device, self.rt.amp_dtype)
            self._log({"kind": "val", "step": self.step, "epoch": self.epoch, **metrics})
            self.on_validation(metrics)
        self.rt.barrier()
        return metrics

    def _after_validation(self, metrics: dict[str, Any] | None) -> None:
        self.val_metrics = metrics
        if not self.rt.is_main:
            return
        score = None if metrics is None else score_of(metrics)
        if score is not None and (self.best_score is None or score > self.best_score):
            self.best_score = score
            ckpt.save_checkpoint(self.out / "best", self.model, None, tokenizer=self.data.tokenizer,
                                 info={"step": self.step, "run": self.cfg.name, "score": score,
                                       "overall": metrics.get("overall"), "all_heads": metrics.get("all_heads")})

    def fit(self) -> TrainResult:
        """Run (or resume) training to ``total_steps``; returns the TrainResult."""
        t_start = time.perf_counter()
        self._build()
        if self.rt.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
        self._maybe_resume()
        if self.rt.is_main:
            self.cfg.save(self.out / "config.json")
            self._truncate_log(self.step)  # drop what a killed run logged after its last checkpoint
        self.setup()
        cfg, rt = self.cfg, self.rt
        bar = None
        if rt.is_main and self.progress:
            from tqdm import tqdm

            bar = tqdm(total=self.total_steps, initial=self.step, desc=cfg.name, unit="step", dynamic_ncols=True)
        self.model.train()
        train_time, train_samples = 0.0, 0
        win_t, win_n, win_losses = 0.0, 0, []
        try:
            while self.step < self.total_steps:
                if self.pos >= self.steps_per_epoch:
                    self.epoch, self.pos = self.epoch + 1, 0
                loader = train_loader(self.data, cfg, self.epoch, self.pos, rt.rank, rt.world_size,
                                      pin_memory=rt.device.type == "cuda")
                t0 = time.perf_counter()
                for batch in loader:
                    if self._skip_batch(batch):  # every sample was a bad image (the dataset logged them)
                        self.pos += 1
                        continue
                    batch = self._to_device(batch)
                    losses = self._train_step(batch)
                    n = int(batch["input_ids"].shape[0]) * rt.world_size
                    self.step, self.pos = self.step + 1, self.pos + 1
                    dt = time.perf_counter() - t0
                    train_time, train_samples, win_t, win_n = train_time + dt, train_samples + n, win_t + dt, win_n + n
                    win_losses.append(losses)
                    if bar is not None:
                        bar.update(1)
                    last = self.step >= self.total_steps
                    if cfg.log_every and (self.step % cfg.log_every == 0 or last):
                        rec = self._window_record(win_losses)
                        rec.update(kind="train", step=self.step, epoch=self.epoch, lr=self.scheduler.get_last_lr()[0],
                                   samples_per_s=win_n / max(win_t, 1e-9))
                        self._log(rec)
                        if bar is not None:
                            bar.set_postfix(loss=f"{rec['loss/total']:.4f}", sps=f"{rec['samples_per_s']:.1f}")
                        win_t, win_n, win_losses = 0.0, 0, []
                    if (cfg.eval_every and self.step % cfg.eval_every == 0) or last:
                        self._after_validation(self.validate())
                    if (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0) or last:
                        self._save("last", True, {"epoch": self.epoch})
                    self.on_step_end(losses)
                    if last:
                        break
                    t0 = time.perf_counter()
        finally:
            if bar is not None:
                bar.close()
        sps = train_samples / train_time if train_time > 0 else 0.0
        self._log({"kind": "summary", "step": self.step, "samples_per_s": sps, "train_s": train_time,
                   "best_score": self.best_score})
        teardown_runtime(rt)
        best = self.out / "best"
        return TrainResult(self.out, self.out / "last", best if best.exists() else None, self.step,
                           self.best_score, self.val_metrics, sps, time.perf_counter() - t_start, self.history)


def _with_init_model(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with the init checkpoint's own model (name, config) and the same preprocessing."""
    ident = ckpt.read_model_json(ckpt.find_checkpoint(cfg.model.init_from))
    if ident["name"] != cfg.model.name:
        raise ConfigError(f"model.init_from {cfg.model.init_from} holds a {ident['name']!r} model, the config names "
                          f"{cfg.model.name!r}")
    if PreprocessConfig.from_dict(ident["preprocess"]) != cfg.preprocess:
        raise ConfigError(f"model.init_from {cfg.model.init_from}: its preprocessing {ident['preprocess']} differs "
                          f"from the config's {cfg.preprocess.to_dict()}")
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, config=dict(ident["config"])))


def freeze_except(model: nn.Module, prefixes: tuple[str, ...]) -> list[str]:
    """Leave only the parameters whose names start with one of ``prefixes`` trainable; returns their names.

    Raises:
        ConfigError: A prefix names no trainable parameter of ``model``.
    """
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    for prefix in prefixes:
        if not any(n.startswith(prefix) for n, _ in named):
            raise ConfigError(f"model.trainable: {prefix!r} names no trainable parameter (these are: "
                              f"{sorted({n.rsplit('.', 1)[0] for n, _ in named})[:12]} ...)")
    kept = []
    for n, p in named:
        keep = any(n.startswith(prefix) for prefix in prefixes)
        p.requires_grad_(keep)
        if keep:
            kept.append(n)
    # A frozen BatchNorm must not move its running statistics either (they are weights too): it runs in
    # eval mode whatever mode the model is put in. Dropout keeps the model's mode.
    frozen_norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
                    and not any(p.requires_grad for p in m.parameters())]

    def keep_norms_in_eval(module: nn.Module, args: Any) -> None:
        for norm in frozen_norms:
            norm.eval()

    if frozen_norms:
        model.register_forward_pre_hook(keep_norms_in_eval)
    return kept


def train(cfg: TrainConfig, loss_fn: LossFn | None = None, *, model: nn.Module | None = None,
          data: TrainData | None = None, resume: bool | str = "auto", progress: bool = True,
          trainer_cls: type[Trainer] = Trainer) -> TrainResult:
    """Train (or resume) a model as ``cfg`` says.

    Args:
        cfg: The validated run configuration.
        loss_fn: ``(outputs, batch) -> {"total": ..., ...}``; None = the paper's multi-task loss.
        model: A pre-built model to train instead of ``registry.create_model(cfg.model...)``.
        data: Datasets to use instead of building them from ``cfg.data``.
        resume: "auto" resumes from ``out_dir/last`` when present; True requires it; False refuses
            to overwrite an existing run.
        progress: Show a tqdm progress bar on rank 0.
        trainer_cls: A :class:`Trainer` subclass (distillation).

    Returns:
        TrainResult with checkpoint paths, best score, last validation metrics and throughput.

    Raises:
        ConfigError: invalid settings (e.g. an empty training split).
        CheckpointError: an unreadable or incompatible ``last/`` when resuming.
    """
    if resume not in (True, False, "auto"):
        raise ConfigError(f"resume must be True, False or 'auto', got {resume!r}")
    return trainer_cls(cfg, loss_fn, model, data, resume, progress).fit()
