"""Model registry: ``create_model(name, **config)`` for the teacher, baselines, ablations, student.

Model modules register their classes with ``@register_model``; the registry imports the modules
listed in MODEL_MODULES on first use, so evaluation can loop over ``list_models()``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from adfusion_edge.errors import ConfigError
from adfusion_edge.preprocess import PreprocessConfig

# Each of these modules calls register_model at import time.
MODEL_MODULES: tuple[str, ...] = (
    "adfusion_edge.distill.models.adfusionnet",
    "adfusion_edge.distill.models.lite_student",
    "adfusion_edge.distill.models.baselines",
    "adfusion_edge.distill.models.student",
)

_REGISTRY: dict[str, Callable[..., Any]] = {}
_loaded = False


def register_model(name: str) -> Callable:
    """Class/function decorator: ``factory(preprocess: PreprocessConfig, **config) -> AdModel``."""

    def wrap(factory: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name] is not factory:
            raise ConfigError(f"model name {name!r} registered twice")
        _REGISTRY[name] = factory
        return factory

    return wrap


def _load_all() -> None:
    global _loaded
    if not _loaded:
        for module in MODEL_MODULES:
            importlib.import_module(module)
        _loaded = True


def list_models() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def create_model(name: str, preprocess: PreprocessConfig | dict | None = None, **config: Any):
    """Build a registered model.

    Args:
        name: Registered model name (see ``list_models()``).
        preprocess: PreprocessConfig (or its dict); defaults to PreprocessConfig().
        **config: Fields of the model's config dataclass.

    Raises:
        ConfigError: unknown name (lists the registered ones) or bad config field.
    """
    _load_all()
    if name not in _REGISTRY:
        raise ConfigError(f"unknown model {name!r}; registered: {', '.join(sorted(_REGISTRY))}")
    if isinstance(preprocess, dict):
        preprocess = PreprocessConfig.from_dict(preprocess)
    try:
        return _REGISTRY[name](preprocess or PreprocessConfig(), **config)
    except TypeError as e:
        raise ConfigError(f"model {name!r}: bad config: {e}") from None
