"""Where the shared real-ad data lives: ``$ADFUSION_REALDATA``, else ``../shared/realdata`` beside the checkout.

The real-ad dev images (``images/dev``) are for evaluation only: code that reads them scores, never fits.
"""

from __future__ import annotations

import os
from pathlib import Path

# distill/data/realdata.py -> the checkout is two folders up; shared/ sits beside it.
_BESIDE_CHECKOUT = Path(__file__).resolve().parents[3] / "shared" / "realdata"


def realdata_dir() -> Path:
    """The real-data folder (it may not exist on a machine without the shared data)."""
    env = os.environ.get("ADFUSION_REALDATA")
    return Path(env) if env else _BESIDE_CHECKOUT


def dev_dir() -> Path | None:
    """The labelled real-ad dev images folder, or None where it is absent."""
    d = realdata_dir() / "images" / "dev"
    return d if (d / "labels.json").is_file() else None
