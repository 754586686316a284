"""Font catalogue: which text font families exist on this machine, and which are held out.

Families come from matplotlib's bundled TTFs (DejaVu, STIX: always there when matplotlib is),
Debian's fonts-dejavu / fonts-liberation2 and fonts-urw-base35 (used when installed). A family is
a (regular, bold) pair; headlines use the bold face. Families in SHIFT_FAMILIES are never used by
train/val/test, only by the ``shift`` split (together with held-out layouts), so a model can be
tested on typography it has not seen.

Fonts are loaded once per process and size (``get_font``): FreeType face loading is far too slow
to repeat per ad.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont


@dataclass(frozen=True)
class FontFamily:
    name: str
    regular: str
    bold: str


# name -> (regular file, bold file); looked up in _search_dirs() in order.
_CANDIDATES: dict[str, tuple[str, str]] = {
    "dejavu_sans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    "dejavu_sans_oblique": ("DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf"),
    "dejavu_serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    "dejavu_sans_mono": ("DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"),
    "stix": ("STIXGeneral.ttf", "STIXGeneralBol.ttf"),
    "liberation_sans": ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    "liberation_sans_italic": ("LiberationSans-Italic.ttf", "LiberationSans-BoldItalic.ttf"),
    "liberation_serif": ("LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf"),
    "liberation_mono": ("LiberationMono-Regular.ttf", "LiberationMono-Bold.ttf"),
    "nimbus_sans": ("NimbusSans-Regular.otf", "NimbusSans-Bold.otf"),
    "nimbus_sans_narrow": ("NimbusSansNarrow-Regular.otf", "NimbusSansNarrow-Bold.otf"),
    "nimbus_roman": ("NimbusRoman-Regular.otf", "NimbusRoman-Bold.otf"),
    "nimbus_mono": ("NimbusMonoPS-Regular.otf", "NimbusMonoPS-Bold.otf"),
    "p052": ("P052-Roman.otf", "P052-Bold.otf"),
    "urw_gothic": ("URWGothic-Book.otf", "URWGothic-Demi.otf"),
    "urw_bookman": ("URWBookman-Light.otf", "URWBookman-Demi.otf"),
    "c059": ("C059-Roman.otf", "C059-Bold.otf"),
}

# Held out for the `shift` split. stix and dejavu_sans_mono ship with matplotlib, so the shift
# split has fonts even on a machine without the Debian font packages.
SHIFT_FAMILIES = ("stix", "dejavu_sans_mono", "urw_gothic", "urw_bookman", "c059")

# Every character AdSynth copy may contain must exist in a family, or it is skipped.
REQUIRED_CHARS = "€£$%"

UI_FAMILY = "dejavu_sans"  # labels in preview sheets


def _search_dirs() -> list[Path]:
    dirs = []
    spec = importlib.util.find_spec("matplotlib")  # locate, do not import (slow)
    if spec is not None and spec.origin:
        dirs.append(Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf")
    dirs += [
        Path("/usr/share/fonts/truetype/dejavu"),
        Path("/usr/share/fonts/truetype/liberation2"),
        Path("/usr/share/fonts/truetype/liberation"),
        Path("/usr/share/fonts/opentype/urw-base35"),
    ]
    return [d for d in dirs if d.is_dir()]


def _find(filename: str, dirs: list[Path]) -> str | None:
    for d in dirs:
        p = d / filename
        if p.is_file():
            return str(p)
    return None


def _covers(path: str) -> bool:
    font = ImageFont.truetype(path, 32)
    notdef = font.getmask("\uffff").size
    return all(font.getmask(c).size != notdef for c in REQUIRED_CHARS)


@lru_cache(maxsize=1)
def available_families() -> dict[str, FontFamily]:
    """Families whose regular and bold files are present and cover REQUIRED_CHARS."""
    dirs = _search_dirs()
    out: dict[str, FontFamily] = {}
    for name, (reg, bold) in _CANDIDATES.items():
        rp, bp = _find(reg, dirs), _find(bold, dirs)
        if rp and bp and _covers(rp) and _covers(bp):
            out[name] = FontFamily(name, rp, bp)
    return out


def default_fonts() -> tuple[str, ...]:
    """In-distribution families (train/val/test): available ones not held out."""
    return tuple(n for n in available_families() if n not in SHIFT_FAMILIES)


def default_shift_fonts() -> tuple[str, ...]:
    return tuple(n for n in available_families() if n in SHIFT_FAMILIES)


def family(name: str) -> FontFamily:
    return available_families()[name]


@lru_cache(maxsize=4096)
def get_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    # BASIC layout: no shaping needed for Latin ad copy, and it is what the glyph cache assumes.
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)
