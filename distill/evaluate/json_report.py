"""The JSON result of an evaluation command: printed, and written to a file when one is named."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def emit(result: Mapping[str, Any], path: str | os.PathLike | None = None) -> None:
    """Print ``result`` as indented JSON; also write it to ``path`` (parent folders made) when given."""
    text = json.dumps(result, indent=1)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n")
    print(text)
