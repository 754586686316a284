"""TrainConfig: every knob of a training run, as frozen dataclasses validated on construction.

YAML/JSON files and ``--set key=value`` overrides are parsed only here, at the entry point; the
loop receives a validated TrainConfig and writes its resolved form to ``<out_dir>/config.json``.

Example YAML::

    name: teacher
    model: {name: adfusionnet, config: {dropout: 0.1}}
    preprocess: {image_size: 160, max_tokens: 64}
    data: {corpus: /tmp/adsynth2k}
    optim: {lr: 3.0e-4, warmup_steps: 200}
    loss: {alpha: 1.0, beta: 0.5, gamma: 0.1, label_smoothing: 0.1}
    epochs: 10
    batch_size: 32

Overrides use dotted keys: ``--set optim.lr=1e-3 --set model.config.dim=128``. Values are parsed
as JSON where possible ("1e-3", "[0.9, 0.99]", "null"), else kept as strings.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adfusion_edge.errors import ConfigError
from adfusion_edge.preprocess import PreprocessConfig

DEVICES = ("auto", "cpu", "cuda")
AMP_MODES = ("auto", "bf16", "fp16", "off")
SCHEDULES = ("cosine", "constant")


def _check(cond: bool, field_name: str, msg: str, value: Any) -> None:
    if not cond:
        raise ConfigError(f"{field_name}: {msg}, got {value!r}")


@dataclass(frozen=True)
class ModelSection:
    """Which registered model to build.

    Attributes:
        name: Registry name (``registry.list_models()``).
        config: Fields of the model's config dataclass (widths, dropout, ...).
        init_from: Checkpoint (or run) directory whose weights initialise a fresh run (e.g. the
            CLIP baseline's linear-probe phase after ITC pre-training); ignored when resuming. With
            an empty ``config`` the model is the checkpoint's own (its config, temperatures and
            gates included): a fine-tune of exactly what the chain built.
        trainable: Parameter-name prefixes that train (e.g. ``text_only.cta``); every other
            parameter stays as initialised. Empty = everything the model leaves trainable. A prefix
            that names no trainable parameter is an error (a typo would otherwise train nothing).
    """

    name: str = "adfusionnet"
    config: dict[str, Any] = field(default_factory=dict)
    init_from: str | None = None
    trainable: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check(isinstance(self.name, str) and bool(self.name), "model.name", "must be a non-empty string", self.name)
        _check(all(isinstance(t, str) and t for t in self.trainable), "model.trainable",
               "must be a list of non-empty parameter-name prefixes", self.trainable)


@dataclass(frozen=True)
class DataSection:
    """Where the ads come from and how they are read.

    Attributes:
        corpus: Shard corpus directory (with manifest.json); or None when ``manifests`` is used.
        manifests: split -> JSONL manifest path (alternative to ``corpus``).
        train_split / val_split: Split names used for training and periodic validation.
        tokenizer: tokenizer.json, or ``bert-base-uncased`` (the packaged WordPiece vocabulary,
            adfusion_edge.tokenizer.BERT_UNCASED); None means ``<corpus>/tokenizer.json``.
        text_source: Which text the model reads: "gt" (the record's text) or "ocr" (precomputed
            OCR text, see distill/data/dataset.py).
        ocr_noise: Probability of OCR-style corruption of the training text (augmentation).
        num_workers: DataLoader worker processes.
        max_train_samples / max_val_samples: Cap split sizes (quick runs); None = all.
        text_rows: Text-only manifests (``adfusion-edge data realtext`` ``train.jsonl``) mixed into
            the training split with a blank image and the image-driven heads masked
            (distill/data/text_rows.py).
        text_share: Share of text rows among the training samples of an epoch, in [0, 1); 0 =
            no text rows (needs ``text_rows`` when > 0).
    """

    corpus: str | None = None
    manifests: dict[str, str] = field(default_factory=dict)
    train_split: str = "train"
    val_split: str = "val"
    tokenizer: str | None = None
    text_source: str = "gt"
    ocr_noise: float = 0.0
    num_workers: int = 0
    max_train_samples: int | None = None
    max_val_samples: int | None = None
    text_rows: tuple[str, ...] = ()
    text_share: float = 0.0

    def __post_init__(self) -> None:
        _check(0.0 <= self.text_share < 1.0, "data.text_share", "must be in [0, 1)", self.text_share)
        _check(bool(self.text_rows) == (self.text_share > 0), "data.text_rows",
               "text_rows and text_share > 0 go together (rows to mix and their share)", self.text_rows)
        # Same choices as dataset.TEXT_SOURCES (not imported: configs must not pull in torch).
        _check(self.text_source in ("gt", "ocr"), "data.text_source", "must be 'gt' or 'ocr'", self.text_source)
        _check(0.0 <= self.ocr_noise <= 1.0, "data.ocr_noise", "must be a probability in [0, 1]", self.ocr_noise)
        _check(self.num_workers >= 0, "data.num_workers", "must be >= 0", self.num_workers)
        for name in ("max_train_samples", "max_val_samples"):
            v = getattr(self, name)
            _check(v is None or v > 0, f"data.{name}", "must be > 0 or null", v)
        _check(bool(self.train_split), "data.train_split", "must be non-empty", self.train_split)

    def tokenizer_path(self) -> str | None:
        """The tokenizer file: explicit, else the corpus's tokenizer.json, else None."""
        if self.tokenizer:
            from adfusion_edge.tokenizer import resolve_tokenizer

            return resolve_tokenizer(self.tokenizer)
        return str(Path(self.corpus) / "tokenizer.json") if self.corpus else None


@dataclass(frozen=True)
class OptimSection:
    """AdamW with linear warm-up then cosine (or constant) decay; gradient clipping (0 = off)."""

    lr: float = 3e-4
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    warmup_steps: int = 200
    schedule: str = "cosine"
    min_lr_ratio: float = 0.0
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        _check(self.lr > 0, "optim.lr", "must be > 0", self.lr)
        _check(self.weight_decay >= 0, "optim.weight_decay", "must be >= 0", self.weight_decay)
        _check(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "optim.betas",
               "must be two values in [0, 1)", self.betas)
        _check(self.eps > 0, "optim.eps", "must be > 0", self.eps)
        _check(self.warmup_steps >= 0, "optim.warmup_steps", "must be >= 0", self.warmup_steps)
        _check(self.schedule in SCHEDULES, "optim.schedule", f"must be one of {SCHEDULES}", self.schedule)
        _check(0 <= self.min_lr_ratio <= 1, "optim.min_lr_ratio", "must be in [0, 1]", self.min_lr_ratio)
        _check(self.grad_clip >= 0, "optim.grad_clip", "must be >= 0 (0 disables)", self.grad_clip)


@dataclass(frozen=True)
class LossSection:
    """L = alpha * L_task + beta * L_itc + gamma * L_mi (paper eq. before Sec. IV).

    ``extra`` passes further fields to ``distill.train.losses.LossWeights`` (e.g. per-head weights).
    """

    alpha: float = 1.0
    beta: float = 0.1
    gamma: float = 0.1
    label_smoothing: float = 0.1
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("alpha", "beta", "gamma"):
            _check(getattr(self, name) >= 0, f"loss.{name}", "must be >= 0", getattr(self, name))
        _check(0 <= self.label_smoothing < 1, "loss.label_smoothing", "must be in [0, 1)", self.label_smoothing)


@dataclass(frozen=True)
class TrainConfig:
    """A whole training run.

    Attributes:
        name: Run name (tables and reports label rows with it).
        model / preprocess / data / optim / loss: Sections above.
        epochs: Passes over the training split (ignored when ``max_steps`` > 0).
        max_steps: Optimizer steps to run; 0 = ``epochs`` decides.
        batch_size: Per-process batch size (paper: 32).
        eval_every / checkpoint_every / log_every: In optimizer steps; 0 = only at the end.
        seed: Seeds python, numpy, torch and the data order.
        device: "auto" (CUDA when available), "cpu" or "cuda".
        amp: "auto" (bf16 on CUDA if supported else fp16; off on CPU), "bf16", "fp16" or "off".
        deterministic: torch.use_deterministic_algorithms (slower on CUDA; exact resumes there).
        out_dir: Output directory (config.json, metrics.jsonl, best/, last/).
        tags: Free-form labels for reports (e.g. {"sweep": "beta", "value": 0.5}).
    """

    name: str = "run"
    model: ModelSection = field(default_factory=ModelSection)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    data: DataSection = field(default_factory=DataSection)
    optim: OptimSection = field(default_factory=OptimSection)
    loss: LossSection = field(default_factory=LossSection)
    epochs: int = 10
    max_steps: int = 0
    batch_size: int = 32
    eval_every: int = 500
    checkpoint_every: int = 500
    log_every: int = 20
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"
    deterministic: bool = False
    out_dir: str = "runs/train"
    tags: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check(self.epochs >= 1 or self.max_steps > 0, "epochs", "must be >= 1 (or set max_steps)", self.epochs)
        _check(self.max_steps >= 0, "max_steps", "must be >= 0", self.max_steps)
        _check(self.batch_size >= 1, "batch_size", "must be >= 1", self.batch_size)
        for name in ("eval_every", "checkpoint_every", "log_every"):
            _check(getattr(self, name) >= 0, name, "must be >= 0", getattr(self, name))
        _check(self.device in DEVICES, "device", f"must be one of {DEVICES}", self.device)
        _check(self.amp in AMP_MODES, "amp", f"must be one of {AMP_MODES}", self.amp)
        _check(bool(self.out_dir), "out_dir", "must be non-empty", self.out_dir)

    # ---- conversions -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (tuples become lists); ``from_dict(to_dict())`` gives an equal config."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        """Build and validate from nested plain data; unknown keys raise ConfigError naming them."""
        return _build(cls, d, "")

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with dotted-key changes: ``cfg.replace(**{"optim.lr": 1e-3})``."""
        return apply_overrides(self, [f"{k}={json.dumps(v)}" for k, v in changes.items()])

    def save(self, path: str | os.PathLike) -> None:
        """Write JSON (or YAML for .yaml/.yml) atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in (".yaml", ".yml"):
            import yaml

            text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        else:
            text = json.dumps(self.to_dict(), indent=2)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, path)


def read_config_data(path: str | os.PathLike | None = None, overrides: Sequence[str] = (),
                     **top_level: Any) -> dict[str, Any]:
    """The raw config mapping: a YAML/JSON file (or {}), then dotted ``key=value`` overrides, then
    ``top_level`` CLI flags. Shared by ``load_config`` and the distillation config (which pops its
    own ``distill:`` section before building the TrainConfig).

    Raises:
        ConfigError: missing or unparsable file, or a top level that is not a mapping.
    """
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        text = p.read_text()
        try:
            if p.suffix in (".yaml", ".yml"):
                import yaml

                data = yaml.safe_load(text) or {}
            else:
                data = json.loads(text)
        except Exception as e:  # yaml.YAMLError / JSONDecodeError: say which file
            raise ConfigError(f"{p}: cannot parse config: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: top level must be a mapping")
    for item in overrides:
        _set_dotted(data, *_split_override(item))
    for key, value in top_level.items():
        if value is not None:
            data[key] = value
    return data


def load_config(path: str | os.PathLike | None = None, overrides: Sequence[str] = (),
                **top_level: Any) -> TrainConfig:
    """Read a YAML/JSON config file (or start from defaults), apply ``key=value`` overrides.

    Args:
        path: .yaml/.yml/.json file; None starts from the defaults.
        overrides: Dotted ``key=value`` strings, applied in order.
        **top_level: Extra top-level overrides from CLI flags (e.g. out_dir), applied last.

    Raises:
        ConfigError: unreadable file, unknown key or invalid value (the message names the field).
    """
    data = read_config_data(path, overrides, **top_level)
    return TrainConfig.from_dict(data)


def apply_overrides(cfg: TrainConfig, overrides: Sequence[str]) -> TrainConfig:
    """A new config with dotted ``key=value`` overrides applied (validated again)."""
    data = cfg.to_dict()
    for item in overrides:
        _set_dotted(data, *_split_override(item))
    return TrainConfig.from_dict(data)


def _split_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like key=value")
    key, raw = item.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # plain strings need no quotes on the command line
    return key.strip(), value


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"override {key!r}: {part!r} is not a section")
        node = child
    node[parts[-1]] = value


# ---- generic dict -> dataclass with type coercion --------------------------------------------

def _build(cls: type, d: Any, prefix: str) -> Any:
    if isinstance(d, cls):
        return d
    if not isinstance(d, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {d!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(f"unknown config key(s) {', '.join(prefix + u for u in unknown)}; "
                          f"{prefix.rstrip('.') or 'top level'} accepts: {', '.join(sorted(names))}")
    kwargs = {k: _coerce(hints[k], v, prefix + k) for k, v in d.items()}
    try:
        return cls(**kwargs)
    except ConfigError as e:
        if cls is PreprocessConfig:  # its messages do not carry our section prefix
            raise ConfigError(f"{prefix.rstrip('.')}: {e}") from None
        raise


def _coerce(tp: Any, v: Any, name: str) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if v is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], v, name)
    if dataclasses.is_dataclass(tp):
        return _build(tp, v, name + ".")
    if tp is Any:
        return v
    if tp is bool:
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.lower() in ("true", "false", "1", "0", "yes", "no"):
            return v.lower() in ("true", "1", "yes")
        raise ConfigError(f"{name}: expected true/false, got {v!r}")
    if tp in (int, float):
        try:
            if isinstance(v, bool):
                raise ValueError
            out = tp(v)
            if tp is int and float(v) != out:
                raise ValueError
            return out
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: expected {tp.__name__}, got {v!r}") from None
    if tp is str:
        if not isinstance(v, str):
            raise ConfigError(f"{name}: expected a string, got {v!r}")
        return v
    if origin is tuple:
        if isinstance(v, str) or not isinstance(v, Sequence):
            raise ConfigError(f"{name}: expected a list, got {v!r}")
        elem = args[0] if args else Any
        if (len(args) == 2 and args[1] is Ellipsis) or len(args) <= 1:
            return tuple(_coerce(elem, x, f"{name}[{i}]") for i, x in enumerate(v))
        if len(v) != len(args):
            raise ConfigError(f"{name}: expected {len(args)} values, got {v!r}")
        return tuple(_coerce(a, x, f"{name}[{i}]") for i, (a, x) in enumerate(zip(args, v, strict=True)))
    if origin is dict or tp is dict:
        if not isinstance(v, Mapping):
            raise ConfigError(f"{name}: expected a mapping, got {v!r}")
        return dict(v)
    return v
