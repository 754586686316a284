"""adfusion-edge: understand advertisement creatives (image + text) on the edge.

    from adfusion_edge import Analyzer
    report = Analyzer().run("ad.png")
    print(report)

Importing this package is cheap: no torch, no model loading. ``Analyzer`` and ``AdReport`` are
resolved lazily on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adfusion_edge import schema
from adfusion_edge.errors import AdFusionError

__version__ = "0.1.0"
__all__ = ["Analyzer", "AdReport", "AdFusionError", "schema", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from adfusion_edge.analyzer import Analyzer
    from adfusion_edge.report import AdReport


def __getattr__(name: str):
    if name == "Analyzer":
        from adfusion_edge.analyzer import Analyzer

        return Analyzer
    if name == "AdReport":
        from adfusion_edge.report import AdReport

        return AdReport
    raise AttributeError(f"module 'adfusion_edge' has no attribute {name!r}")
