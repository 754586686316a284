"""SynthConfig: every knob of the AdSynth generator, validated on construction.

The config (plus the split and index) fully determines an ad: ``generate_ad(cfg, split, i)`` is a
pure function of them (and of the installed font files, recorded in the corpus manifest).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from adfusion_edge.distill.data.adsynth import fonts as _fonts
from adfusion_edge.distill.data.adsynth import layouts as _layouts
from adfusion_edge.distill.data.adsynth import real_priors as _real
from adfusion_edge.errors import ConfigError

GENERATOR = "adsynth"
GENERATOR_VERSION = "1.0.0"

SPLITS = ("train", "val", "test", "shift")
IN_DIST_SPLITS = ("train", "val", "test")


def _err(name: str, msg: str) -> ConfigError:
    return ConfigError(f"SynthConfig.{name}: {msg}")


@dataclass(frozen=True)
class SynthConfig:
    """AdSynth generator configuration.

    Attributes:
        seed: Corpus seed; ads are deterministic per (seed, split, index).
        size: Side of the square RGB creative in pixels (64..2048).
        layouts: Layout templates used by train/val/test (see layouts.IN_DIST).
        shift_layouts: Held-out templates used only by the ``shift`` split.
        fonts: Font families used by train/val/test (see fonts.default_fonts()).
        shift_fonts: Held-out families used only by ``shift``; disjoint from ``fonts``.
        generic_copy_share: Share of "picture-only" ads: copy without theme words, so only the
            picture tells the theme.
        generic_picture_share: Share of "text-only" ads: abstract or theme-neutral picture, so
            only the text tells the theme.
        split_fractions: train/val/test fractions of ``n`` (sum to 1).
        shift_fraction: Size of the extra ``shift`` split as a fraction of ``n``.
        shard_size: Ads per Parquet shard.
        jpeg_quality: JPEG quality of the stored image (50..100).
        max_clutter: Most decorative clutter items per ad (scaled down by some layouts).
        p_cta: Share of ads with a call-to-action button (real_priors.P_CTA, measured on real ad
            text; real_priors.LEGACY_P_CTA = 0.88 was AdSynth's earlier prior).
        p_offer: Share of ads with a monetary offer (real_priors.P_OFFER); None = the earlier
            per-theme weights of scenario.MONETARY_PRIOR, whose ``none`` weight gave ~20% none.
        p_number: Chance of an extra body line with a number that is not a price (a year, model
            number, date, phone number, "800% more followers"; 0 = never). The default,
            real_priors.P_NUMBER_LINE, brings the share of ads with such numbers to the real P_NUMBER.
    """

    seed: int = 0
    size: int = 320
    layouts: tuple[str, ...] = _layouts.IN_DIST
    shift_layouts: tuple[str, ...] = _layouts.SHIFT
    fonts: tuple[str, ...] = field(default_factory=_fonts.default_fonts)
    shift_fonts: tuple[str, ...] = field(default_factory=_fonts.default_shift_fonts)
    generic_copy_share: float = 0.2
    generic_picture_share: float = 0.2
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    shift_fraction: float = 0.1
    shard_size: int = 1000
    jpeg_quality: int = 90
    max_clutter: int = 12
    p_cta: float = _real.P_CTA
    p_offer: float | None = _real.P_OFFER
    p_number: float = _real.P_NUMBER_LINE

    def __post_init__(self) -> None:
        for name in ("layouts", "shift_layouts", "fonts", "shift_fonts", "split_fractions"):
            v = getattr(self, name)
            if isinstance(v, str) or not isinstance(v, (list, tuple)):
                raise _err(name, f"expected a list, got {v!r}")
            object.__setattr__(self, name, tuple(v))
        for name in ("seed", "size", "shard_size", "jpeg_quality", "max_clutter"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise _err(name, f"expected an integer, got {v!r}")
        if self.seed < 0:
            raise _err("seed", f"must be >= 0, got {self.seed}")
        if not 64 <= self.size <= 2048:
            raise _err("size", f"must be in [64, 2048], got {self.size}")
        if self.shard_size < 1:
            raise _err("shard_size", f"must be >= 1, got {self.shard_size}")
        if not 50 <= self.jpeg_quality <= 100:
            raise _err("jpeg_quality", f"must be in [50, 100], got {self.jpeg_quality}")
        if not 0 <= self.max_clutter <= 64:
            raise _err("max_clutter", f"must be in [0, 64], got {self.max_clutter}")
        self._check_names("layouts", tuple(_layouts.LAYOUTS))
        self._check_names("shift_layouts", tuple(_layouts.LAYOUTS))
        available = tuple(_fonts.available_families())
        self._check_names("fonts", available)
        self._check_names("shift_fonts", available)
        if set(self.layouts) & set(self.shift_layouts):
            raise _err("shift_layouts", f"must be disjoint from layouts; shared: "
                                        f"{sorted(set(self.layouts) & set(self.shift_layouts))}")
        if set(self.fonts) & set(self.shift_fonts):
            raise _err("shift_fonts", f"must be disjoint from fonts; shared: "
                                      f"{sorted(set(self.fonts) & set(self.shift_fonts))}")
        for name in ("generic_copy_share", "generic_picture_share", "shift_fraction", "p_cta", "p_offer", "p_number"):
            v = getattr(self, name)
            if name == "p_offer" and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise _err(name, f"must be a number in [0, 1], got {v!r}")
        if self.generic_copy_share + self.generic_picture_share > 1.0:
            raise _err("generic_picture_share", "generic_copy_share + generic_picture_share must be <= 1")
        fr = self.split_fractions
        if len(fr) != 3 or any(isinstance(x, bool) or not isinstance(x, (int, float)) or x < 0 for x in fr):
            raise _err("split_fractions", f"expected three non-negative numbers (train, val, test), got {fr!r}")
        if not math.isclose(sum(fr), 1.0, abs_tol=1e-6):
            raise _err("split_fractions", f"must sum to 1, got {sum(fr):.6f}")

    def _check_names(self, name: str, allowed: tuple[str, ...]) -> None:
        values = getattr(self, name)
        if not values:
            raise _err(name, "must not be empty")
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise _err(name, f"unknown {unknown}; available: {', '.join(allowed)}")
        if len(set(values)) != len(values):
            raise _err(name, "has duplicates")

    def layouts_for(self, split: str) -> tuple[str, ...]:
        return self.shift_layouts if split == "shift" else self.layouts

    def fonts_for(self, split: str) -> tuple[str, ...]:
        return self.shift_fonts if split == "shift" else self.fonts

    def split_sizes(self, n: int) -> dict[str, int]:
        """Ads per split for a corpus of ``n`` in-distribution ads (shift is extra)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"n: must be a positive integer, got {n!r}")
        train = int(round(n * self.split_fractions[0]))
        val = int(round(n * self.split_fractions[1]))
        val = min(val, n - train)
        return {"train": train, "val": val, "test": n - train - val, "shift": int(round(n * self.shift_fraction))}

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SynthConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"SynthConfig: unknown fields {sorted(unknown)}")
        return cls(**d)
